import { healthView, type HealthView } from '../core/endpoint-health';
import type { AttemptRecord, DeliveryRecord, SubscriptionRecord } from '../core/records';
import type { DeliverySummary } from '../shared/deliveries-store';

/**
 * Response shapes. Built field by field from an allow-list, so internal attributes (sealed secrets,
 * failingSince, claim bookkeeping, index keys) can never reach a caller by accident.
 */
export interface WebhookView {
  id: string;
  fleetId: string;
  url: string;
  events: string[];
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
  name?: string;
  description?: string;
  headers?: Record<string, string>;
  timeoutSeconds?: number;
  maxAttempts?: number;
  tlsVerify: boolean;
  disabledReason?: string;
  lastTriggeredAt?: string;
  rateLimitPerSecond?: number;
  maxConcurrency?: number;
  health: HealthView;
}

export function webhookView(record: SubscriptionRecord): WebhookView {
  return {
    id: record.id,
    fleetId: record.fleetId,
    url: record.url,
    events: [...(record.events ?? [])],
    enabled: record.enabled,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    ...optional('name', record.name),
    ...optional('description', record.description),
    ...optional('headers', record.headers === undefined ? undefined : { ...record.headers }),
    ...optional('timeoutSeconds', record.timeoutSeconds),
    ...optional('maxAttempts', record.maxAttempts),
    tlsVerify: record.tlsVerify !== false,
    ...optional('disabledReason', record.disabledReason),
    ...optional('lastTriggeredAt', record.lastTriggeredAt),
    ...optional('rateLimitPerSecond', record.rateLimitPerSecond),
    ...optional('maxConcurrency', record.maxConcurrency),
    health: healthView(record),
  };
}

export interface DeliverySummaryView {
  id: string;
  fleetId: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  webhookUrl: string;
  status: DeliveryRecord['status'];
  attemptCount: number;
  lastAttemptAt?: string;
  httpStatusCode?: number;
  latencyMs?: number;
  responseContentLength?: number;
  errorMessage?: string;
  errorKind?: DeliveryRecord['errorKind'];
  nextAttemptAt?: string;
  createdAt: string;
  updatedAt: string;
}

export function deliverySummaryView(record: DeliverySummary): DeliverySummaryView {
  return {
    id: record.id,
    fleetId: record.fleetId,
    webhookId: record.subscriptionId,
    eventId: record.eventId,
    eventType: record.eventType,
    webhookUrl: record.webhookUrl,
    status: record.status,
    attemptCount: record.attemptCount ?? 0,
    ...optional('lastAttemptAt', record.lastAttemptAt),
    ...optional('httpStatusCode', record.httpStatusCode),
    ...optional('latencyMs', record.latencyMs),
    ...optional('responseContentLength', record.responseContentLength),
    ...optional('errorMessage', record.errorMessage),
    ...optional('errorKind', record.errorKind),
    ...optional('nextAttemptAt', record.nextAttemptAt),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

export function deliveryView(record: DeliveryRecord) {
  return {
    ...deliverySummaryView(record),
    ...optional('round', record.rounds),
    ...optional('responseHeaders', latestResponseHeaders(record)),
    attempts: (record.attempts ?? []).map(attemptView),
  };
}

/**
 * The latest attempt's response headers. They are stored once, in the attempt; a record written by
 * an earlier version may still carry its own copy. A history that is full (its latest attempts only
 * counted) has none to show.
 */
function latestResponseHeaders(record: DeliveryRecord): Record<string, string> | undefined {
  if (record.responseHeaders !== undefined) return record.responseHeaders;
  const latest = record.attempts?.at(-1);
  return latest !== undefined && latest.at === record.lastAttemptAt ? latest.responseHeaders : undefined;
}

function attemptView(attempt: AttemptRecord) {
  return {
    round: attempt.round ?? 1,
    attempt: attempt.attempt,
    at: attempt.at,
    ...optional('statusCode', attempt.statusCode),
    latencyMs: attempt.latencyMs,
    ...optional('responseContentLength', attempt.responseContentLength),
    ...optional('responseHeaders', attempt.responseHeaders),
    ...optional('responseBodyExcerpt', attempt.responseBodyExcerpt),
    ...optional('errorKind', attempt.errorKind),
    ...optional('errorMessage', attempt.errorMessage),
    ...optional('retryInSeconds', attempt.retryInSeconds),
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined || value === null ? {} : ({ [key]: value } as Record<K, V>);
}
