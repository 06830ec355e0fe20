/**
 * Hookline's own events about endpoints and deliveries, published to the deployment's bus so that
 * operators can route them with an EventBridge rule (alerting, a ticket, a Slack message).
 * `detail-type` is `hookline.<type>`; `source` is the deployment's event source plus `.operator`.
 */
export type OperatorEventType = 'circuit.opened' | 'circuit.closed' | 'subscription.disabled' | 'delivery.exhausted';

/** The `detail`: ids, a reason and times — never a secret or a payload. */
export interface OperatorEventDetail {
  fleetId: string;
  webhookId: string;
  deliveryId?: string;
  eventType?: string;
  reason?: string;
  consecutiveFailures?: number;
  nextProbeAt?: string;
  at: string;
}
