import { AwsServiceError, type AwsJsonInput } from './aws-json-server';

/**
 * Readers for members of an AWS JSON request. A missing required member or a value of the wrong
 * type is a `ValidationException`, as AWS reports model constraint violations.
 */

function invalid(member: string, reason: string): AwsServiceError {
  return new AwsServiceError('ValidationException', `1 validation error detected: Value at '${member}' failed to satisfy constraint: ${reason}`);
}

export function optionalString(input: AwsJsonInput, member: string): string | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(member, 'Member must be a string');
  return value;
}

export function requiredString(input: AwsJsonInput, member: string): string {
  const value = optionalString(input, member);
  if (value === undefined) throw invalid(member, 'Member must not be null');
  return value;
}

export function optionalNumber(input: AwsJsonInput, member: string): number | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(member, 'Member must be a number');
  return value;
}

export function optionalBoolean(input: AwsJsonInput, member: string): boolean | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalid(member, 'Member must be a boolean');
  return value;
}

export function optionalStringList(input: AwsJsonInput, member: string): string[] | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw invalid(member, 'Member must be a list of strings');
  }
  return value as string[];
}

/** A list of objects; each element is handed back as an input of its own. */
export function optionalObjectList(input: AwsJsonInput, member: string): AwsJsonInput[] | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'object' && item !== null && !Array.isArray(item))) {
    throw invalid(member, 'Member must be a list of structures');
  }
  return value as AwsJsonInput[];
}

export function checkLength(member: string, value: string, min: number, max: number): void {
  if (value.length < min) throw invalid(member, `Member must have length greater than or equal to ${min}`);
  if (value.length > max) throw invalid(member, `Member must have length less than or equal to ${max}`);
}
