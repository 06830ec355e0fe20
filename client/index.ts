/**
 * Hookline's developer package: a typed API client generated from the OpenAPI document
 * (`npm run gen:client` writes api-types.ts), and `verify()` for receivers of Hookline deliveries.
 */
import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, paths } from './api-types';

export * from './verify';
export type { components, paths, webhooks } from './api-types';

type Schemas = components['schemas'];
export type Webhook = Schemas['Webhook'];
export type WebhookWithSecret = Schemas['WebhookWithSecret'];
export type CreateWebhookRequest = Schemas['CreateWebhookRequest'];
export type UpdateWebhookRequest = Schemas['UpdateWebhookRequest'];
export type Delivery = Schemas['Delivery'];
export type DeliverySummary = Schemas['DeliverySummary'];
export type DeliveryStatus = Schemas['DeliveryStatus'];
export type DeliveryPayload = Schemas['DeliveryPayload'];
export type PublishEventRequest = Schemas['PublishEventRequest'];
export type ApiErrorBody = Schemas['Error'];

export type HooklineClient = Client<paths>;

export interface HooklineClientOptions extends Omit<ClientOptions, 'baseUrl'> {
  /** The API's base URL: the stack's ApiUrl output (…/v1) or local mode's http://127.0.0.1:8787. */
  baseUrl: string;
  /** A Hookline API token, sent as `Authorization: Bearer <token>`. */
  token: string;
}

/**
 * A typed client of every route: `client.GET('/fleets/{fleetId}/webhooks', { params: { path: { fleetId } } })`
 * answers `{ data }` on success or `{ error }` (the API's `{error: {code, message, details}}`) otherwise.
 */
export function createHooklineClient(options: HooklineClientOptions): HooklineClient {
  const { token, baseUrl, headers, ...rest } = options;
  return createClient<paths>({
    ...rest,
    baseUrl: baseUrl.replace(/\/+$/, ''),
    headers: { ...(headers as Record<string, string> | undefined), authorization: `Bearer ${token}` },
  });
}
