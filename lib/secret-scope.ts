import { Names, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Signing-secret scopes of the WebhookServices of one stack. Every secrets permission is the ARN
 * pattern `secret:<prefix>*`, so a prefix that starts another service's prefix would let it read
 * and delete that service's secrets; two services in one stack must never overlap.
 */
const scopesByStack = new WeakMap<Stack, { path: string; prefix: string }[]>();

/**
 * `hookline/<stackName>/<unique construct name>/`: the stack name keeps deployments of the same
 * app apart, the construct name keeps two services of one stack apart. (In a nested stack the
 * stack name is a token resolved by CloudFormation; that is fine in an ARN and an environment variable.)
 */
export function defaultSecretPrefix(service: IConstruct): string {
  const unique = Names.uniqueResourceName(service, { maxLength: 64, separator: '-' });
  return `hookline/${Stack.of(service).stackName}/${unique}/`;
}

/** Records `prefix` for `service`, throwing when it overlaps another service's in the same stack. */
export function claimSecretScope(service: IConstruct, prefix: string): void {
  const stack = Stack.of(service);
  const claimed = scopesByStack.get(stack) ?? [];
  for (const other of claimed) {
    if (prefix.startsWith(other.prefix) || other.prefix.startsWith(prefix)) {
      throw new Error(
        `Invalid WebhookService props: secretPrefix: "${prefix}" of ${service.node.path} overlaps "${other.prefix}" of ` +
          `${other.path}; each service's signing secrets must have a prefix no other service's starts with`,
      );
    }
  }
  claimed.push({ path: service.node.path, prefix });
  scopesByStack.set(stack, claimed);
}
