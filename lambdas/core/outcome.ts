import type { AttemptErrorKind } from './records';

/**
 * What one attempt means for its delivery (docs/internals.md, "Dispatch, retries, DLQ"): 2xx succeeds;
 * network trouble, 408, 429 and 5xx retry; 410 disables the subscription; a blocked address and
 * every other status (redirects are not followed) fail for good.
 */
export type AttemptOutcome = 'succeeded' | 'retry' | 'disable' | 'failed';

export interface AttemptResult {
  statusCode?: number;
  errorKind?: AttemptErrorKind;
}

/** `http` is absent on purpose: with it, the status code decides. */
const BY_ERROR_KIND: Readonly<Partial<Record<AttemptErrorKind, AttemptOutcome>>> = {
  timeout: 'retry',
  connection: 'retry',
  dns: 'retry',
  tls: 'retry',
  blocked: 'failed',
};

const BY_STATUS: ReadonlyMap<number, AttemptOutcome> = new Map([
  [408, 'retry'],
  [429, 'retry'],
  [410, 'disable'],
]);

/** Checked in order after the exact statuses above; anything unmatched fails. */
const BY_STATUS_RANGE: readonly { from: number; to: number; outcome: AttemptOutcome }[] = [
  { from: 200, to: 299, outcome: 'succeeded' },
  { from: 500, to: 599, outcome: 'retry' },
];

export function classifyAttempt(result: AttemptResult): AttemptOutcome {
  const byKind = result.errorKind === undefined ? undefined : BY_ERROR_KIND[result.errorKind];
  if (byKind !== undefined) return byKind;
  const status = result.statusCode;
  // No status and no network error kind: the attempt broke off before an answer, which is transient.
  if (status === undefined) return 'retry';
  return (
    BY_STATUS.get(status) ?? BY_STATUS_RANGE.find((range) => status >= range.from && status <= range.to)?.outcome ?? 'failed'
  );
}

