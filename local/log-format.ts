/**
 * Human-readable rendering of the handlers' Powertools log lines for `npm start`.
 *
 * The handlers log exactly as they do in Lambda (one JSON object per line on stdout/stderr, via
 * their own Powertools Logger). Rather than give local mode a second logging configuration, the
 * local process installs a sink on its own stdout/stderr that re-renders those JSON lines; any
 * other output passes through untouched. `HOOKLINE_LOG_FORMAT=json` skips the sink entirely.
 */

export type LogFormat = 'human' | 'json';

export function readLogFormat(value: string | undefined): LogFormat {
  const format = (value ?? '').trim().toLowerCase();
  if (format === '' || format === 'human' || format === 'text') return 'human';
  if (format === 'json') return 'json';
  throw new Error(`HOOKLINE_LOG_FORMAT must be "human" or "json", not ${JSON.stringify(value)}`);
}

type LogRecord = Record<string, unknown>;

/** Keys Powertools adds to every line: noise for a person reading a terminal. */
const ENVELOPE_KEYS = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'sampling_rate',
  'xray_trace_id',
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_name',
  'function_request_id',
  'correlation_ids',
]);

function isPowertoolsRecord(value: unknown): value is LogRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const record = value as LogRecord;
  return typeof record.level === 'string' && typeof record.timestamp === 'string' && 'message' in record;
}

function clockTime(timestamp: string): string {
  const date = new Date(timestamp);
  return Number.isNaN(date.getTime()) ? timestamp : date.toISOString().slice(11, 23);
}

/**
 * A delivery URL as a terminal shows it: scheme, host, port and path; credentials and the query
 * string (where receivers put their own tokens) are left out.
 */
export function displayUrl(value: unknown): string {
  if (typeof value !== 'string') return text(value);
  // Already cut to its origin by the one who logged it.
  if (value.endsWith('/…')) return value;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return value;
  }
  return `${url.origin}${url.pathname}${url.search === '' ? '' : '?…'}`;
}

function text(value: unknown): string {
  if (value === undefined || value === null) return '-';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * One delivery attempt as one line: time, event type, url, status, latency, delivery id, then what
 * happens next. Event type and url appear when the dispatcher's log line carries them.
 */
function formatAttempt(record: LogRecord): string {
  const status = record.statusCode !== undefined ? String(record.statusCode) : text(record.errorKind);
  const latency = typeof record.latencyMs === 'number' ? `${Math.round(record.latencyMs)}ms` : '-';
  const of = typeof record.allowed === 'number' ? `/${record.allowed}` : '';
  const next =
    typeof record.retryInSeconds === 'number' ? `retry in ${record.retryInSeconds}s` : text(record.status ?? record.outcome);
  const error = record.errorKind !== undefined && record.errorKind !== 'http' ? ` (${text(record.errorMessage)})` : '';
  return [
    clockTime(String(record.timestamp)),
    ...(record.eventType === undefined ? [] : [text(record.eventType)]),
    ...(record.url === undefined && record.webhookUrl === undefined ? [] : [displayUrl(record.url ?? record.webhookUrl)]),
    '→',
    status,
    latency,
    text(record.deliveryId),
    `attempt ${text(record.attempt)}${of}`,
    `${next}${error}`,
  ].join(' ');
}

function isAttempt(record: LogRecord): boolean {
  return (
    typeof record.deliveryId === 'string' &&
    typeof record.attempt === 'number' &&
    (record.statusCode !== undefined || record.errorKind !== undefined) &&
    record.latencyMs !== undefined
  );
}

/** Any other log line: time, level, message, then its own keys as key=value. */
function formatGeneric(record: LogRecord): string {
  const extras = Object.entries(record)
    .filter(([key, value]) => !ENVELOPE_KEYS.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${text(value)}`);
  const level = String(record.level).toUpperCase();
  return [clockTime(String(record.timestamp)), level.padEnd(5), text(record.message), ...extras].join(' ');
}

export function formatLogRecord(record: LogRecord): string {
  return isAttempt(record) ? formatAttempt(record) : formatGeneric(record);
}

/** The fan-out logs a rejected events-queue message at each of its receives until the DLQ takes it. */
const SET_ASIDE = 'events-queue message set aside for the DLQ';
const MAX_REMEMBERED = 1_000;

/**
 * Decides which lines a person sees: one line per rejected bus event (not one per receive), and
 * none of Powertools' "No application metrics to publish" notices, which say nothing locally.
 */
export class HumanLogFilter {
  private readonly setAside = new Set<string>();

  /** The rendered line, or undefined to drop it. */
  render(line: string): string | undefined {
    if (line.startsWith('No application metrics to publish')) return undefined;
    if (!line.startsWith('{')) return line;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return line;
    }
    if (!isPowertoolsRecord(parsed)) return line;
    if (parsed.message === SET_ASIDE && typeof parsed.messageId === 'string') {
      if (this.setAside.has(parsed.messageId)) return undefined;
      this.remember(parsed.messageId);
      const { receiveCount: _count, ...rest } = parsed;
      return `${formatLogRecord(rest)} (it goes to the events DLQ after its remaining receives)`;
    }
    return formatLogRecord(parsed);
  }

  private remember(id: string): void {
    if (this.setAside.size >= MAX_REMEMBERED) {
      const oldest = this.setAside.values().next().value;
      if (oldest !== undefined) this.setAside.delete(oldest);
    }
    this.setAside.add(id);
  }
}

/** Re-renders every Powertools JSON line in `chunk` and drops the noise; other lines are returned unchanged. */
export function renderChunk(chunk: string, filter: HumanLogFilter = new HumanLogFilter()): string {
  if (!chunk.includes('{') && !chunk.includes('No application metrics')) return chunk;
  const lines = chunk.split('\n');
  const kept: string[] = [];
  for (const [index, line] of lines.entries()) {
    const rendered = filter.render(line);
    if (rendered !== undefined) kept.push(rendered);
    // A dropped line takes its newline along; the chunk's final newline stays.
    else if (index === lines.length - 1) kept.push('');
  }
  return kept.join('\n');
}

/**
 * Routes everything written to `stream` through {@link renderChunk}. Powertools' Console writes
 * each log entry with a single `write` call, so lines never arrive split across chunks.
 */
export function installHumanLogSink(stream: NodeJS.WriteStream, filter: HumanLogFilter = new HumanLogFilter()): void {
  const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk === 'string') return write(renderChunk(chunk, filter), ...rest);
    if (Buffer.isBuffer(chunk)) return write(renderChunk(chunk.toString('utf8'), filter), ...rest.filter((arg) => typeof arg === 'function'));
    return write(chunk, ...rest);
  }) as typeof stream.write;
}
