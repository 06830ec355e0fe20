import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addKeyVersion, formatKeyRing } from '../../lambdas/core/sealed-secrets';
import { SealingKeys } from '../../lambdas/shared/sealing-keys';
import { SigningSecrets } from '../../lambdas/shared/signing-secrets';
import { TEST_KEY_RING } from '../support/sealing-key';
import { startSecretsManager, type SecretsManagerStandIn } from '../../local/secrets-manager';
import { localClientConfig, temporaryDirectory } from './local-support';

const TOKEN_A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const TOKEN_B = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
const TOKEN_C = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc';

let directory: Awaited<ReturnType<typeof temporaryDirectory>>;
let filePath: string;
let server: SecretsManagerStandIn;
let client: SecretsManagerClient;

async function open(): Promise<void> {
  server = await startSecretsManager({ region: 'eu-west-1', filePath });
  client = new SecretsManagerClient({ ...localClientConfig(server.endpoint), region: 'eu-west-1' });
}

async function close(): Promise<void> {
  client?.destroy();
  await server?.close();
}

beforeAll(async () => {
  directory = await temporaryDirectory();
  filePath = join(directory.path, 'secrets.json');
  await open();
});

afterAll(async () => {
  await close();
  await directory?.remove();
});

/** The AWS error a call fails with: its type (the SDK error name) and HTTP status. */
async function failure(promise: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error('expected the call to fail');
}

