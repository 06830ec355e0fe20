import { describe, expect, it } from 'vitest';
import { displayUrl, formatLogRecord, HumanLogFilter, readLogFormat, renderChunk } from '../../../local/log-format';

const attempt = {
  level: 'INFO',
  message: 'attempt made',
  timestamp: '2026-01-02T03:04:05.678Z',
  service: 'hookline-dispatcher',
  cold_start: true,
  deliveryId: 'dlv_01M858DDWEFE1TE91EZ0FA8JB3',
  subscriptionId: 'wh_01M858DA4CWNGM9VDNED20SER3',
  fleetId: 'demo',
  eventType: 'thread.completed',
  url: 'http://127.0.0.1:4000/webhooks',
  attempt: 2,
  allowed: 9,
  outcome: 'retry',
  status: 'pending',
  statusCode: 500,
  latencyMs: 12.4,
  retryInSeconds: 30,
};

describe('local log format', () => {
  it('renders a delivery attempt as one line with time, event type, url, status, latency and delivery id', () => {
    expect(formatLogRecord(attempt)).toBe(
      '03:04:05.678 thread.completed http://127.0.0.1:4000/webhooks → 500 12ms dlv_01M858DDWEFE1TE91EZ0FA8JB3 attempt 2/9 retry in 30s',
    );
  });

  it('names the error of an attempt that got no HTTP answer, and the final status of a last attempt', () => {
    const line = formatLogRecord({
      ...attempt,
      statusCode: undefined,
      errorKind: 'connection',
      errorMessage: 'connection refused',
      retryInSeconds: undefined,
      status: 'failed',
    });
    expect(line).toContain('→ connection 12ms dlv_01M858DDWEFE1TE91EZ0FA8JB3 attempt 2/9 failed (connection refused)');
  });

  it('renders other log lines as time, level, message and their own keys, without Powertools noise', () => {
    const line = formatLogRecord({
      level: 'WARN',
      message: 'subscription disabled',
      timestamp: '2026-01-02T03:04:05.678Z',
      service: 'hookline-dispatcher',
      xray_trace_id: 'x',
      function_request_id: 'r',
      reason: 'the endpoint answered 410 Gone',
    });
    expect(line).toBe('03:04:05.678 WARN  subscription disabled reason=the endpoint answered 410 Gone');
  });

  it('rewrites only Powertools JSON lines of a chunk', () => {
    const chunk = `${JSON.stringify(attempt)}\nplain text\n{"not":"a log line"}\n{broken json\n`;
    const lines = renderChunk(chunk).split('\n');
    expect(lines[0]).toMatch(/^03:04:05\.678 thread\.completed /);
    expect(lines.slice(1)).toEqual(['plain text', '{"not":"a log line"}', '{broken json', '']);
  });

  it('reads HOOKLINE_LOG_FORMAT', () => {
    expect(readLogFormat(undefined)).toBe('human');
    expect(readLogFormat('JSON')).toBe('json');
    expect(() => readLogFormat('xml')).toThrow(/HOOKLINE_LOG_FORMAT/);
  });
});

describe('human log: first-hour noise', () => {
  const base = { level: 'INFO', timestamp: '2026-01-01T10:00:00.000Z', service: 'dispatcher' };

  it('shows a delivery URL with its path, hiding credentials and the query string', () => {
    const line = formatLogRecord({
      ...base,
      message: 'delivery attempt',
      deliveryId: 'dlv_1',
      attempt: 1,
      statusCode: 204,
      latencyMs: 3,
      eventType: 'thread.completed',
      url: 'https://user:pass@hooks.example.com:8443/services/T0/B1?token=abc#x',
    });
    expect(line).toContain('https://hooks.example.com:8443/services/T0/B1?…');
    expect(line).not.toMatch(/user|pass|token=abc/);
    expect(displayUrl('http://127.0.0.1:4000/webhooks')).toBe('http://127.0.0.1:4000/webhooks');
    expect(displayUrl('http://127.0.0.1:4000/…')).toBe('http://127.0.0.1:4000/…');
  });

  it('drops Powertools "No application metrics to publish" notices', () => {
    const notice =
      'No application metrics to publish. The cold-start metric may be published if enabled. If application metrics should never be empty, consider using \'throwOnEmptyMetrics\'\n';
    expect(renderChunk(notice)).toBe('');
    expect(renderChunk(`kept\n${notice}`)).toBe('kept\n');
  });

  it('prints one line per rejected bus event, not one per receive', () => {
    const filter = new HumanLogFilter();
    const setAside = (messageId: string, receiveCount: string) =>
      `${JSON.stringify({ ...base, level: 'ERROR', message: 'events-queue message set aside for the DLQ', messageId, reason: 'unknown event type', receiveCount })}\n`;
    const output = ['1', '2', '3', '4', '5'].map((count) => renderChunk(setAside('m-1', count), filter)).join('');
    expect(output.trim().split('\n')).toHaveLength(1);
    expect(output).toMatch(/ERROR.*set aside for the DLQ.*messageId=m-1 reason=unknown event type/);
    expect(renderChunk(setAside('m-2', '1'), filter).trim().split('\n')).toHaveLength(1);
  });
});
