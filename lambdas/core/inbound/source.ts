import { randomBytes } from 'node:crypto';
import { crockfordBase32 } from '../ids';
import type { Credentials, ProviderId, SourceSettings } from './types';

/** Inbound sources table item (PK id; by-fleet index fleetId + id). */
export interface InboundSourceRecord {
  /** `src_` + 32 Crockford base32 characters: 160 random bits, so ingest URLs cannot be guessed. */
  id: string;
  fleetId: string;
  provider: ProviderId;
  name: string;
  description?: string;
  enabled: boolean;
  settings: SourceSettings;
  /** {@link SourceCredentialValue} as JSON, sealed with the record's {@link credentialsAad}. */
  sealedCredentials: string;
  createdAt: string;
  updatedAt: string;
}

/** What is sealed: the credentials, and the rotated-out ones during their grace period. */
export interface SourceCredentialValue {
  current: Credentials;
  previous?: Credentials;
  previousExpiresAt?: string;
}

const SOURCE_ID = /^src_[0-9A-HJKMNP-TV-Z]{32}$/;
const SOURCE_ID_BYTES = 20;
const HOUR_MS = 3_600_000;

export function newSourceId(): string {
  return `src_${crockfordBase32(randomBytes(SOURCE_ID_BYTES))}`;
}

/** Format check: lets the ingest route answer 404 without a table read for ids never issued. */
export function isSourceId(value: string): boolean {
  return SOURCE_ID.test(value);
}

/** Associated data binding sealed credentials to their source: a copied blob does not open elsewhere. */
export function credentialsAad(fleetId: string, sourceId: string): string {
  return `hookline:inbound-source\0${fleetId}\0${sourceId}`;
}

/** Credential sets to verify with, newest first; the previous set only inside its grace period. */
export function activeCredentials(value: SourceCredentialValue, now: Date): Credentials[] {
  const { current, previous, previousExpiresAt } = value;
  if (previous === undefined || previousExpiresAt === undefined) return [current];
  return now.getTime() < Date.parse(previousExpiresAt) ? [current, previous] : [current];
}

export function rotateCredentials(value: SourceCredentialValue, next: Credentials, now: Date, graceHours: number): SourceCredentialValue {
  if (!(graceHours > 0)) return { current: next };
  return { current: next, previous: value.current, previousExpiresAt: new Date(now.getTime() + graceHours * HOUR_MS).toISOString() };
}

export function parseCredentialValue(json: string): SourceCredentialValue {
  const value = JSON.parse(json) as SourceCredentialValue;
  if (typeof value !== 'object' || value === null || typeof value.current !== 'object' || value.current === null) {
    throw new Error('sealed credentials hold no current set');
  }
  return value;
}
