import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { MalformedSecretError } from '../core/errors';
import type { SigningSecretValue } from '../core/records';

export interface StoredSecret {
  arn: string;
  versionId: string;
}

/** Days Secrets Manager keeps a deleted subscription's secret recoverable. */
export const SECRET_RECOVERY_WINDOW_DAYS = 7;

/**
 * Signing secrets in Secrets Manager, one secret per subscription under the deployment's prefix.
 * Values are cached by (ARN, version): a version's value never changes, so the cache is never stale,
 * and a rotation (new version on the subscription) is picked up by the very next read.
 */
export class SigningSecrets {
  private readonly cache = new Map<string, SigningSecretValue>();

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly namePrefix: string,
    private readonly cacheSize = 1_000,
  ) {}

  /**
   * Secret names allow only letters, digits and `/_+=.@-`; fleet ids may also hold `:`. It is written
   * `=3A`, which no fleet id can contain (no `=`), so the name stays unique per fleet.
   */
  nameFor(fleetId: string, subscriptionId: string): string {
    return `${this.namePrefix}${fleetId.replaceAll(':', '=3A')}/${subscriptionId}`;
  }

  async create(fleetId: string, subscriptionId: string, value: SigningSecretValue): Promise<StoredSecret> {
    const result = await this.client.send(
      new CreateSecretCommand({
        Name: this.nameFor(fleetId, subscriptionId),
        Description: `Hookline signing secret of subscription ${subscriptionId} (fleet ${fleetId})`,
        SecretString: JSON.stringify(value),
        Tags: [
          { Key: 'hookline:fleet', Value: fleetId },
          { Key: 'hookline:subscription', Value: subscriptionId },
        ],
      }),
    );
    return { arn: required(result.ARN, 'ARN'), versionId: required(result.VersionId, 'VersionId') };
  }

  /** Writes a new version; returns its id. */
  async put(arn: string, value: SigningSecretValue): Promise<string> {
    const result = await this.client.send(
      new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify(value) }),
    );
    const versionId = required(result.VersionId, 'VersionId');
    this.remember(arn, versionId, value);
    return versionId;
  }

  async get(arn: string, versionId: string): Promise<SigningSecretValue> {
    const key = cacheKey(arn, versionId);
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const result = await this.client.send(new GetSecretValueCommand({ SecretId: arn, VersionId: versionId }));
    const value = parseSecretValue(arn, result.SecretString);
    this.remember(arn, versionId, value);
    return value;
  }

  async delete(arn: string): Promise<void> {
    await this.client.send(
      new DeleteSecretCommand({ SecretId: arn, RecoveryWindowInDays: SECRET_RECOVERY_WINDOW_DAYS }),
    );
  }

  private remember(arn: string, versionId: string, value: SigningSecretValue): void {
    if (this.cache.size >= this.cacheSize) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(cacheKey(arn, versionId), value);
  }
}

function cacheKey(arn: string, versionId: string): string {
  return `${arn}\n${versionId}`;
}

function required(value: string | undefined, field: string): string {
  if (value === undefined || value === '') throw new Error(`Secrets Manager returned no ${field}`);
  return value;
}

function parseSecretValue(arn: string, raw: string | undefined): SigningSecretValue {
  try {
    const value = JSON.parse(raw ?? '') as Partial<SigningSecretValue>;
    if (typeof value.current === 'string' && value.current.startsWith('whsec_')) {
      return {
        current: value.current,
        ...(typeof value.previous === 'string' ? { previous: value.previous } : {}),
        ...(typeof value.previousExpiresAt === 'string' ? { previousExpiresAt: value.previousExpiresAt } : {}),
      };
    }
  } catch {
    // not JSON: reported below
  }
  // A poison delivery, not a transient fault; the value itself is never echoed.
  throw new MalformedSecretError(`signing secret ${arn} does not hold a Hookline signing secret`);
}
