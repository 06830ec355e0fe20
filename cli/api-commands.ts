import { readFileSync } from 'node:fs';
import type { components } from '../client';
import type { HooklineClient } from '../client';
import { UsageError } from './args';
import { commandName, type ParsedCommand, type Values } from './commands';
import { cell, details, json, table } from './output';

type Schemas = components['schemas'];
type Webhook = Schemas['Webhook'];
type DeliverySummary = Schemas['DeliverySummary'];

export interface ApiIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Resolves when the user interrupts a long-running command (Ctrl-C). */
  interrupted?: Promise<void>;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
}

/** An answer other than 2xx: printed as one line plus the fields the API names. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
    readonly details: readonly { field: string; reason: string }[],
  ) {
    super(message);
  }
}

type Init = { params?: { path?: Record<string, string>; query?: Record<string, unknown> }; body?: unknown; headers?: Record<string, string> };
type Answer = { data?: unknown; error?: unknown; response: Response };
type Loose = Record<'GET' | 'POST' | 'PATCH' | 'DELETE', (path: string, init?: Init) => Promise<Answer>>;

/** The data of a 2xx answer, or an ApiError carrying the API's `{error: {message, details}}`. */
async function ok<T>(call: Promise<Answer>): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  const body = (error ?? {}) as { error?: { message?: string; details?: { field: string; reason: string }[] } };
  throw new ApiError(response.status, body.error?.message ?? `HTTP ${response.status}`, body.error?.details ?? []);
}

