import { newSubscriptionId } from '../../../lambdas/core/ids';
import type { SigningSecretValue, SubscriptionRecord } from '../../../lambdas/core/records';
import { generateSigningSecret } from '../../../lambdas/core/secrets';
import type { SigningSecrets } from '../../../lambdas/shared/signing-secrets';
import type { SubscriptionsStore } from '../../../lambdas/shared/subscriptions-store';

/**
 * Stores a subscription the way the API does (secret first, then the record naming its version) but
 * without the API's URL check: how a test plants a URL the API would refuse, to prove the
 * dispatcher refuses it on its own.
 */
export async function storeSubscription(
  stores: { subscriptions: SubscriptionsStore; secrets: SigningSecrets },
  fields: Partial<SubscriptionRecord> & { fleetId: string; url: string },
): Promise<{ subscription: SubscriptionRecord; secret: SigningSecretValue }> {
  const id = newSubscriptionId();
  const secret: SigningSecretValue = { current: generateSigningSecret() };
  const stored = await stores.secrets.create(fields.fleetId, id, secret);
  const now = new Date().toISOString();
  const subscription: SubscriptionRecord = {
    id,
    enabled: true,
    secretArn: stored.arn,
    secretVersion: stored.versionId,
    createdAt: now,
    updatedAt: now,
    ...fields,
  };
  await stores.subscriptions.create(subscription);
  return { subscription, secret };
}

/** Polls until `check` returns a value; fails naming `what` after the timeout. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
