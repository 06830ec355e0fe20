import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DeliveryMessage, EventRecord, ReplayJobMessage } from '../../lambdas/core/records';
import { EVENTS_BY_EVENT_TIME_INDEX, EVENTS_BY_TIME_INDEX } from '../../lambdas/core/table-schema';
import { encodeCursor } from '../../lambdas/shared/cursor';
import { EventLog } from '../../lambdas/shared/event-log';
import { eventTimeKey, EventsStore } from '../../lambdas/shared/events-store';
import { runReplay } from '../../lambdas/shared/replay';
import { startDynalite, type Dynalite } from '../support/dynalite-tables';
import { subscription } from '../support/handler-harness';

/**
 * The events table after the narrow time index: what an event costs to write, and that every
 * reader still finds the events stored before it existed (items with `timeKey`, listed by the
 * first, full by-time index) together with the new ones.
 */

let dynalite: Dynalite;
let table: string;
let store: EventsStore;
let log: EventLog;
const sqsMock = mockClient(SQSClient);
let fleets = 0;
const fleet = () => `tix-${(fleets += 1)}`;

beforeAll(async () => {
  dynalite = await startDynalite();
  table = (await dynalite.tables('timeindex')).get('Events') as string;
  store = new EventsStore(dynalite.doc, table);
  log = new EventLog(dynalite.doc, table);
});

afterAll(async () => {
  await dynalite?.close();
});

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  sqsMock.on(SendMessageCommand).resolves({});
});

const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString();

function event(fleetId: string, id: string, timestamp: string, type = 'thread.completed'): EventRecord {
  return { fleetId, id, type, timestamp, data: { id }, timeKey: eventTimeKey(timestamp, id), source: 'api', expiresAt: 2_000_000_000 };
}

/** An event as the previous version stored it: `timeKey` (so the full index lists it), `fannedOutAt` on the item. */
async function putLegacy(record: EventRecord, fannedOutAt?: string): Promise<void> {
  const { data, ...rest } = record;
  await dynalite.doc.send(
    new PutCommand({ TableName: table, Item: { ...rest, dataJson: JSON.stringify(data), ...(fannedOutAt === undefined ? {} : { fannedOutAt }) } }),
  );
}

async function rawItem(fleetId: string, id: string): Promise<Record<string, unknown> | undefined> {
  return (await dynalite.doc.send(new GetCommand({ TableName: table, Key: { fleetId, id }, ConsistentRead: true }))).Item;
}

async function indexCount(fleetId: string, indexName: string): Promise<number> {
  const result = await dynalite.doc.send(
    new QueryCommand({ TableName: table, IndexName: indexName, KeyConditionExpression: 'fleetId = :f', ExpressionAttributeValues: { ':f': fleetId } }),
  );
  return result.Items?.length ?? 0;
}

/** Half the events stored before the upgrade, half after, interleaved in time. */
async function mixedFleet(count: number, type: (index: number) => string = () => 'thread.completed'): Promise<{ fleetId: string; ids: string[] }> {
  const fleetId = fleet();
  const ids: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const record = event(fleetId, `evt_${String(index).padStart(3, '0')}`, at(index), type(index));
    ids.push(record.id);
    if (index % 2 === 0) await putLegacy(record, at(index + 1));
    else await store.putIfAbsent(record);
  }
  // The premise: the older events only in the full index, the new ones only in the narrow one.
  expect(await indexCount(fleetId, EVENTS_BY_TIME_INDEX)).toBe(Math.ceil(count / 2));
  expect(await indexCount(fleetId, EVENTS_BY_EVENT_TIME_INDEX)).toBe(Math.floor(count / 2));
  return { fleetId, ids };
}

describe('what an event write touches', () => {
  it('puts the event under the narrow index only, and marks its fan-out without rewriting it', async () => {
    const fleetId = fleet();
    const record = event(fleetId, 'evt_w', at(0));
    await store.putIfAbsent(record);
    await store.markFannedOut(fleetId, 'evt_w', at(5), record.expiresAt);
    const item = await rawItem(fleetId, 'evt_w');
    expect(item).not.toHaveProperty('timeKey');
    expect(item).not.toHaveProperty('fannedOutAt');
    expect(item?.eventTime).toBe(record.timeKey);
    expect(await rawItem(fleetId, 'fan#evt_w')).toEqual({ fleetId, id: 'fan#evt_w', fannedOutAt: at(5), expiresAt: record.expiresAt });
    expect(await indexCount(fleetId, EVENTS_BY_TIME_INDEX)).toBe(0);
    expect(await indexCount(fleetId, EVENTS_BY_EVENT_TIME_INDEX)).toBe(1);
    expect(await store.get(fleetId, 'evt_w')).toEqual({ ...record, fannedOutAt: at(5) });
  });
});