describe('local Secrets Manager', () => {
  it('creates a secret and reads it by name, ARN and partial ARN', async () => {
    const created = await client.send(
      new CreateSecretCommand({
        Name: 'hookline/test/fleet-1/wh_1',
        SecretString: '{"current":"one"}',
        ClientRequestToken: TOKEN_A,
        Description: 'first',
        Tags: [{ Key: 'hookline:fleet', Value: 'fleet-1' }],
      }),
    );
    expect(created.ARN).toMatch(/^arn:aws:secretsmanager:eu-west-1:000000000000:secret:hookline\/test\/fleet-1\/wh_1-[A-Za-z0-9]{6}$/);
    expect(created.Name).toBe('hookline/test/fleet-1/wh_1');
    expect(created.VersionId).toBe(TOKEN_A);

    for (const id of [created.Name!, created.ARN!, created.ARN!.slice(0, -7)]) {
      const value = await client.send(new GetSecretValueCommand({ SecretId: id }));
      expect(value).toMatchObject({ ARN: created.ARN, Name: created.Name, VersionId: TOKEN_A, SecretString: '{"current":"one"}', VersionStages: ['AWSCURRENT'] });
      expect(value.CreatedDate).toBeInstanceOf(Date);
      expect(Math.abs(value.CreatedDate!.getTime() - Date.now())).toBeLessThan(60_000);
    }

    const described = await client.send(new DescribeSecretCommand({ SecretId: created.ARN }));
    expect(described).toMatchObject({
      Name: created.Name,
      Description: 'first',
      Tags: [{ Key: 'hookline:fleet', Value: 'fleet-1' }],
      VersionIdsToStages: { [TOKEN_A]: ['AWSCURRENT'] },
    });
    expect(described.DeletedDate).toBeUndefined();
  });

  it('treats a retried CreateSecret as idempotent and a second one as a conflict', async () => {
    const input = { Name: 'retried', SecretString: 'v', ClientRequestToken: TOKEN_A };
    const first = await client.send(new CreateSecretCommand(input));
    const retry = await client.send(new CreateSecretCommand(input));
    expect(retry).toMatchObject({ ARN: first.ARN, VersionId: TOKEN_A });
    expect(await failure(client.send(new CreateSecretCommand({ ...input, SecretString: 'other' })))).toMatchObject({ name: 'ResourceExistsException', status: 400 });
    expect(await failure(client.send(new CreateSecretCommand({ Name: 'retried', SecretString: 'v' })))).toMatchObject({ name: 'ResourceExistsException' });
  });

  it('moves AWSCURRENT on PutSecretValue and keeps the previous version as AWSPREVIOUS', async () => {
    const { ARN: arn } = await client.send(new CreateSecretCommand({ Name: 'rotating', SecretString: 'v1', ClientRequestToken: TOKEN_A }));
    const second = await client.send(new PutSecretValueCommand({ SecretId: arn, SecretString: 'v2', ClientRequestToken: TOKEN_B }));
    expect(second).toMatchObject({ ARN: arn, Name: 'rotating', VersionId: TOKEN_B, VersionStages: ['AWSCURRENT'] });

    expect((await client.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString).toBe('v2');
    expect(await client.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSPREVIOUS' }))).toMatchObject({ SecretString: 'v1', VersionId: TOKEN_A });
    expect((await client.send(new GetSecretValueCommand({ SecretId: arn, VersionId: TOKEN_A }))).VersionStages).toEqual(['AWSPREVIOUS']);

    // A retried put is a no-op; reusing its token for another value is refused.
    expect((await client.send(new PutSecretValueCommand({ SecretId: arn, SecretString: 'v2', ClientRequestToken: TOKEN_B }))).VersionId).toBe(TOKEN_B);
    expect(await failure(client.send(new PutSecretValueCommand({ SecretId: arn, SecretString: 'v9', ClientRequestToken: TOKEN_B })))).toMatchObject({
      name: 'ResourceExistsException',
    });

    const third = await client.send(new PutSecretValueCommand({ SecretId: arn, SecretString: 'v3' }));
    expect(third.VersionId).toMatch(/^[0-9a-f-]{36}$/);
    const described = await client.send(new DescribeSecretCommand({ SecretId: arn }));
    expect(described.VersionIdsToStages).toEqual({ [third.VersionId!]: ['AWSCURRENT'], [TOKEN_B]: ['AWSPREVIOUS'] });
    // The oldest version is deprecated (no label) but still readable by id.
    expect((await client.send(new GetSecretValueCommand({ SecretId: arn, VersionId: TOKEN_A }))).VersionStages).toEqual([]);
    expect(await failure(client.send(new GetSecretValueCommand({ SecretId: arn, VersionId: TOKEN_A, VersionStage: 'AWSCURRENT' })))).toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('reports unknown secrets, versions and labels as ResourceNotFoundException', async () => {
    expect(await failure(client.send(new GetSecretValueCommand({ SecretId: 'missing' })))).toMatchObject({ name: 'ResourceNotFoundException', status: 400 });
    expect(await failure(client.send(new GetSecretValueCommand({ SecretId: 'arn:aws:secretsmanager:eu-west-1:000000000000:secret:missing-abcdef' })))).toMatchObject({
      name: 'ResourceNotFoundException',
    });
    expect(await failure(client.send(new GetSecretValueCommand({ SecretId: 'rotating', VersionId: TOKEN_C })))).toMatchObject({ name: 'ResourceNotFoundException' });
    expect(await failure(client.send(new GetSecretValueCommand({ SecretId: 'rotating', VersionStage: 'AWSPENDING' })))).toMatchObject({ name: 'ResourceNotFoundException' });
    expect(await failure(client.send(new PutSecretValueCommand({ SecretId: 'missing', SecretString: 'x' })))).toMatchObject({ name: 'ResourceNotFoundException' });
    expect(await failure(client.send(new DeleteSecretCommand({ SecretId: 'missing' })))).toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('rejects invalid input with the error types AWS uses', async () => {
    expect(await failure(client.send(new CreateSecretCommand({ Name: 'bad name!', SecretString: 'x' })))).toMatchObject({ name: 'ValidationException', status: 400 });
    expect(await failure(client.send(new CreateSecretCommand({ Name: 'short-token', SecretString: 'x', ClientRequestToken: 'short' })))).toMatchObject({
      name: 'ValidationException',
    });
    expect(await failure(client.send(new DeleteSecretCommand({ SecretId: 'rotating', RecoveryWindowInDays: 3 })))).toMatchObject({ name: 'InvalidParameterException' });
    expect(
      await failure(client.send(new DeleteSecretCommand({ SecretId: 'rotating', RecoveryWindowInDays: 7, ForceDeleteWithoutRecovery: true }))),
    ).toMatchObject({ name: 'InvalidParameterException' });
    expect(await failure(client.send(new PutSecretValueCommand({ SecretId: 'rotating' })))).toMatchObject({ name: 'InvalidParameterException' });
  });

  it('schedules deletion, refuses a deleted secret like AWS, and restores it', async () => {
    const { ARN: arn } = await client.send(new CreateSecretCommand({ Name: 'doomed', SecretString: 'keep me' }));
    const deleted = await client.send(new DeleteSecretCommand({ SecretId: arn, RecoveryWindowInDays: 7 }));
    expect(deleted.ARN).toBe(arn);
    const days = (deleted.DeletionDate!.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.99);
    expect(days).toBeLessThan(7.01);

    expect(await failure(client.send(new GetSecretValueCommand({ SecretId: arn })))).toMatchObject({
      name: 'InvalidRequestException',
      status: 400,
      message: expect.stringContaining('marked for deletion'),
    });
    expect(await failure(client.send(new PutSecretValueCommand({ SecretId: arn, SecretString: 'x' })))).toMatchObject({ name: 'InvalidRequestException' });
    expect(await failure(client.send(new CreateSecretCommand({ Name: 'doomed', SecretString: 'new' })))).toMatchObject({ name: 'InvalidRequestException' });
    expect((await client.send(new DescribeSecretCommand({ SecretId: arn }))).DeletedDate).toBeInstanceOf(Date);

    expect(await client.send(new RestoreSecretCommand({ SecretId: arn }))).toMatchObject({ ARN: arn, Name: 'doomed' });
    expect((await client.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString).toBe('keep me');
    expect((await client.send(new DescribeSecretCommand({ SecretId: arn }))).DeletedDate).toBeUndefined();
  });

  it('deletes at once without recovery, freeing the name', async () => {
    const { ARN: arn } = await client.send(new CreateSecretCommand({ Name: 'gone', SecretString: 'x' }));
    await client.send(new DeleteSecretCommand({ SecretId: arn, ForceDeleteWithoutRecovery: true }));
    expect(await failure(client.send(new GetSecretValueCommand({ SecretId: arn })))).toMatchObject({ name: 'ResourceNotFoundException' });
    const again = await client.send(new CreateSecretCommand({ Name: 'gone', SecretString: 'y' }));
    expect(again.ARN).not.toBe(arn);
  });

  it('serves the key ring the handlers seal signing secrets with, and a key rotation written to it', async () => {
    const { ARN: arn } = await client.send(new CreateSecretCommand({ Name: 'hookline/test/sealing-key', SecretString: formatKeyRing(TEST_KEY_RING) }));
    const secrets = new SigningSecrets(new SealingKeys(client, arn as string));
    const sealed = await secrets.seal('fleet-9', 'wh_9', { current: 'whsec_first' });
    expect(await secrets.get({ fleetId: 'fleet-9', id: 'wh_9', ...sealed })).toEqual({ current: 'whsec_first' });
    const rotatedRing = addKeyVersion(TEST_KEY_RING);
    await client.send(new PutSecretValueCommand({ SecretId: arn, SecretString: formatKeyRing(rotatedRing) }));
    const fresh = new SigningSecrets(new SealingKeys(client, 'hookline/test/sealing-key'));
    const underTwo = await fresh.seal('fleet-9', 'wh_9', { current: 'whsec_second' });
    expect(underTwo.sealedSecret).toMatch(/^v1\.2\./);
    // The first store had cached version 1 only: a value under version 2 makes it read the secret again.
    expect((await secrets.get({ fleetId: 'fleet-9', id: 'wh_9', ...underTwo })).current).toBe('whsec_second');
    expect((await fresh.get({ fleetId: 'fleet-9', id: 'wh_9', ...sealed })).current).toBe('whsec_first');
  });

  it('answers unknown operations and malformed bodies with AWS JSON errors', async () => {
    const post = (target: string, body: string) =>
      fetch(server.endpoint, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target }, body });
    const unknown = await post('secretsmanager.RotateSecret', '{}');
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect((await unknown.json()) as unknown).toMatchObject({ __type: 'UnknownOperationException' });
    const malformed = await post('secretsmanager.GetSecretValue', '{not json');
    expect(malformed.status).toBe(400);
    expect((await malformed.json()) as unknown).toMatchObject({ __type: 'SerializationException' });
    const missing = await post('secretsmanager.GetSecretValue', '{}');
    expect((await missing.json()) as unknown).toMatchObject({ __type: 'ValidationException' });
  });

  it('keeps secrets, versions and scheduled deletions across a restart, in an owner-only file', async () => {
    await client.send(new DeleteSecretCommand({ SecretId: 'retried', RecoveryWindowInDays: 30 }));
    await close();
    expect((await stat(filePath)).mode & 0o777).toBe(0o600);
    await open();

    expect((await client.send(new GetSecretValueCommand({ SecretId: 'rotating' }))).SecretString).toBe('v3');
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'rotating', VersionId: TOKEN_A }))).SecretString).toBe('v1');
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'rotating', VersionStage: 'AWSPREVIOUS' }))).VersionId).toBe(TOKEN_B);
    expect((await client.send(new DescribeSecretCommand({ SecretId: 'hookline/test/fleet-1/wh_1' }))).Tags).toEqual([{ Key: 'hookline:fleet', Value: 'fleet-1' }]);
    expect(await failure(client.send(new GetSecretValueCommand({ SecretId: 'retried' })))).toMatchObject({ name: 'InvalidRequestException' });
    expect(await failure(client.send(new GetSecretValueCommand({ SecretId: 'gone-never-made' })))).toMatchObject({ name: 'ResourceNotFoundException' });
  });
});
