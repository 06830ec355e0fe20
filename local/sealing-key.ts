import { CreateSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { formatKeyRing, generateKeyRing } from '../lambdas/core/sealed-secrets';

/** The deployment's one secret, as the construct names it: `<secret prefix>sealing-key`. */
export function sealingKeySecretName(secretPrefix: string): string {
  return `${secretPrefix}sealing-key`;
}

/**
 * Creates the key ring secret in the Secrets Manager stand-in, as the construct does (one random
 * 256-bit key, version 1), unless a kept data directory already has it: then the secrets sealed
 * under it on the kept tables still open.
 */
export async function ensureSealingKey(client: SecretsManagerClient, name: string): Promise<void> {
  try {
    await client.send(
      new CreateSecretCommand({
        Name: name,
        Description: 'Hookline key ring: seals every signing secret and inbound credential (AES-256-GCM)',
        SecretString: formatKeyRing(generateKeyRing()),
      }),
    );
  } catch (error) {
    if (!(error instanceof Error && error.name === 'ResourceExistsException')) throw error;
  }
}
