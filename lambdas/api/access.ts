import { conflict } from '../core/errors';
import { isId } from '../core/ids';
import type { SubscriptionRecord } from '../core/records';
import { resourceNotFound } from './route';

/**
 * A subscription read keyed by (fleetId, id): an id of another fleet is simply not found. Ids this
 * API never issues are 404 without a table read. Consistent, so a create is visible at once.
 */
export async function loadSubscription(
  subscriptions: { get(fleetId: string, id: string, consistent?: boolean): Promise<SubscriptionRecord | undefined> },
  fleetId: string,
  id: string,
): Promise<SubscriptionRecord> {
  if (!isId('wh', id)) throw resourceNotFound('webhook');
  const record = await subscriptions.get(fleetId, id, true);
  if (record === undefined) throw resourceNotFound('webhook');
  return record;
}

/** Work sent to a disabled subscription would only end as `disabled`; say so instead. */
export function requireEnabled(record: SubscriptionRecord, action: string): void {
  if (record.enabled) return;
  throw conflict(`The webhook is disabled; enable it before you ${action}.`, [
    { field: 'enabled', reason: record.disabledReason ? `is false (${record.disabledReason})` : 'is false' },
  ]);
}
