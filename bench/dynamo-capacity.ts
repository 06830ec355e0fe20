import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { IndexSchema, TableSchema } from '../lambdas/core/table-schema';

/**
 * DynamoDB request units as on-demand billing counts them, from the items themselves: item size by
 * the documented rules (attribute names + values; 3 bytes per list/map plus 1 per element;
 * numbers ~1 byte per 2 significant digits + 1), 1 KB per write unit, 4 KB per read unit (half for
 * eventually consistent reads), and every global secondary index the write touches billed as well.
 * dynalite reports no index writes, hence this.
 */

export type Item = Record<string, AttributeValue>;

export function itemSize(item: Item): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += Buffer.byteLength(name) + valueSize(value);
  return size;
}

function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS !== undefined) return value.SS.reduce((sum, entry) => sum + Buffer.byteLength(entry), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, entry) => sum + numberSize(entry), 0);
  if (value.BS !== undefined) return value.BS.reduce((sum, entry) => sum + entry.length, 0);
  if (value.L !== undefined) return 3 + value.L.reduce((sum, entry) => sum + 1 + valueSize(entry), 0);
  if (value.M !== undefined) {
    return 3 + Object.entries(value.M).reduce((sum, [name, entry]) => sum + 1 + Buffer.byteLength(name) + valueSize(entry), 0);
  }
  throw new Error(`unknown DynamoDB attribute value ${JSON.stringify(value).slice(0, 80)}`);
}

function numberSize(text: string): number {
  const digits = text.replace(/^[-+]/, '').replace(/[eE].*$/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}

export function writeUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 1024));
}

export function readUnits(bytes: number, consistent: boolean): number {
  return Math.max(1, Math.ceil(bytes / 4096)) * (consistent ? 1 : 0.5);
}

export interface WriteCost {
  table: number;
  /** Write units per global secondary index the write touched. */
  indexes: Record<string, number>;
}

/** Units of a write that turned `before` into `after` (undefined = no item). */
export function writeCost(schema: TableSchema, before: Item | undefined, after: Item | undefined): WriteCost {
  const table = writeUnits(Math.max(before === undefined ? 0 : itemSize(before), after === undefined ? 0 : itemSize(after)));
  const indexes: Record<string, number> = {};
  for (const index of schema.globalSecondaryIndexes) {
    const units = indexWriteUnits(schema, index, before, after);
    if (units > 0) indexes[index.indexName] = units;
  }
  return { table, indexes };
}

/** A conditional write whose condition failed: the table is charged, no index is touched. */
export function failedWriteCost(before: Item | undefined, attempted: Item | undefined): WriteCost {
  return { table: writeUnits(Math.max(before === undefined ? 0 : itemSize(before), attempted === undefined ? 0 : itemSize(attempted))), indexes: {} };
}

function indexWriteUnits(schema: TableSchema, index: IndexSchema, before: Item | undefined, after: Item | undefined): number {
  const old = project(schema, index, before);
  const next = project(schema, index, after);
  if (old === undefined && next === undefined) return 0;
  if (old === undefined) return writeUnits(itemSize(next as Item));
  if (next === undefined) return writeUnits(itemSize(old));
  const keyChanged = [index.partitionKey, index.sortKey].some(
    (key) => key !== undefined && canonical(old[key.name]) !== canonical(next[key.name]),
  );
  // A new index key is a delete of the old index item and a put of the new one.
  if (keyChanged) return writeUnits(itemSize(old)) + writeUnits(itemSize(next));
  if (canonical(old) === canonical(next)) return 0;
  return writeUnits(Math.max(itemSize(old), itemSize(next)));
}

/** The index's copy of an item, or undefined when the item lacks the index's keys (sparse index). */
function project(schema: TableSchema, index: IndexSchema, item: Item | undefined): Item | undefined {
  if (item === undefined) return undefined;
  const keys = [schema.partitionKey, schema.sortKey, index.partitionKey, index.sortKey].filter((key) => key !== undefined);
  if (item[index.partitionKey.name] === undefined || (index.sortKey !== undefined && item[index.sortKey.name] === undefined)) {
    return undefined;
  }
  if (index.nonKeyAttributes === undefined) return item;
  const kept = new Set([...keys.map((key) => key.name), ...index.nonKeyAttributes]);
  return Object.fromEntries(Object.entries(item).filter(([name]) => kept.has(name)));
}

/** Order-independent text of a value (sets and map keys sorted), to compare before and after. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, entry]) => entry !== undefined);
    const sorted = entries.map(([name, entry]) => {
      const text = ['SS', 'NS', 'BS'].includes(name) && Array.isArray(entry) ? `[${entry.map(canonical).sort().join(',')}]` : canonical(entry);
      return `${JSON.stringify(name)}:${text}`;
    });
    return `{${sorted.sort().join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}
