import { GetSecretValueCommand, ListSecretsCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rekeyAll } from '../../cli/rekey';
import { runSecretsCli } from '../../cli/secrets';
import { keyRingSealer } from '../../lambdas/core/inbound/sealer';
import { credentialsAad, newSourceId } from '../../lambdas/core/inbound/source';
import { addKeyVersion, formatKeyRing, parseKeyRing, sealedKeyVersion } from '../../lambdas/core/sealed-secrets';
import { generateSigningSecret, rotateSecretValue } from '../../lambdas/core/secrets';
import { createDocumentClient } from '../../lambdas/shared/clients';
import { ENV } from '../../lambdas/shared/environment';
import { InboundSourcesStore } from '../../lambdas/shared/inbound-sources-store';
import { SealingKeys } from '../../lambdas/shared/sealing-keys';
import { createSubscription, putEvent, startHarness, waitFor, type PipelineHarness } from './pipeline-helpers';

/**
 * Signing secrets sealed under the deployment's one key ring secret, on local mode's real
 * pipeline: create → deliver → rotate (both secrets sign during the grace period) → key rotation
 * and rekey → still delivered and verifiable; Secrets Manager holds one secret throughout.
 */
let harness: PipelineHarness;
let sm: SecretsManagerClient;
let keySecret: string;

beforeAll(async () => {
  harness = await startHarness();
  sm = new SecretsManagerClient({});
  keySecret = harness.runtime.env[ENV.sealingKeySecret] as string;
}, 60_000);

afterAll(async () => {
  sm?.destroy();
  await harness?.stop();
});

async function secretNames(): Promise<string[]> {
  return ((await sm.send(new ListSecretsCommand({ IncludePlannedDeletion: true }))).SecretList ?? []).map((entry) => entry.Name as string);
}

/** Publishes an event and checks the POST it caused at `path` against each secret. */
async function deliverAndVerify(fleetId: string, path: string, secrets: string[], n: number): Promise<void> {
  const before = harness.receiver.at(path).length;
  await putEvent(harness, fleetId, 'thread.completed', { n });
  const posts = await waitFor(`delivery ${n}`, () => (harness.receiver.at(path).length > before ? harness.receiver.at(path) : undefined), 20_000);
  const post = posts[before]!;
  expect(JSON.parse(post.body)).toMatchObject({ data: { n } });
  for (const secret of secrets) {
    expect(() => new Webhook(secret).verify(post.body, post.headers as Record<string, string>)).not.toThrow();
  }
}

describe('secrets sealed under one key ring', { timeout: 90_000 }, () => {
  it('create → deliver → rotate → both verify → key rotation + rekey → still verifies; one secret in Secrets Manager', async () => {
    const fleetId = 'fleet-kek';
    const path = '/kek';
    const first = generateSigningSecret();
    const { subscription } = await createSubscription(harness, { fleetId, url: harness.receiver.endpoint(path) }, { current: first });
    expect(sealedKeyVersion(subscription.sealedSecret)).toBe(1);
    await deliverAndVerify(fleetId, path, [first], 1);

    // Rotation as the API does it: the record carries the new secret and the old one with its grace end.
    const second = generateSigningSecret();
    const record = (await harness.subscriptions.get(fleetId, subscription.id, true))!;
    const next = await harness.secrets.seal(fleetId, record.id, rotateSecretValue(await harness.secrets.get(record), second, new Date(), 24));
    expect(await harness.subscriptions.replaceSecret(fleetId, record.id, record.sealedSecret, next, new Date().toISOString())).toMatchObject(next);
    await deliverAndVerify(fleetId, path, [second, first], 2);

    // An inbound source's credentials, sealed under the same ring.
    const sources = new InboundSourcesStore(createDocumentClient(), harness.runtime.tables.inboundSources);
    const sourceId = newSourceId();
    const credentials = JSON.stringify({ current: { secret: 'gh-secret' } });
    const sealer = keyRingSealer(new SealingKeys(sm, keySecret));
    const now = new Date().toISOString();
    await sources.create({
      id: sourceId, fleetId, provider: 'github', name: 'repo', enabled: true, settings: {},
      sealedCredentials: await sealer.seal(credentials, credentialsAad(fleetId, sourceId)), createdAt: now, updatedAt: now,
    });

    // Key rotation: a second key version becomes current; version 1 stays in the ring.
    const ringText = (await sm.send(new GetSecretValueCommand({ SecretId: keySecret }))).SecretString;
    await sm.send(new PutSecretValueCommand({ SecretId: keySecret, SecretString: formatKeyRing(addKeyVersion(parseKeyRing(ringText))) }));
    // Old versions stay readable: the dispatcher's cached ring still opens the version-1 record.
    await deliverAndVerify(fleetId, path, [second, first], 3);

    const lines: string[] = [];
    const progress = await rekeyAll({ subscriptions: harness.subscriptions, inboundSources: sources }, new SealingKeys(sm, keySecret), {
      onPage: (p) => lines.push(`${p.scanned}/${p.resealed}`),
    });
    expect(progress).toMatchObject({ resealed: 2, failed: [], gone: 0 });
    expect(lines.length).toBeGreaterThan(0);
    const rekeyed = (await harness.subscriptions.get(fleetId, subscription.id, true))!;
    expect(sealedKeyVersion(rekeyed.sealedSecret)).toBe(2);
    expect(sealedKeyVersion(rekeyed.sealedPreviousSecret!)).toBe(2);
    const source = (await sources.get(sourceId))!;
    expect(sealedKeyVersion(source.sealedCredentials)).toBe(2);
    expect(await keyRingSealer(new SealingKeys(sm, keySecret)).open(source.sealedCredentials, credentialsAad(fleetId, sourceId))).toBe(credentials);
    // The dispatcher has only version 1 cached: the new version costs it one refresh, then signs.
    await deliverAndVerify(fleetId, path, [second, first], 4);

    // Idempotent: a second run finds nothing to do.
    const again = await rekeyAll({ subscriptions: harness.subscriptions, inboundSources: sources }, new SealingKeys(sm, keySecret));
    expect(again).toMatchObject({ resealed: 0, failed: [] });
    expect(again.current).toBe(again.scanned);
    expect(await secretNames()).toEqual([keySecret]);
  });

  it('keeps exactly one secret in the local Secrets Manager however many subscriptions exist', async () => {
    for (let index = 0; index < 40; index += 1) {
      await createSubscription(harness, { fleetId: `fleet-many-${index % 4}`, url: harness.receiver.endpoint('/many') });
    }
    expect(await secretNames()).toEqual([keySecret]);
  });

  it('`hookline secrets rekey --table --secret` reports progress and is idempotent', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (text: string) => out.push(text), stderr: (text: string) => err.push(text), env: process.env };
    const args = ['rekey', '--table', harness.runtime.tables.subscriptions, '--inbound-table', harness.runtime.tables.inboundSources, '--secret', keySecret];
    expect(await runSecretsCli(args, io)).toBe(0);
    expect(out.join('')).toMatch(/scanned: \d+ re-sealed/);
    expect(out.join('')).toMatch(/Done: \d+ scanned, \d+ re-sealed, \d+ already current, 0 deleted meanwhile, 0 failed\./);
    out.length = 0;
    expect(await runSecretsCli(args, io)).toBe(0);
    expect(out.join('')).toMatch(/Done: (\d+) scanned, 0 re-sealed, \1 already current/);
    expect(err.join('')).toBe('');
    expect(await runSecretsCli(['rekey'], io)).toBe(2);
    expect(await runSecretsCli(['rekey', '--table', 't'], io)).toBe(2);
  });
});
