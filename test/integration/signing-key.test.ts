import { GetSecretValueCommand, ListSecretsCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addKeyVersion, formatKeyRing, parseKeyRing, sealedKeyVersion } from '../../lambdas/core/sealed-secrets';
import { generateSigningSecret, rotateSecretValue } from '../../lambdas/core/secrets';
import { SigningKeys } from '../../lambdas/shared/signing-secrets';
import { rekeySubscriptions, runSecretsCli } from '../../cli/secrets';
import { createSubscription, putEvent, startHarness, waitFor, type PipelineHarness } from './pipeline-helpers';

/**
 * Signing secrets sealed under the deployment's one key secret, on local mode's real pipeline:
 * create → deliver → rotate (both secrets sign during the grace period) → key rotation and
 * rekey → still delivered and verifiable; Secrets Manager holds one secret throughout.
 */
let harness: PipelineHarness;
let sm: SecretsManagerClient;

beforeAll(async () => {
  harness = await startHarness();
  sm = new SecretsManagerClient({});
}, 60_000);

afterAll(async () => {
  sm?.destroy();
  await harness?.stop();
});

async function secretNames(): Promise<string[]> {
  return ((await sm.send(new ListSecretsCommand({ IncludePlannedDeletion: true }))).SecretList ?? []).map((entry) => entry.ARN as string);
}

/** Publishes an event and returns the POST it caused at `path`, checked against each secret. */
async function deliverAndVerify(fleetId: string, path: string, secrets: string[], n: number): Promise<void> {
  const before = harness.receiver.requests.filter((request) => request.path === path).length;
  await putEvent(harness, fleetId, 'thread.completed', { n });
  const posts = await waitFor(`delivery ${n}`, () => {
    const at = harness.receiver.requests.filter((request) => request.path === path);
    return at.length > before ? at : undefined;
  }, 20_000);
  const post = posts[before]!;
  expect(JSON.parse(post.body)).toMatchObject({ data: { n } });
  for (const secret of secrets) {
    expect(() => new Webhook(secret).verify(post.body, post.headers as Record<string, string>)).not.toThrow();
  }
}

describe('signing secrets under one key', { timeout: 90_000 }, () => {
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
    expect(await harness.subscriptions.replaceSecret(fleetId, record.id, record.sealedSecret, next, new Date().toISOString())).not.toBe('changed');
    await deliverAndVerify(fleetId, path, [second, first], 2);

    // Key rotation: a second key version becomes current; version 1 stays in the ring.
    const ringText = (await sm.send(new GetSecretValueCommand({ SecretId: harness.runtime.signingKeySecretArn }))).SecretString;
    await sm.send(new PutSecretValueCommand({ SecretId: harness.runtime.signingKeySecretArn, SecretString: formatKeyRing(addKeyVersion(parseKeyRing(ringText))) }));
    // Old versions stay readable: the dispatcher's cached ring still opens the version-1 record.
    await deliverAndVerify(fleetId, path, [second, first], 3);

    const lines: string[] = [];
    const progress = await rekeySubscriptions(harness.subscriptions, new SigningKeys(sm, harness.runtime.signingKeySecretArn), {
      onPage: (p) => lines.push(`${p.scanned}/${p.resealed}`),
    });
    expect(progress).toMatchObject({ resealed: 1, failed: [] });
    expect(lines.length).toBeGreaterThan(0);
    const rekeyed = (await harness.subscriptions.get(fleetId, subscription.id, true))!;
    expect(sealedKeyVersion(rekeyed.sealedSecret)).toBe(2);
    expect(sealedKeyVersion(rekeyed.sealedPreviousSecret!)).toBe(2);
    // The dispatcher has only version 1 cached: the new version costs it one refresh, then signs.
    await deliverAndVerify(fleetId, path, [second, first], 4);

    // Idempotent: a second run finds nothing to do.
    const again = await rekeySubscriptions(harness.subscriptions, new SigningKeys(sm, harness.runtime.signingKeySecretArn));
    expect(again).toMatchObject({ resealed: 0, failed: [] });
    expect(again.current).toBe(again.scanned);
    expect(await secretNames()).toEqual([harness.runtime.signingKeySecretArn]);
  });

  it('keeps exactly one secret in the local Secrets Manager however many subscriptions exist', async () => {
    for (let index = 0; index < 40; index += 1) {
      await createSubscription(harness, { fleetId: `fleet-many-${index % 4}`, url: harness.receiver.endpoint('/many') });
    }
    expect(await secretNames()).toEqual([harness.runtime.signingKeySecretArn]);
  });

  it('`hookline secrets rekey --table --secret` reports progress and is idempotent', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (text: string) => out.push(text), stderr: (text: string) => err.push(text), env: process.env };
    const args = ['rekey', '--table', harness.runtime.tables.subscriptions, '--secret', harness.runtime.signingKeySecretArn];
    expect(await runSecretsCli(args, io)).toBe(0);
    expect(out.join('')).toMatch(/scanned: \d+ re-sealed/);
    expect(out.join('')).toMatch(/Done: \d+ subscriptions, \d+ re-sealed, \d+ already current, 0 deleted meanwhile, 0 failed\./);
    out.length = 0;
    expect(await runSecretsCli(args, io)).toBe(0);
    expect(out.join('')).toMatch(/Done: (\d+) subscriptions, 0 re-sealed, \1 already current/);
    expect(err.join('')).toBe('');
    expect(await runSecretsCli(['rekey'], io)).toBe(2);
  });
});
