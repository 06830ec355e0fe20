import { credentialsAad, type InboundSourceRecord } from '../lambdas/core/inbound/source';
import { fixedKeyRing, keyRingSealer, type KeyRingSource } from '../lambdas/core/inbound/sealer';
import type { SubscriptionRecord } from '../lambdas/core/records';
import {
  keyVersionsOf,
  openSigningSecrets,
  sealedKeyVersion,
  SealedSecretError,
  sealSigningSecrets,
  type KeyRing,
} from '../lambdas/core/sealed-secrets';
import type { InboundSourcesStore } from '../lambdas/shared/inbound-sources-store';
import type { SubscriptionsStore } from '../lambdas/shared/subscriptions-store';

export interface RekeyProgress {
  scanned: number;
  resealed: number;
  /** Already sealed under the newest key version. */
  current: number;
  /** Deleted between the scan and the write. */
  gone: number;
  /** Could not be opened (altered, or sealed under a key the ring no longer holds), or kept changing. */
  failed: { kind: 'webhook' | 'inbound-source'; fleetId: string; id: string; reason: string }[];
}

export interface RekeyStores {
  subscriptions: Pick<SubscriptionsStore, 'scanAll' | 'replaceSecret' | 'get'>;
  /** Absent: only subscriptions are re-sealed. */
  inboundSources?: Pick<InboundSourcesStore, 'scanAll' | 'replaceCredentials' | 'get'>;
}

/** Rounds for one item whose secret a concurrent rotation changed under us. */
const MAX_ROUNDS = 3;

/**
 * Walks every subscription (and inbound source) and re-seals its secrets under the ring's newest
 * key, so an old key version can later be dropped. A concurrent rotation wins (each write is
 * conditional on the sealed value read) and the item is read again. A previous secret past its
 * grace period is dropped on the way: it signs nothing. Idempotent: items already on the newest
 * version are skipped.
 */
export async function rekeyAll(
  stores: RekeyStores,
  keys: KeyRingSource,
  options: { now?: () => Date; onPage?: (progress: Readonly<RekeyProgress>) => void; pageSize?: number } = {},
): Promise<RekeyProgress> {
  const progress: RekeyProgress = { scanned: 0, resealed: 0, current: 0, gone: 0, failed: [] };
  const ring = await keys.ringForSealing();
  for await (const page of stores.subscriptions.scanAll(options.pageSize)) {
    for (const record of page) {
      progress.scanned += 1;
      await rekeySubscription(stores.subscriptions, keys, ring, record, progress, options.now?.() ?? new Date());
    }
    options.onPage?.(progress);
  }
  if (stores.inboundSources !== undefined) {
    for await (const page of stores.inboundSources.scanAll(options.pageSize)) {
      for (const source of page) {
        progress.scanned += 1;
        await rekeySource(stores.inboundSources, keys, ring, source, progress);
      }
      options.onPage?.(progress);
    }
  }
  return progress;
}

async function rekeySubscription(
  store: RekeyStores['subscriptions'],
  keys: KeyRingSource,
  ring: KeyRing,
  first: SubscriptionRecord,
  progress: RekeyProgress,
  now: Date,
): Promise<void> {
  let record: SubscriptionRecord | undefined = first;
  for (let round = 0; round < MAX_ROUNDS && record !== undefined; round += 1) {
    const expired = record.previousSecretExpiresAt !== undefined && !(Date.parse(record.previousSecretExpiresAt) > now.getTime());
    let value;
    try {
      if (!expired && keyVersionsOf(record).every((version) => version === ring.current)) {
        progress.current += 1;
        return;
      }
      value = openSigningSecrets(await keys.ringFor(keyVersionsOf(record)), record);
    } catch (error) {
      if (!(error instanceof SealedSecretError)) throw error;
      progress.failed.push({ kind: 'webhook', fleetId: record.fleetId, id: record.id, reason: error.message });
      return;
    }
    if (expired) value = { current: value.current };
    const next = sealSigningSecrets(ring, record.fleetId, record.id, value);
    const result = await store.replaceSecret(record.fleetId, record.id, record.sealedSecret, next, undefined);
    if (result === 'missing') break;
    if (result !== 'changed') {
      progress.resealed += 1;
      return;
    }
    record = await store.get(record.fleetId, record.id, true);
  }
  if (record === undefined) progress.gone += 1;
  else progress.failed.push({ kind: 'webhook', fleetId: record.fleetId, id: record.id, reason: 'kept changing under concurrent rotations; run rekey again' });
}

async function rekeySource(
  store: NonNullable<RekeyStores['inboundSources']>,
  keys: KeyRingSource,
  ring: KeyRing,
  first: InboundSourceRecord,
  progress: RekeyProgress,
): Promise<void> {
  const opener = keyRingSealer(keys);
  const sealer = keyRingSealer(fixedKeyRing(ring));
  let source: InboundSourceRecord | undefined = first;
  for (let round = 0; round < MAX_ROUNDS && source !== undefined; round += 1) {
    const aad = credentialsAad(source.fleetId, source.id);
    let plaintext: string;
    try {
      if (sealedKeyVersion(source.sealedCredentials) === ring.current) {
        progress.current += 1;
        return;
      }
      plaintext = await opener.open(source.sealedCredentials, aad);
    } catch (error) {
      if (!(error instanceof SealedSecretError)) throw error;
      progress.failed.push({ kind: 'inbound-source', fleetId: source.fleetId, id: source.id, reason: error.message });
      return;
    }
    if ((await store.replaceCredentials(source.id, source.sealedCredentials, await sealer.seal(plaintext, aad))) === 'replaced') {
      progress.resealed += 1;
      return;
    }
    source = await store.get(source.id);
  }
  if (source === undefined) progress.gone += 1;
  else progress.failed.push({ kind: 'inbound-source', fleetId: source.fleetId, id: source.id, reason: 'kept changing under concurrent rotations; run rekey again' });
}
