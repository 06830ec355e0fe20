/** True for DynamoDB's ConditionalCheckFailedException, however the SDK surfaced it. */
export function isConditionalCheckFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}
