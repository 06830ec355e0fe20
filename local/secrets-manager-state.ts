import { randomInt, randomUUID } from 'node:crypto';
import { LOCAL_ACCOUNT_ID } from './account';
import { AwsServiceError, type AwsJsonInput } from './aws-json-server';
import {
  checkLength,
  optionalBoolean,
  optionalNumber,
  optionalObjectList,
  optionalString,
  optionalStringList,
  requiredString,
} from './aws-input';

/** Secrets Manager's operations over in-memory state, with AWS's rules, shapes and error types. */

const CURRENT = 'AWSCURRENT';
const PREVIOUS = 'AWSPREVIOUS';

/** Secrets Manager keeps this many versions, dropping the oldest unlabelled (deprecated) ones. */
const MAX_VERSIONS = 100;
const MAX_SECRET_STRING = 65_536;
const NAME_PATTERN = /^[A-Za-z0-9/_+=.@-]+$/;
const ARN_SUFFIX_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const DAY_MS = 86_400_000;

export interface SecretVersion {
  versionId: string;
  secretString: string;
  stages: string[];
  createdAt: number;
}

export interface SecretTag {
  Key: string;
  Value: string;
}

export interface SecretEntry {
  arn: string;
  name: string;
  description?: string;
  tags: SecretTag[];
  createdAt: number;
  lastChangedAt: number;
  /** When DeleteSecret was called; the secret is unusable until restored. */
  deletedAt?: number;
  /** When the secret disappears for good unless restored. */
  purgeAt?: number;
  /** Oldest first. */
  versions: SecretVersion[];
}

/** Epoch seconds: how the JSON protocol carries timestamps. */
const seconds = (ms: number): number => ms / 1000;

/** What DescribeSecret and ListSecrets both say of a secret: its names, description and dates. */
function secretSummary(entry: SecretEntry) {
  return {
    ARN: entry.arn,
    Name: entry.name,
    ...(entry.description === undefined ? {} : { Description: entry.description }),
    CreatedDate: seconds(entry.createdAt),
    LastChangedDate: seconds(entry.lastChangedAt),
    ...(entry.deletedAt === undefined ? {} : { DeletedDate: seconds(entry.deletedAt) }),
  };
}

export class SecretsManagerState {
  private readonly secrets = new Map<string, SecretEntry>();

  constructor(
    private readonly region: string,
    entries: readonly SecretEntry[] = [],
    private readonly now: () => number = Date.now,
  ) {
    for (const entry of entries) this.secrets.set(entry.arn, entry);
  }

  /** Every live secret, for persistence; secrets past their recovery window are gone. */
  snapshot(): SecretEntry[] {
    this.purgeExpired();
    return [...this.secrets.values()];
  }

