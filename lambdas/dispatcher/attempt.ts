import { buildEnvelope } from '../core/envelope';
import { buildDeliveryHeaders } from '../core/signing';
import type { HttpAttemptResult } from '../shared/http-delivery';
import type { DispatchContext, Turn } from './context';

/**
 * The attempt stage: the signed POST of a claimed turn. What the endpoint answered (or how the
 * request failed) comes back as data; the outcome stage decides what it means.
 */
export async function postAttempt(ctx: DispatchContext, turn: Turn, secrets: string[], at: Date): Promise<HttpAttemptResult> {
  const { deps, settings } = ctx;
  const { message, subscription } = turn;
  const body = buildEnvelope(message.fleetId, message.event);
  const headers = buildDeliveryHeaders({
    deliveryId: message.deliveryId,
    timestamp: Math.floor(at.getTime() / 1000),
    body,
    secrets,
    headerPrefix: settings.signatureHeaderPrefix,
    userAgent: deps.userAgent,
    ...(subscription.headers === undefined ? {} : { customHeaders: subscription.headers }),
  });
  const watch = watchSlowness(ctx, turn);
  try {
    return await deps.http.post({
      url: subscription.url,
      headers,
      body,
      timeoutMs: (subscription.timeoutSeconds ?? settings.attemptTimeoutSeconds) * 1000,
      // Only where the deployment allows it (allowInsecureTls) can a subscription hold false.
      tlsVerify: subscription.tlsVerify !== false,
    });
  } finally {
    await watch.stop();
  }
}

/**
 * Marks the endpoint slow once an attempt has run `slowEndpointMs`, while it still runs: waiting
 * for it to end would let every delivery queued meanwhile start a POST to the slow endpoint, each
 * holding a dispatcher invocation, before the concurrency cap applies.
 */
function watchSlowness(ctx: DispatchContext, turn: Turn): { stop(): Promise<void> } {
  if (turn.subscription.slowSince !== undefined) return { stop: async () => undefined };
  let marking: Promise<void> | undefined;
  const timer = setTimeout(() => {
    marking = markSlow(ctx, turn);
  }, ctx.settings.slowEndpointMs);
  return {
    stop: async () => {
      clearTimeout(timer);
      await marking;
    },
  };
}

async function markSlow(ctx: DispatchContext, turn: Turn): Promise<void> {
  const { subscription } = turn;
  const slowSince = ctx.now().toISOString();
  try {
    await ctx.deps.subscriptions.setSlow(subscription.fleetId, subscription.id, slowSince);
    turn.subscription = { ...subscription, slowSince };
    ctx.cache.update(turn.subscription);
  } catch (error) {
    // The attempt's end marks it instead.
    turn.logger.warn('could not mark the endpoint slow', { error: error instanceof Error ? error.name : String(error) });
  }
}
