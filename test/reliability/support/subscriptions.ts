import type { SigningSecretValue, SubscriptionRecord } from '../../../lambdas/core/records';
import type { SigningSecrets } from '../../../lambdas/shared/signing-secrets';
import type { SubscriptionsStore } from '../../../lambdas/shared/subscriptions-store';
import { createSubscription, waitFor as pollUntil } from '../../integration/pipeline-helpers';

/**
 * Stores a subscription the way the API does (secret first, then the record naming its version) but
 * without the API's URL check: how a test plants a URL the API would refuse, to prove the
 * dispatcher refuses it on its own.
 */
export async function storeSubscription(
  stores: { subscriptions: SubscriptionsStore; secrets: SigningSecrets },
  fields: Partial<SubscriptionRecord> & { fleetId: string; url: string },
): Promise<{ subscription: SubscriptionRecord; secret: SigningSecretValue }> {
  return createSubscription(stores, fields);
}

/** Polls until `check` returns a value; fails naming `what` after the timeout (longer here: fault cases wait out real delays). */
export function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  return pollUntil(what, check, timeoutMs);
}
