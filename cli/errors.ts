/** A target (API, instance, table) that cannot be reached or used: exit code 1 with the reason. */
export class TargetError extends Error {
  override name = 'TargetError';
}
