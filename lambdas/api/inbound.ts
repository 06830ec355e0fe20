import * as z from 'zod';
import { ClientError, payloadTooLarge } from '../core/errors';
import { eventDataDepthProblem } from '../core/event-data';
import { inboundEventData, inboundEventType, replayKey, timeWindowProblem } from '../core/inbound/ingest';
import { PROVIDERS } from '../core/inbound/registry';
import { activeCredentials, credentialsAad, isSourceId, parseCredentialValue, type InboundSourceRecord } from '../core/inbound/source';
import type { InboundDeps, RouteDeps } from './deps';
import { MethodNotAllowedError, type ApiRequest, type ApiResult } from './http';
import { publishEvent } from './publish';
import { defineRoute, type RouteSpec } from './route';

const PATH = '/inbound/{sourceId}';

/** The same answer for a source that does not exist, was deleted, is disabled or never was. */
const unknownSource = () =>
  new ClientError(404, 'not_found', 'No such inbound source.', [{ field: 'sourceId', reason: 'does not name an inbound source' }]);
/** The same answer for every verification failure: which check failed is for the logs only. */
const notVerified = () =>
  new ClientError(401, 'unauthorized', 'The request could not be verified.', [
    { field: 'request', reason: 'was not verified for this source' },
  ]);

const IngestResult = z
  .object({
    id: z.string().openapi({ description: 'The Hookline event id.' }),
    type: z.string().openapi({ example: 'github.push' }),
    duplicate: z.boolean().optional().openapi({ description: 'True for a repeat of a delivery already accepted (nothing new stored).' }),
  })
  .openapi('InboundIngestResult');

/**
 * Where providers send their webhooks. No bearer token: the provider's own signature is the
 * authentication. Order: source lookup (404) → size (413) → signature (401) → time window (401) →
 * dedupe (200, nothing new) → store + enqueue through the publish path (202). Nothing is stored
 * for a refused request; the reason is logged and counted, never returned.
 */
export function ingestRoutes(deps: RouteDeps, inbound: InboundDeps): RouteSpec[] {
  const limit = deps.settings.maxPayloadBytes;

  async function ingest(request: ApiRequest, sourceId: string): Promise<ApiResult> {
    const outcome = (provider: string, result: string, reason?: string, extra: Record<string, unknown> = {}) => {
      deps.logger.info('inbound request', { sourceId, provider, outcome: result, ...(reason === undefined ? {} : { reason }), ...extra });
      inbound.onIngest?.({ provider, outcome: result });
    };
    const source = isSourceId(sourceId) ? await inbound.sources.get(sourceId) : undefined;
    if (source === undefined || !source.enabled) {
      outcome('unknown', 'unknown_source', source === undefined ? 'no such source' : 'the source is disabled');
      throw unknownSource();
    }
    const provider = PROVIDERS[source.provider];
    if (!(provider.methods as readonly string[]).includes(request.method)) {
      outcome(provider.id, 'method_not_allowed', `${request.method} is not used by ${provider.id}`);
      throw new MethodNotAllowedError(request.method, provider.methods);
    }
    const body = request.body ?? Buffer.alloc(0);
    if (body.length > limit) {
      outcome(provider.id, 'too_large', `${body.length} bytes`);
      throw payloadTooLarge(limit);
    }

    const verification = await provider.verify(
      { method: request.method, headers: request.headers, query: request.query, body },
      { credentials: await credentialsOf(source, deps.now()), settings: source.settings, sourceName: source.name },
    );
    if (verification.kind === 'rejected') {
      outcome(provider.id, 'rejected', verification.reason);
      throw notVerified();
    }
    if (verification.kind === 'handshake') {
      outcome(provider.id, 'handshake');
      return verification.text !== undefined
        ? { statusCode: verification.statusCode, text: verification.text }
        : { statusCode: verification.statusCode, body: verification.json };
    }
    const stale = timeWindowProblem(verification, deps.now().getTime());
    if (stale !== undefined) {
      outcome(provider.id, 'stale', stale);
      throw notVerified();
    }

    const type = inboundEventType(provider.id, verification.eventName);
    let data = inboundEventData(provider, source, request.headers, verification.body);
    // Kept whole rather than refused: a provider's document nested past the limit travels as text.
    if (eventDataDepthProblem(data) !== undefined) data = { ...data, body: body.toString('utf8') };
    const dataBytes = Buffer.byteLength(JSON.stringify(data), 'utf8');
    if (dataBytes > limit) {
      outcome(provider.id, 'too_large', `event data of ${dataBytes} bytes`);
      throw payloadTooLarge(limit);
    }
    const published = await publishEvent(deps, {
      fleetId: source.fleetId,
      type,
      data,
      idempotencyKey: replayKey(source.id, verification, body),
    });
    outcome(provider.id, published.created ? 'accepted' : 'duplicate', undefined, { eventId: published.id, eventType: type });
    const answer = provider.acceptedAnswer;
    if (answer?.empty) return { statusCode: answer.statusCode, text: '' };
    return published.created
      ? { statusCode: answer?.statusCode ?? 202, body: { id: published.id, type } }
      : { statusCode: 200, body: { id: published.id, type, duplicate: true } };
  }

  async function credentialsOf(source: InboundSourceRecord, now: Date) {
    const value = parseCredentialValue(await inbound.sealer.open(source.sealedCredentials, credentialsAad(source.fleetId, source.id)));
    return activeCredentials(value, now);
  }

  const common = {
    path: PATH,
    tag: 'Inbound',
    public: true,
    raw: true,
    resource: 'source' as const,
  };
  const post = defineRoute({
    ...common,
    method: 'POST',
    operationId: 'ingestInboundWebhook',
    summary: 'Receive a webhook from a provider',
    description:
      "No bearer token: the provider's signature authenticates the request. A verified request becomes the " +
      'event `<provider>.<event>` of the source\'s fleet; a Feishu `url_verification` is answered with its challenge.',
    responses: [
      { status: 202, description: 'Verified; stored and queued for fan-out.', schema: IngestResult },
      {
        status: 200,
        description:
          'A repeat of an accepted delivery, a handshake answer, or an accepted Feishu (JSON) or WeCom (empty body) request.',
        schema: IngestResult,
      },
      { status: 401, description: 'Not verified (signature, token or timestamp).' },
      { status: 404, description: 'No such (enabled) inbound source.' },
      { status: 413, description: 'Larger than the deployment\'s maxPayloadBytes.' },
    ],
    handle: ({ request, params }) => ingest(request, params.sourceId as string),
  });
  const get = defineRoute({
    ...common,
    method: 'GET',
    operationId: 'verifyInboundWebhookUrl',
    summary: 'Answer a provider URL verification (WeCom echostr)',
    responses: [
      { status: 200, description: 'The decrypted echostr, as text/plain.' },
      { status: 401, description: 'Not verified.' },
      { status: 404, description: 'No such (enabled) inbound source.' },
    ],
    handle: ({ request, params }) => ingest(request, params.sourceId as string),
  });
  return [post, get];
}
