import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SigningSecretValue } from '../../lambdas/core/records';
import { formatKeyRing, sealSigningSecrets, type KeyRing, type SealedSigningSecrets } from '../../lambdas/core/sealed-secrets';
import { SealingKeys } from '../../lambdas/shared/sealing-keys';
import { SigningSecrets } from '../../lambdas/shared/signing-secrets';

/** A fixed key ring for tests: version 1, a constant key. */
export const TEST_KEY_RING: KeyRing = { current: 1, keys: new Map([[1, Buffer.alloc(32, 7)]]) };
export const TEST_KEY_RING_JSON = formatKeyRing(TEST_KEY_RING);
export const TEST_SEALING_KEY_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:hookline/test/sealing-key-AbCdEf';
/** The signing secret test subscriptions get unless a test seals another. */
export const TEST_SIGNING_SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;

/** The sealed fields of a subscription holding `value` (by default {@link TEST_SIGNING_SECRET}). */
export function sealedSecrets(
  fleetId: string,
  id: string,
  value: SigningSecretValue = { current: TEST_SIGNING_SECRET },
  ring: KeyRing = TEST_KEY_RING,
): SealedSigningSecrets {
  return sealSigningSecrets(ring, fleetId, id, value);
}

/** The store a handler gets, reading the key ring secret `secretId` through `client`. */
export function testSigningSecrets(client: SecretsManagerClient, secretId = TEST_SEALING_KEY_ARN): SigningSecrets {
  return new SigningSecrets(new SealingKeys(client, secretId));
}