describe('events stored before and after the narrow index', () => {
  it('listByTime pages through both, oldest first within each, every event exactly once', async () => {
    const { fleetId, ids } = await mixedFleet(11);
    const seen: EventRecord[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 20; page += 1) {
      const result = await store.listByTime(fleetId, { since: at(0), until: at(10) }, { limit: 3, ...(cursor === undefined ? {} : { cursor }) });
      seen.push(...result.items);
      cursor = result.nextCursor;
      if (cursor === undefined) break;
    }
    expect(cursor).toBeUndefined();
    expect(seen.map((item) => item.id).sort()).toEqual(ids);
    expect(new Set(seen.map((item) => item.id)).size).toBe(ids.length);
    expect(seen.every((item) => (item.data as { id: string }).id === item.id)).toBe(true);
    // The legacy events keep their fan-out time; the new ones have not been fanned out.
    expect(seen.filter((item) => item.fannedOutAt !== undefined).map((item) => item.id).sort()).toEqual(ids.filter((_, index) => index % 2 === 0));
  });

  it('the event list reads both newest first, with the type filter, and accepts a cursor issued before the upgrade', async () => {
    const { fleetId, ids } = await mixedFleet(9, (index) => (index % 3 === 0 ? 'thread.failed' : 'thread.completed'));
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 20; page += 1) {
      const result = await log.list(fleetId, { type: 'thread.completed', limit: 2, ...(cursor === undefined ? {} : { cursor }) });
      for (const item of result.items) {
        expect(item).toMatchObject({ fleetId, type: 'thread.completed', source: 'api', timestamp: at(Number(item.id.slice(4))) });
        expect(item).not.toHaveProperty('data');
      }
      seen.push(...result.items.map((item) => item.id));
      cursor = result.nextCursor;
      if (cursor === undefined) break;
    }
    const completed = ids.filter((_, index) => index % 3 !== 0);
    expect([...seen].sort()).toEqual(completed);
    // Newest first within each index: the new events, then the older ones.
    const fresh = completed.filter((id) => Number(id.slice(4)) % 2 === 1);
    expect(seen.slice(0, fresh.length)).toEqual([...fresh].reverse());

    const before = encodeCursor({ fleetId, id: 'evt_004', timeKey: eventTimeKey(at(4), 'evt_004') }) as string;
    const resumed = await log.list(fleetId, { limit: 10, cursor: before });
    expect(resumed.items.map((item) => item.id)).toEqual(['evt_002', 'evt_000']);
  });

  it('a replay over the range finds every event, old and new, across continuation jobs', async () => {
    const { fleetId, ids } = await mixedFleet(25);
    const sub = subscription({ fleetId });
    const replayed: string[] = [];
    const sqs = new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    let job: ReplayJobMessage | undefined = { v: 1, kind: 'replay', fleetId, subscriptionId: sub.id, since: at(0), until: at(24) };
    for (let round = 0; round < 30 && job !== undefined; round += 1) {
      sqsMock.resetHistory();
      const progress = await runReplay(
        { events: store, subscriptions: { get: async () => sub }, sqs, deliveriesQueueUrl: 'deliveries', eventsQueueUrl: 'events' },
        job,
        { maxPages: 2, pageSize: 4 },
      );
      const continuation = sqsMock.commandCalls(SendMessageCommand)[0]?.args[0].input.MessageBody;
      job = progress.continued ? (JSON.parse(continuation as string) as ReplayJobMessage) : undefined;
      replayed.push(
        ...sqsMock
          .commandCalls(SendMessageBatchCommand)
          .flatMap((call) => call.args[0].input.Entries ?? [])
          .map((entry) => (JSON.parse(entry.MessageBody as string) as DeliveryMessage).event.id),
      );
    }
    expect(job).toBeUndefined();
    expect([...replayed].sort()).toEqual(ids);
    expect(new Set(replayed).size).toBe(ids.length);
  });
});