  createSecret(input: AwsJsonInput): unknown {
    const name = requiredString(input, 'Name');
    checkLength('Name', name, 1, 512);
    if (!NAME_PATTERN.test(name)) {
      throw new AwsServiceError('ValidationException', 'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!');
    }
    const value = readSecretString(input);
    const token = readToken(input);
    const description = optionalString(input, 'Description');
    const tags = readTags(input);

    const existing = this.byName(name);
    if (existing !== undefined) {
      if (existing.deletedAt !== undefined) {
        throw new AwsServiceError('InvalidRequestException', "You can't create this secret because a secret with this name is already scheduled for deletion.");
      }
      const retried = existing.versions.find((version) => version.versionId === token);
      if (value !== undefined && retried !== undefined && retried.secretString === value) {
        return { ARN: existing.arn, Name: existing.name, VersionId: retried.versionId };
      }
      throw new AwsServiceError('ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
    }

    const at = this.now();
    const entry: SecretEntry = {
      arn: `arn:aws:secretsmanager:${this.region}:${LOCAL_ACCOUNT_ID}:secret:${name}-${randomSuffix()}`,
      name,
      ...(description === undefined ? {} : { description }),
      tags,
      createdAt: at,
      lastChangedAt: at,
      versions: [],
    };
    if (value !== undefined) entry.versions.push({ versionId: token, secretString: value, stages: [CURRENT], createdAt: at });
    this.secrets.set(entry.arn, entry);
    return { ARN: entry.arn, Name: entry.name, ...(value === undefined ? {} : { VersionId: token }) };
  }

  getSecretValue(input: AwsJsonInput): unknown {
    const entry = this.usable(this.find(input));
    const versionId = optionalString(input, 'VersionId');
    const stage = optionalString(input, 'VersionStage');
    let version: SecretVersion | undefined;
    if (versionId !== undefined) {
      version = entry.versions.find((candidate) => candidate.versionId === versionId);
      if (version === undefined) throw valueNotFound(`VersionId: ${versionId}`);
      if (stage !== undefined && !version.stages.includes(stage)) throw valueNotFound(`staging label: ${stage}`);
    } else {
      const label = stage ?? CURRENT;
      version = entry.versions.find((candidate) => candidate.stages.includes(label));
      if (version === undefined) throw valueNotFound(`staging label: ${label}`);
    }
    return {
      ARN: entry.arn,
      Name: entry.name,
      VersionId: version.versionId,
      SecretString: version.secretString,
      VersionStages: [...version.stages],
      CreatedDate: seconds(version.createdAt),
    };
  }

  putSecretValue(input: AwsJsonInput): unknown {
    const entry = this.usable(this.find(input));
    const value = readSecretString(input);
    if (value === undefined) {
      throw new AwsServiceError('InvalidParameterException', 'You must provide either SecretString or SecretBinary.');
    }
    const token = readToken(input);
    const stages = optionalStringList(input, 'VersionStages') ?? [CURRENT];

    const existing = entry.versions.find((version) => version.versionId === token);
    if (existing !== undefined) {
      if (existing.secretString !== value) {
        throw new AwsServiceError('ResourceExistsException', "You can't modify an existing version, you can only create new versions.");
      }
      return { ARN: entry.arn, Name: entry.name, VersionId: existing.versionId, VersionStages: [...existing.stages] };
    }

    const at = this.now();
    const version: SecretVersion = { versionId: token, secretString: value, stages: [], createdAt: at };
    entry.versions.push(version);
    for (const stage of stages) moveStage(entry, stage, version);
    dropDeprecatedVersions(entry);
    entry.lastChangedAt = at;
    return { ARN: entry.arn, Name: entry.name, VersionId: version.versionId, VersionStages: [...version.stages] };
  }

  deleteSecret(input: AwsJsonInput): unknown {
    const entry = this.find(input);
    const force = optionalBoolean(input, 'ForceDeleteWithoutRecovery') ?? false;
    const window = optionalNumber(input, 'RecoveryWindowInDays');
    if (force && window !== undefined) {
      throw new AwsServiceError('InvalidParameterException', "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
    }
    if (window !== undefined && (!Number.isInteger(window) || window < 7 || window > 30)) {
      throw new AwsServiceError('InvalidParameterException', 'The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).');
    }
    const at = this.now();
    if (force) {
      this.secrets.delete(entry.arn);
      return { ARN: entry.arn, Name: entry.name, DeletionDate: seconds(at) };
    }
    if (entry.deletedAt !== undefined) {
      throw new AwsServiceError('InvalidRequestException', "You can't perform this operation on the secret because it was already scheduled for deletion.");
    }
    entry.deletedAt = at;
    entry.purgeAt = at + (window ?? 30) * DAY_MS;
    entry.lastChangedAt = at;
    return { ARN: entry.arn, Name: entry.name, DeletionDate: seconds(entry.purgeAt) };
  }

  restoreSecret(input: AwsJsonInput): unknown {
    const entry = this.find(input);
    delete entry.deletedAt;
    delete entry.purgeAt;
    entry.lastChangedAt = this.now();
    return { ARN: entry.arn, Name: entry.name };
  }

  describeSecret(input: AwsJsonInput): unknown {
    const entry = this.find(input);
    const versionIdsToStages: Record<string, string[]> = {};
    for (const version of entry.versions) {
      if (version.stages.length > 0) versionIdsToStages[version.versionId] = [...version.stages];
    }
    return {
      ...secretSummary(entry),
      ...(entry.tags.length === 0 ? {} : { Tags: entry.tags.map((tag) => ({ ...tag })) }),
      VersionIdsToStages: versionIdsToStages,
    };
  }

  /**
   * ListSecrets: secrets by name, `MaxResults` (1-100) per page with an opaque `NextToken`. Secrets
   * scheduled for deletion are listed only with `IncludePlannedDeletion`, as AWS does. Filters are
   * not supported. (The benchmark and tests count secrets with it: one per deployment.)
   */
  listSecrets(input: AwsJsonInput): unknown {
    this.purgeExpired();
    const limit = optionalNumber(input, 'MaxResults') ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      throw new AwsServiceError('InvalidParameterException', 'MaxResults must be an integer from 1 to 100.');
    }
    const token = optionalString(input, 'NextToken');
    const start = token === undefined ? 0 : Number(Buffer.from(token, 'base64url').toString('utf8'));
    if (!Number.isInteger(start) || start < 0) throw new AwsServiceError('InvalidNextTokenException', 'The NextToken is not valid.');
    if (input.Filters !== undefined) throw new AwsServiceError('InvalidParameterException', 'Filters are not supported by the local Secrets Manager.');
    const includeDeleted = optionalBoolean(input, 'IncludePlannedDeletion') ?? false;
    const all = [...this.secrets.values()]
      .filter((entry) => includeDeleted || entry.deletedAt === undefined)
      .sort((a, b) => a.name.localeCompare(b.name));
    const page = all.slice(start, start + limit);
    return {
      SecretList: page.map(secretSummary),
      ...(start + limit < all.length ? { NextToken: Buffer.from(String(start + limit), 'utf8').toString('base64url') } : {}),
    };
  }

  /** Resolves `SecretId`: a name, a full ARN, or a partial ARN without the random suffix. */
  private find(input: AwsJsonInput): SecretEntry {
    const id = requiredString(input, 'SecretId');
    checkLength('SecretId', id, 1, 2048);
    this.purgeExpired();
    const entry = id.startsWith('arn:')
      ? (this.secrets.get(id) ?? [...this.secrets.values()].find((candidate) => withoutSuffix(candidate.arn) === id))
      : this.byName(id);
    if (entry === undefined) throw new AwsServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return entry;
  }

  private byName(name: string): SecretEntry | undefined {
    this.purgeExpired();
    return [...this.secrets.values()].find((entry) => entry.name === name);
  }

  private usable(entry: SecretEntry): SecretEntry {
    if (entry.deletedAt !== undefined) {
      throw new AwsServiceError('InvalidRequestException', "You can't perform this operation on the secret because it was marked for deletion.");
    }
    return entry;
  }

  private purgeExpired(): void {
    const at = this.now();
    for (const [arn, entry] of this.secrets) {
      if (entry.purgeAt !== undefined && entry.purgeAt <= at) this.secrets.delete(arn);
    }
  }
}

function readSecretString(input: AwsJsonInput): string | undefined {
  if (input.SecretBinary !== undefined && input.SecretBinary !== null) {
    throw new AwsServiceError('InvalidParameterException', 'SecretBinary is not supported by the local Secrets Manager; use SecretString.');
  }
  const value = optionalString(input, 'SecretString');
  if (value !== undefined) checkLength('SecretString', value, 1, MAX_SECRET_STRING);
  return value;
}

/** The SDK always sends an idempotency token; a raw request without one gets a fresh UUID, as AWS requires of callers. */
function readToken(input: AwsJsonInput): string {
  const token = optionalString(input, 'ClientRequestToken');
  if (token === undefined) return randomUUID();
  checkLength('ClientRequestToken', token, 32, 64);
  return token;
}

function readTags(input: AwsJsonInput): SecretTag[] {
  return (optionalObjectList(input, 'Tags') ?? []).map((tag) => ({
    Key: requiredString(tag, 'Key'),
    Value: optionalString(tag, 'Value') ?? '',
  }));
}

/** Attaches `stage` to `target` only; moving AWSCURRENT labels the version that had it AWSPREVIOUS. */
function moveStage(entry: SecretEntry, stage: string, target: SecretVersion): void {
  const holder = entry.versions.find((version) => version !== target && version.stages.includes(stage));
  if (holder !== undefined) {
    holder.stages = holder.stages.filter((label) => label !== stage);
    if (stage === CURRENT) moveStage(entry, PREVIOUS, holder);
  }
  if (!target.stages.includes(stage)) target.stages.push(stage);
}

function dropDeprecatedVersions(entry: SecretEntry): void {
  while (entry.versions.length > MAX_VERSIONS) {
    const index = entry.versions.findIndex((version) => version.stages.length === 0);
    if (index === -1) return;
    entry.versions.splice(index, 1);
  }
}

function valueNotFound(what: string): AwsServiceError {
  return new AwsServiceError('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for ${what}`);
}

function randomSuffix(): string {
  let suffix = '';
  for (let i = 0; i < 6; i += 1) suffix += ARN_SUFFIX_CHARS[randomInt(ARN_SUFFIX_CHARS.length)];
  return suffix;
}

function withoutSuffix(arn: string): string {
  return arn.slice(0, -'-xxxxxx'.length);
}
