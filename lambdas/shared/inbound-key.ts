import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AesGcmSealer, type SecretSealer } from '../core/inbound/sealer';

/**
 * The sealer of inbound source secrets, keyed by one Secrets Manager secret (created by the
 * construct, and by local mode, as `<secret prefix>inbound-key`). Loaded on first use and kept for
 * the life of the container: after a cold start no request pays a Secrets Manager call. A failed
 * load is not cached, so the next request tries again.
 */
export function secretsManagerSealer(client: SecretsManagerClient, secretId: string): SecretSealer {
  let loading: Promise<AesGcmSealer> | undefined;
  const load = (): Promise<AesGcmSealer> => {
    loading ??= client
      .send(new GetSecretValueCommand({ SecretId: secretId }))
      .then((result) => {
        if (typeof result.SecretString !== 'string') throw new Error(`secret ${secretId} has no SecretString`);
        return AesGcmSealer.fromSecretString(result.SecretString);
      })
      .catch((error: unknown) => {
        loading = undefined;
        throw error;
      });
    return loading;
  };
  return {
    seal: async (plaintext, aad) => (await load()).seal(plaintext, aad),
    open: async (sealed, aad) => (await load()).open(sealed, aad),
  };
}
