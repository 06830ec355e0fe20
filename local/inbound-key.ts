import { randomBytes } from 'node:crypto';
import { CreateSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** The secret that keys the sealing of inbound source credentials: `<secret prefix>inbound-key`. */
export function inboundKeySecretName(secretPrefix: string): string {
  return `${secretPrefix}inbound-key`;
}

/**
 * Creates the inbound key secret in the Secrets Manager stand-in unless a kept data directory
 * already has it (then the sealed credentials stored with it still open). 48 random bytes, so the
 * derived AES-256 key has full strength, as the construct's generated 64-character one does.
 */
export async function ensureInboundKey(client: SecretsManagerClient, name: string): Promise<void> {
  try {
    await client.send(
      new CreateSecretCommand({
        Name: name,
        Description: 'Hookline: key that seals inbound webhook source credentials',
        SecretString: randomBytes(48).toString('base64url'),
      }),
    );
  } catch (error) {
    if (!(error instanceof Error && error.name === 'ResourceExistsException')) throw error;
  }
}
