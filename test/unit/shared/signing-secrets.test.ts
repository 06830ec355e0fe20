import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockAwsClient } from '../../support/aws-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keyRingSealer } from '../../../lambdas/core/inbound/sealer';
import { PermanentError } from '../../../lambdas/core/errors';
import { addKeyVersion, formatKeyRing, sealSigningSecrets, UnknownKeyVersionError, type KeyRing } from '../../../lambdas/core/sealed-secrets';
import { SigningSecretsLoader } from '../../../lambdas/dispatcher/secrets';
import { SealingKeys } from '../../../lambdas/shared/sealing-keys';
import { SigningSecrets } from '../../../lambdas/shared/signing-secrets';
import { TEST_KEY_RING, TEST_SEALING_KEY_ARN, TEST_SIGNING_SECRET } from '../../support/sealing-key';

const sm = mockAwsClient(SecretsManagerClient);
const client = new SecretsManagerClient({ region: 'us-east-1', credentials: { accessKeyId: 't', secretAccessKey: 't' } });
const OLD = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
const AT = new Date('2030-01-01T00:00:00.000Z');

let ring: KeyRing;
beforeEach(() => {
  sm.reset();
  ring = TEST_KEY_RING;
  // Answers with whatever the ring is when the call is made, as Secrets Manager's AWSCURRENT would.
  sm.on(GetSecretValueCommand).callsFake(async () => ({ SecretString: formatKeyRing(ring), VersionId: `kv-${ring.current}` }));
});
afterEach(() => sm.reset());

function record(id: string, under: KeyRing = TEST_KEY_RING, value: Parameters<typeof sealSigningSecrets>[3] = { current: TEST_SIGNING_SECRET }) {
  return { fleetId: 'fleet-a', id, ...sealSigningSecrets(under, 'fleet-a', id, value) };
}

const store = (keys = new SealingKeys(client, TEST_SEALING_KEY_ARN)) => new SigningSecrets(keys);

describe('SealingKeys / SigningSecrets', () => {
  it('loads the key ring once for a cold batch (single-flight) and never again for known versions', async () => {
    const secrets = store();
    const values = await Promise.all(Array.from({ length: 10 }, (_, index) => secrets.get(record(`wh_${index}`))));
    expect(values.every((value) => value.current === TEST_SIGNING_SECRET)).toBe(true);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(sm.commandCalls(GetSecretValueCommand)[0]!.args[0].input).toEqual({ SecretId: TEST_SEALING_KEY_ARN });
    for (let index = 0; index < 50; index += 1) await secrets.get(record(`wh_more_${index}`));
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(secrets.keys.calls).toBe(1);
  });

  it('refreshes once when a value names a key version added since (key rotation), then caches it', async () => {
    const secrets = store();
    await secrets.get(record('wh_1'));
    ring = addKeyVersion(TEST_KEY_RING);
    const underTwo = record('wh_2', ring);
    await Promise.all([secrets.get(underTwo), secrets.get(underTwo), secrets.get(record('wh_3', ring))]);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    // Old versions stay readable from the cache.
    expect((await secrets.get(record('wh_4'))).current).toBe(TEST_SIGNING_SECRET);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('gives up with UnknownKeyVersionError, a PermanentError, when the refresh does not bring the version', async () => {
    const secrets = store();
    await secrets.get(record('wh_1'));
    const future = addKeyVersion(addKeyVersion(TEST_KEY_RING));
    const error = await secrets.get(record('wh_9', future)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnknownKeyVersionError);
    expect(error).toBeInstanceOf(PermanentError);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('seals with a newer current version once the cached one is older than the sealing max age', async () => {
    let now = 0;
    const secrets = store(new SealingKeys(client, TEST_SEALING_KEY_ARN, { now: () => now, sealingKeyMaxAgeMs: 1_000 }));
    expect((await secrets.seal('f', 'wh_1', { current: OLD })).sealedSecret).toMatch(/^v1\.1\./);
    ring = addKeyVersion(TEST_KEY_RING);
    now = 500;
    expect((await secrets.seal('f', 'wh_1', { current: OLD })).sealedSecret).toMatch(/^v1\.1\./);
    now = 1_501;
    expect((await secrets.seal('f', 'wh_1', { current: OLD })).sealedSecret).toMatch(/^v1\.2\./);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('keeps sealing with the cached ring when a refresh fails, but fails a cold load', async () => {
    let now = 0;
    const keys = new SealingKeys(client, TEST_SEALING_KEY_ARN, { now: () => now, sealingKeyMaxAgeMs: 1_000 });
    await store(keys).seal('f', 'wh_1', { current: OLD });
    sm.on(GetSecretValueCommand).rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
    now = 5_000;
    expect((await store(keys).seal('f', 'wh_1', { current: OLD })).sealedSecret).toMatch(/^v1\.1\./);
    await expect(store().seal('f', 'wh_1', { current: OLD })).rejects.toThrow('slow down');
  });

  it('passes a Secrets Manager fault through as a transient error (the message comes back), and retries next time', async () => {
    sm.on(GetSecretValueCommand).rejectsOnce(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
    const secrets = store();
    const error = await secrets.get(record('wh_1')).catch((caught: unknown) => caught);
    expect((error as Error).name).toBe('ThrottlingException');
    expect(error).not.toBeInstanceOf(PermanentError);
    sm.on(GetSecretValueCommand).callsFake(async () => ({ SecretString: formatKeyRing(ring) }));
    expect((await secrets.get(record('wh_1'))).current).toBe(TEST_SIGNING_SECRET);
  });

  it('serves inbound credentials from the same cached ring: one load for both', async () => {
    const keys = new SealingKeys(client, TEST_SEALING_KEY_ARN);
    const sealer = keyRingSealer(keys);
    await store(keys).get(record('wh_1'));
    expect(await sealer.open(await sealer.seal('{"current":{}}', 'fleet-a\0src'), 'fleet-a\0src')).toBe('{"current":{}}');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });
});

describe('SigningSecretsLoader (the dispatcher)', () => {
  it('signs with both secrets during the grace period, then the current one only', async () => {
    const loader = new SigningSecretsLoader(store());
    const rotated = record('wh_1', TEST_KEY_RING, { current: TEST_SIGNING_SECRET, previous: OLD, previousExpiresAt: '2030-01-02T00:00:00.000Z' });
    expect(await loader.load(rotated, AT)).toEqual([TEST_SIGNING_SECRET, OLD]);
    expect(await loader.load(rotated, new Date('2030-01-02T00:00:00.000Z'))).toEqual([TEST_SIGNING_SECRET]);
  });

  it('turns an altered or misplaced sealed secret into a PermanentError naming the reason', async () => {
    const loader = new SigningSecretsLoader(store());
    const other = record('wh_other');
    await expect(loader.load({ ...other, id: 'wh_1' }, AT)).rejects.toThrow(PermanentError);
    await expect(loader.load({ ...other, id: 'wh_1' }, AT)).rejects.toThrow(/does not authenticate/);
    await expect(loader.load({ ...other, sealedSecret: 'v1.1.garbage' }, AT)).rejects.toThrow(/not a v1 sealed value/);
  });

  it('refuses a sealed value that is not a signing secret as a PermanentError', async () => {
    const loader = new SigningSecretsLoader(store());
    await expect(loader.load(record('wh_1', TEST_KEY_RING, { current: 'not-a-secret' }), AT)).rejects.toThrow(PermanentError);
  });
});