function int(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`);
  return number;
}

const RELATIVE = /^(\d+)(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** An ISO time, or a duration back from now: 30m, 2h, 7d. */
export function parseTime(value: string | undefined, name: string, now: Date): string | undefined {
  if (value === undefined) return undefined;
  const relative = RELATIVE.exec(value);
  if (relative !== null) return new Date(now.getTime() - Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS]).toISOString();
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new UsageError(`--${name} must be an ISO time (2026-01-01T12:00:00Z) or a duration ago (30m, 2h, 7d)`);
  return date.toISOString();
}

function eventTypes(values: readonly string[] | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  return values.flatMap((value) => value.split(',')).map((type) => type.trim()).filter((type) => type !== '');
}

function headersOf(values: readonly string[] | undefined): Record<string, string> | undefined {
  if (values === undefined) return undefined;
  const headers: Record<string, string> = {};
  for (const value of values) {
    const at = value.indexOf('=');
    if (at <= 0) throw new UsageError(`--header ${JSON.stringify(value)} must be name=value`);
    headers[value.slice(0, at).trim()] = value.slice(at + 1);
  }
  return headers;
}

function setFields(values: readonly string[] | undefined): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const value of values ?? []) {
    const at = value.indexOf('=');
    if (at <= 0) throw new UsageError(`--set ${JSON.stringify(value)} must be field=<JSON value or text>`);
    const raw = value.slice(at + 1);
    let parsed: unknown = raw;
    try {
      parsed = JSON.parse(raw);
    } catch {
      // plain text
    }
    fields[value.slice(0, at)] = parsed;
  }
  return fields;
}

function enabledFlag(values: Values): boolean | undefined {
  if (values.enable === true && values.disable === true) throw new UsageError('Give --enable or --disable, not both');
  return values.enable === true ? true : values.disable === true ? false : undefined;
}

function webhookFields(values: Values): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    url: values.url,
    events: eventTypes(values.events),
    name: values.name,
    description: values.description,
    headers: headersOf(values.header),
    timeoutSeconds: int(values.timeout, 'timeout', 1, 300),
    maxAttempts: int(values['max-attempts'], 'max-attempts', 1, 1000),
  };
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

function publishData(values: Values): unknown {
  if (values.data !== undefined && values['data-file'] !== undefined) throw new UsageError('Give --data or --data-file, not both');
  const text = values['data-file'] !== undefined ? readFileSync(values['data-file'] === '-' ? 0 : values['data-file'], 'utf8') : values.data;
  if (text === undefined) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`--data${values['data-file'] !== undefined ? '-file' : ''} must be JSON, e.g. '{"threadId": "t_1"}'`);
  }
}

function webhookRows(webhooks: readonly Webhook[]): string {
  return table(
    ['ID', 'URL', 'EVENTS', 'ENABLED', 'NAME'],
    webhooks.map((webhook) => [webhook.id, webhook.url, webhook.events.length === 0 ? '(all)' : webhook.events.join(','), String(webhook.enabled), webhook.name ?? '']),
  );
}

function deliveryRows(deliveries: readonly DeliverySummary[]): string {
  return table(
    ['ID', 'EVENT TYPE', 'STATUS', 'ATTEMPTS', 'HTTP', 'CREATED'],
    deliveries.map((delivery) => [delivery.id, delivery.eventType, delivery.status, String(delivery.attemptCount), cell(delivery.httpStatusCode), delivery.createdAt]),
  );
}

interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

/** Runs one API command; resolves with the exit code. */
export async function runApiCommand(parsed: ParsedCommand, client: HooklineClient, io: ApiIo): Promise<number> {
  const { spec, values } = parsed;
  const loose = client as unknown as Loose;
  const fleetId = values.fleet as string;
  const id = parsed.argument as string;
  const now = io.now?.() ?? new Date();
  const asJson = values.json === true;
  const print = (value: unknown, human: () => string): void => io.stdout(asJson ? json(value) : human());

  /** One page, or every page with --all (data concatenated, nextCursor null). */
  async function list<T>(path: string, query: Record<string, unknown>): Promise<Page<T>> {
    const base = { ...query, limit: int(values.limit, 'limit', 1, 100) };
    let cursor = values.cursor;
    const data: T[] = [];
    for (;;) {
      const page = await ok<Page<T>>(loose.GET(path, { params: { path: { fleetId }, query: clean({ ...base, cursor }) } }));
      data.push(...page.data);
      if (values.all !== true || page.nextCursor === null) return { data, nextCursor: page.nextCursor };
      cursor = page.nextCursor;
    }
  }
  const more = (page: Page<unknown>): string => (page.nextCursor === null ? '' : `More: --cursor ${page.nextCursor} (or --all)\n`);

  switch (commandName(spec)) {
    case 'webhooks list': {
      const page = await list<Webhook>('/fleets/{fleetId}/webhooks', {});
      print(page, () => (page.data.length === 0 ? `No webhooks in fleet ${fleetId}.\n` : webhookRows(page.data) + more(page)));
      return 0;
    }
    case 'webhooks create': {
      const body = { ...webhookFields(values), ...(values.disabled === true ? { enabled: false } : {}) } as Schemas['CreateWebhookRequest'];
      const created = await ok<Schemas['WebhookWithSecret']>(client.POST('/fleets/{fleetId}/webhooks', { params: { path: { fleetId } }, body }));
      print(created, () =>
        `Created ${created.id} in fleet ${fleetId} → ${created.url}\n` +
        `Signing secret (shown this once): ${created.secret}\n` +
        `Receivers verify with it: WEBHOOK_SECRET=${created.secret} npm run receiver\n`);
      return 0;
    }
    case 'webhooks get': {
      const webhook = await ok<Webhook>(client.GET('/fleets/{fleetId}/webhooks/{id}', { params: { path: { fleetId, id } } }));
      print(webhook, () => details(webhook));
      return 0;
    }
    case 'webhooks update': {
      const enabled = enabledFlag(values);
      const body = { ...webhookFields(values), ...(enabled === undefined ? {} : { enabled }) };
      if (Object.keys(body).length === 0) throw new UsageError('webhooks update needs something to change, e.g. --url, --events, --enable');
      const webhook = await ok<Webhook>(client.PATCH('/fleets/{fleetId}/webhooks/{id}', { params: { path: { fleetId, id } }, body }));
      print(webhook, () => `Updated ${webhook.id}.\n${details(webhook)}`);
      return 0;
    }
    case 'webhooks delete': {
      await ok(client.DELETE('/fleets/{fleetId}/webhooks/{id}', { params: { path: { fleetId, id } } }));
      print({ id, deleted: true }, () => `Deleted ${id}; its secret is scheduled for deletion.\n`);
      return 0;
    }
    case 'webhooks rotate': {
      const rotated = await ok<Schemas['WebhookWithSecret']>(client.POST('/fleets/{fleetId}/webhooks/{id}/rotate', { params: { path: { fleetId, id } } }));
      print(rotated, () =>
        `New signing secret for ${rotated.id} (shown this once): ${rotated.secret}\n` +
        'The previous secret keeps signing alongside it for the grace period: roll the new one out to receivers now.\n');
      return 0;
    }
    case 'webhooks test': {
      const sent = await ok<Schemas['TestDeliveryResult']>(client.POST('/fleets/{fleetId}/webhooks/{id}/test', { params: { path: { fleetId, id } } }));
      print(sent, () => `Sent webhook.test to ${id}: delivery ${sent.deliveryId} (event ${sent.eventId}).\n`);
      return 0;
    }
    case 'events publish': {
      const body = clean({ type: values.type, data: publishData(values), id: values.id }) as Schemas['PublishEventRequest'];
      const headers = values['idempotency-key'] === undefined ? {} : { 'idempotency-key': values['idempotency-key'] };
      const published = await ok<Schemas['PublishEventResult']>(client.POST('/fleets/{fleetId}/events', { params: { path: { fleetId } }, body, headers }));
      print(published, () =>
        published.duplicate === true
          ? `Already published as ${published.id} (identical repeat): nothing new was sent.\n`
          : `Published ${published.id} (${values.type}) to fleet ${fleetId}.\n`);
      return 0;
    }
    case 'events list': {
      const page = await list<{ id: string; type: string; timestamp: string; source?: string }>('/fleets/{fleetId}/events', {
        type: values.type,
        since: parseTime(values.since, 'since', now),
        until: parseTime(values.until, 'until', now),
      });
      print(page, () =>
        page.data.length === 0
          ? `No events in fleet ${fleetId}.\n`
          : table(['ID', 'TYPE', 'TIMESTAMP', 'SOURCE'], page.data.map((event) => [event.id, event.type, event.timestamp, cell(event.source)])) + more(page));
      return 0;
    }
    case 'events get': {
      const event = await ok<Record<string, unknown>>(loose.GET('/fleets/{fleetId}/events/{id}', { params: { path: { fleetId, id } } }));
      print(event, () => details(event));
      return 0;
    }
    case 'deliveries list': {
      const query = {
        status: values.status,
        eventType: values['event-type'],
        since: parseTime(values.since, 'since', now),
        until: parseTime(values.until, 'until', now),
      };
      const page =
        values.webhook === undefined
          ? await list<DeliverySummary>('/fleets/{fleetId}/deliveries', query)
          : await listOfWebhook(values.webhook, query);
      print(page, () => (page.data.length === 0 ? 'No deliveries.\n' : deliveryRows(page.data) + more(page)));
      return 0;
    }
    case 'deliveries get': {
      const delivery = await ok<Schemas['Delivery']>(client.GET('/fleets/{fleetId}/deliveries/{id}', { params: { path: { fleetId, id } } }));
      print(delivery, () => {
        const { attempts, ...summary } = delivery;
        const rows = attempts.map((attempt, index) => [String(index + 1), attempt.at, cell(attempt.statusCode ?? attempt.errorKind), `${attempt.latencyMs}ms`, cell(attempt.errorMessage ?? attempt.responseBodyExcerpt)]);
        return details(summary) + (rows.length === 0 ? '' : `\n${table(['#', 'AT', 'STATUS', 'LATENCY', 'DETAIL'], rows)}`);
      });
      return 0;
    }
    case 'deliveries retry': {
      const retried = await ok<Schemas['RetryDeliveryResult']>(client.POST('/fleets/{fleetId}/deliveries/{id}/retry', { params: { path: { fleetId, id } } }));
      print(retried, () => `Retrying ${retried.deliveryId} now (same webhook-id).\n`);
      return 0;
    }
    case 'deliveries tail':
      return tail(values, (query) => listOfWebhook(values.webhook as string, query), io);
    case 'replay': {
      const since = parseTime(values.since, 'since', now) as string;
      const until = parseTime(values.until, 'until', now) ?? now.toISOString();
      const result = await ok<Schemas['ReplayResult']>(
        client.POST('/fleets/{fleetId}/webhooks/{id}/replay', { params: { path: { fleetId, id } }, body: { since, until } }),
      );
      print(result, () => `Replay of ${since} … ${until} to ${id}: ${details(result).trim().replace(/\n/g, ', ').replace(/\s{2,}/g, ' ')}\n`);
      return 0;
    }
    case 'inbound-sources list': {
      const page = await list<Record<string, unknown>>('/fleets/{fleetId}/inbound-sources', {});
      print(page, () =>
        page.data.length === 0
          ? `No inbound sources in fleet ${fleetId}.\n`
          : table(['ID', 'PROVIDER', 'NAME', 'INGEST URL'], page.data.map((source) => [cell(source.id), cell(source.provider), cell(source.name), cell(source.ingestUrl)])) + more(page));
      return 0;
    }
    case 'inbound-sources create': {
      const body = { ...setFields(values.set), provider: values.provider, ...(values.name === undefined ? {} : { name: values.name }) };
      const created = await ok<Record<string, unknown>>(loose.POST('/fleets/{fleetId}/inbound-sources', { params: { path: { fleetId } }, body }));
      print(created, () => `Created ${cell(created.id)}; secrets below are shown this once.\n${details(created)}`);
      return 0;
    }
    case 'inbound-sources get': {
      const source = await ok<Record<string, unknown>>(loose.GET('/fleets/{fleetId}/inbound-sources/{id}', { params: { path: { fleetId, id } } }));
      print(source, () => details(source));
      return 0;
    }
    case 'inbound-sources update': {
      const enabled = enabledFlag(values);
      const body = { ...setFields(values.set), ...(values.name === undefined ? {} : { name: values.name }), ...(enabled === undefined ? {} : { enabled }) };
      if (Object.keys(body).length === 0) throw new UsageError('inbound-sources update needs something to change: --name, --set field=value, --enable, --disable');
      const source = await ok<Record<string, unknown>>(loose.PATCH('/fleets/{fleetId}/inbound-sources/{id}', { params: { path: { fleetId, id } }, body }));
      print(source, () => `Updated ${id}.\n${details(source)}`);
      return 0;
    }
    case 'inbound-sources delete': {
      await ok(loose.DELETE('/fleets/{fleetId}/inbound-sources/{id}', { params: { path: { fleetId, id } } }));
      print({ id, deleted: true }, () => `Deleted ${id}.\n`);
      return 0;
    }
    case 'inbound-sources rotate': {
      const rotated = await ok<Record<string, unknown>>(loose.POST('/fleets/{fleetId}/inbound-sources/{id}/rotate', { params: { path: { fleetId, id } } }));
      print(rotated, () => `Rotated ${id}; the new secret is shown this once.\n${details(rotated)}`);
      return 0;
    }
    default:
      throw new UsageError(`Unknown command ${commandName(spec)}`);
  }

  async function listOfWebhook(webhookId: string, query: Record<string, unknown>): Promise<Page<DeliverySummary>> {
    const base = { ...query, limit: int(values.limit, 'limit', 1, 100) };
    let cursor = values.cursor;
    const data: DeliverySummary[] = [];
    for (;;) {
      const page = await ok<Page<DeliverySummary>>(
        client.GET('/fleets/{fleetId}/webhooks/{id}/deliveries', {
          params: { path: { fleetId, id: webhookId }, query: clean({ ...base, cursor }) as never },
        }),
      );
      data.push(...page.data);
      if (values.all !== true || page.nextCursor === null) return { data, nextCursor: page.nextCursor };
      cursor = page.nextCursor;
    }
  }
}

function clean<T extends Record<string, unknown>>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as T;
}

const DEFAULT_TAIL_INTERVAL_S = 1;

/**
 * `deliveries tail`: polls the newest deliveries and prints each new delivery and each change of
 * status or attempt count, oldest first, until interrupted (or --duration seconds).
 */
async function tail(
  values: Values,
  fetchPage: (query: Record<string, unknown>) => Promise<Page<DeliverySummary>>,
  io: ApiIo,
): Promise<number> {
  const intervalMs = (int(values.interval, 'interval', 1, 3600) ?? DEFAULT_TAIL_INTERVAL_S) * 1000;
  const durationS = int(values.duration, 'duration', 1, 86_400);
  const sleep = io.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const started = Date.now();
  const seen = new Map<string, string>();
  const since = new Date(Date.now() - 60_000).toISOString();
  let stopped = false;
  void io.interrupted?.then(() => (stopped = true));
  if (values.json !== true) io.stdout(`Following deliveries of ${values.webhook} (Ctrl-C stops)…\n`);
  while (!stopped) {
    const page = await fetchPage(clean({ status: values.status, eventType: values['event-type'], since, limit: 50 }));
    for (const delivery of [...page.data].reverse()) {
      const state = `${delivery.status}/${delivery.attemptCount}`;
      if (seen.get(delivery.id) === state) continue;
      seen.set(delivery.id, state);
      io.stdout(
        values.json === true
          ? `${JSON.stringify(delivery)}\n`
          : `${delivery.lastAttemptAt ?? delivery.createdAt} ${delivery.id} ${delivery.eventType} ${delivery.status} ` +
              `attempt ${delivery.attemptCount}${delivery.httpStatusCode === undefined ? '' : ` → ${delivery.httpStatusCode}`}` +
              `${delivery.errorMessage === undefined ? '' : ` (${delivery.errorMessage})`}\n`,
      );
    }
    if (durationS !== undefined && Date.now() - started >= durationS * 1000) break;
    await Promise.race([sleep(intervalMs), io.interrupted ?? new Promise(() => undefined)]);
  }
  return 0;
}
