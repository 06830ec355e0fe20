import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SecretSealer } from '../core/inbound/sealer';
import type { DeploymentSettings } from '../core/settings';
import type { TokenRecord } from '../core/records';
import type { DeliveriesStorePort } from '../shared/deliveries-store';
import type { DeliveryLog } from '../shared/delivery-log';
import type { EventLog } from '../shared/event-log';
import type { EventsStorePort } from '../shared/events-store';
import type { InboundSourcesStore } from '../shared/inbound-sources-store';
import type { SigningSecrets } from '../shared/signing-secrets';
import type { SubscriptionsStorePort } from '../shared/subscriptions-store';
import type { TokenLookup } from './auth';
import type { Resolver } from './endpoint-check';

/** The slice of a Powertools Logger the API uses; tests may pass a capturing one. */
export interface ApiLogger {
  info(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

export interface ResponseInfo {
  /** The route template (`/fleets/{fleetId}/webhooks`), or `unmatched`. */
  route: string;
  method: string;
  statusCode: number;
  latencyMs: number;
}

/** The subscriptions store as the API uses it: the webhook routes' CRUD and rotation, and the reads of other routes. */
export type ApiSubscriptions = Pick<SubscriptionsStorePort, 'create' | 'get' | 'list' | 'update' | 'delete' | 'replaceSecret'>;

/** The deliveries store as the API uses it: a delivery's and a subscription's log, and ending a deleted webhook's pending ones. */
export type ApiDeliveries = Pick<DeliveriesStorePort, 'get' | 'list' | 'endPendingAsDisabled'>;

export interface ApiDeps {
  settings: DeploymentSettings;
  subscriptions: ApiSubscriptions;
  /** Every events store operation: publish, replay, and the reads of an event. */
  events: EventsStorePort;
  deliveries: ApiDeliveries;
  /** Read-only index queries of the console's event and fleet-wide delivery logs. */
  eventLog: EventLog;
  deliveryLog: DeliveryLog;
  /** Token lookups, and writes of console portal sessions (stored like tokens, with an expiry). */
  tokens: TokenLookup & { create(record: TokenRecord): Promise<void> };
  secrets: SigningSecrets;
  sqs: SQSClient;
  queues: { eventsUrl: string; deliveriesUrl: string };
  logger: ApiLogger;
  /** Injectable clock (tests, replay bounds). */
  now?: () => Date;
  /** DNS for subscription URLs; the system resolver by default. */
  resolve?: Resolver;
  /** Revocation bound of the token cache, see auth.ts. */
  tokenCacheTtlMs?: number;
  /** Pages of the by-time index a replay request handles before continuing through the queue. */
  replayMaxPages?: number;
  replayPageSize?: number;
  /** Called once per response (metrics). */
  onResponse?: (info: ResponseInfo) => void;
  /**
   * Inbound webhook sources: their store and the sealer of their secrets. The deployed and local
   * wiring always provide them; without them the inbound routes are not served.
   */
  inbound?: InboundDeps;
}

export interface InboundDeps {
  sources: InboundSourcesStore;
  sealer: SecretSealer;
  /** Counts a refused or accepted ingest by provider and outcome (metrics); the reason goes to the logs. */
  onIngest?: (info: { provider: string; outcome: string }) => void;
}

/** What route modules receive: the deps with defaults applied and the URL checker built. */
export interface RouteDeps extends Omit<ApiDeps, 'now' | 'resolve'> {
  now: () => Date;
  checkUrl: (raw: string, field?: string) => Promise<URL>;
}
