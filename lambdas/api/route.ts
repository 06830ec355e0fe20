import * as z from 'zod';
import { ClientError } from '../core/errors';
import type { Principal } from './auth';
import type { ApiRequest, ApiResult } from './http';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** What a 404 on a route talks about; ungranted fleets get exactly the same answer. */
export type ResourceKind = 'fleet' | 'webhook' | 'delivery' | 'event' | 'source';

export interface RouteContext<Q, B> {
  request: ApiRequest;
  /** Decoded path parameters; `fleetId` is already checked against the token. */
  params: Readonly<Record<string, string>>;
  query: Q;
  body: B;
  principal: Principal | undefined;
}

export interface DocumentedResponse {
  status: number;
  description: string;
  schema?: z.ZodType;
}

/**
 * One API route: its documentation and validation come from the same fields, so the OpenAPI
 * document cannot drift from what the handler enforces.
 */
export interface RouteSpec<Q = unknown, B = unknown> {
  method: HttpMethod;
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  /** Routes without a token check (the OpenAPI document, health, the console's static files). */
  public?: boolean;
  /** Left out of the OpenAPI document (the console's static assets). */
  undocumented?: boolean;
  /** Closed to console portal sessions even inside their fleet (minting more sessions). */
  portalDenied?: boolean;
  resource: ResourceKind;
  query?: z.ZodType<Q>;
  /** Absent: the route takes no body, and {@link NO_BODY} is what it accepts. */
  body?: z.ZodType<B>;
  /**
   * The route reads the raw body and any query itself (the inbound ingest route): no generic body
   * limit or query check runs before it, so it can answer an unknown source 404 before a 413.
   */
  raw?: boolean;
  /** Request headers the route reads, documented as parameters. */
  headers?: z.ZodObject;
  responses: DocumentedResponse[];
  handle(context: RouteContext<Q, B>): Promise<ApiResult>;
}

/**
 * What a route without a body accepts: nothing, or `{}`. Anything else is refused before the
 * route acts, so a client who sent `{"graceHours": 0}` to rotate learns it was not honoured
 * instead of getting a rotation it did not ask for.
 */
export const NO_BODY = z.strictObject({}).optional();

/** The schema a route's body is validated with. */
export function bodySchemaOf(route: Pick<RouteSpec, 'body'>): z.ZodType {
  return route.body ?? NO_BODY;
}

/** Erases the generics for the route table while keeping each definition type-checked. */
export function defineRoute<Q = undefined, B = undefined>(spec: RouteSpec<Q, B>): RouteSpec {
  return spec as unknown as RouteSpec;
}

const NOT_FOUND: Record<ResourceKind, () => ClientError> = {
  fleet: () =>
    new ClientError(404, 'not_found', 'Fleet not found.', [{ field: 'fleetId', reason: 'is not a fleet this token can access' }]),
  webhook: () =>
    new ClientError(404, 'not_found', 'Webhook not found.', [{ field: 'id', reason: 'does not name a webhook of this fleet' }]),
  delivery: () =>
    new ClientError(404, 'not_found', 'Delivery not found.', [{ field: 'id', reason: 'does not name a delivery of this fleet' }]),
  event: () =>
    new ClientError(404, 'not_found', 'Event not found.', [{ field: 'id', reason: 'does not name a stored event of this fleet' }]),
  source: () =>
    new ClientError(404, 'not_found', 'Inbound source not found.', [{ field: 'id', reason: 'does not name an inbound source of this fleet' }]),
};

/**
 * The one 404 of a resource kind. A fleet the token does not grant and an id that does not exist
 * (or belongs to another fleet) get byte-identical answers, so probing reveals nothing.
 */
export function resourceNotFound(kind: ResourceKind): ClientError {
  return NOT_FOUND[kind]();
}
