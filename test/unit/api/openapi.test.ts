import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { fixedKeyRing, keyRingSealer } from '../../../lambdas/core/inbound/sealer';
import { generateKeyRing } from '../../../lambdas/core/sealed-secrets';
import { InboundSourcesStore } from '../../../lambdas/shared/inbound-sources-store';
import { createHarness, type Harness } from './harness';

let h: Harness;
let document: any;
beforeAll(async () => {
  // With the inbound deps the deployed wiring always gives, so their routes are documented too.
  const inbound = {
    sources: new InboundSourcesStore(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })), 'inbound'),
    sealer: keyRingSealer(fixedKeyRing(generateKeyRing())),
  };
  h = createHarness({ settings: { eventCatalog: ['order.created', 'order.paid'], maxAttempts: 5 }, deps: { inbound } });
  const response = await h.call('GET', '/openapi.json', { token: null });
  expect(response.status).toBe(200);
  document = response.body;
});
afterAll(() => h.restore());

const ROUTES = [
  ['post', '/fleets/{fleetId}/webhooks'],
  ['get', '/fleets/{fleetId}/webhooks'],
  ['get', '/fleets/{fleetId}/webhooks/{id}'],
  ['patch', '/fleets/{fleetId}/webhooks/{id}'],
  ['delete', '/fleets/{fleetId}/webhooks/{id}'],
  ['post', '/fleets/{fleetId}/webhooks/{id}/rotate'],
  ['post', '/fleets/{fleetId}/webhooks/{id}/test'],
  ['get', '/fleets/{fleetId}/webhooks/{id}/deliveries'],
  ['get', '/fleets/{fleetId}/deliveries/{id}'],
  ['post', '/fleets/{fleetId}/deliveries/{id}/retry'],
  ['post', '/fleets/{fleetId}/webhooks/{id}/replay'],
  ['post', '/fleets/{fleetId}/events'],
  ['get', '/openapi.json'],
  ['get', '/fleets/{fleetId}/events'],
  ['get', '/fleets/{fleetId}/events/{id}'],
  ['get', '/fleets/{fleetId}/deliveries'],
  ['post', '/fleets/{fleetId}/portal-sessions'],
  ['get', '/health'],
  ['get', '/console'],
  ['get', '/event-types'],
  ['post', '/fleets/{fleetId}/inbound-sources'],
  ['get', '/fleets/{fleetId}/inbound-sources'],
  ['get', '/fleets/{fleetId}/inbound-sources/{id}'],
  ['patch', '/fleets/{fleetId}/inbound-sources/{id}'],
  ['delete', '/fleets/{fleetId}/inbound-sources/{id}'],
  ['post', '/fleets/{fleetId}/inbound-sources/{id}/rotate'],
  ['post', '/inbound/{sourceId}'],
  ['get', '/inbound/{sourceId}'],
] as const;
/** No bearer token: the document, liveness, the console's shell, and inbound (the provider's signature authenticates it). */
const PUBLIC = new Set(['/openapi.json', '/health', '/console', '/inbound/{sourceId}']);

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    expect(document.openapi).toBe('3.1.0');
    await expect(SwaggerParser.validate(structuredClone(document))).resolves.toBeDefined();
  });

  it('lists exactly the routes of DESIGN.md', () => {
    const documented = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method} ${path}`),
    );
    expect(documented.sort()).toEqual(ROUTES.map(([method, path]) => `${method} ${path}`).sort());
  });

  it('declares bearer auth on every fleet route and errors with the shared error schema', () => {
    expect(document.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const [method, path] of ROUTES) {
      const operation = document.paths[path][method];
      if (PUBLIC.has(path)) {
        expect(operation.security).toEqual([]);
        continue;
      }
      expect(operation.security).toEqual([{ bearerAuth: [] }]);
      for (const status of ['401', '404', '500']) {
        expect(operation.responses[status].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
      }
    }
  });

  it('renders the deployment catalog and attempt ceiling from the validating schemas', () => {
    const create = document.components.schemas.CreateWebhookRequest;
    expect(create.additionalProperties).toBe(false);
    expect(create.required).toEqual(['url']);
    // Items are catalog types or the fleet's inbound types, so no closed enum there.
    expect(create.properties.events.items.type).toBe('string');
    expect(create.properties.maxAttempts.maximum).toBe(5);
    expect(create.example).toBeDefined();
    expect(document.components.schemas.EventType.enum).toEqual(['order.created', 'order.paid']);
  });

  it('documents the idempotency-key header and the query filters', () => {
    const publish = document.paths['/fleets/{fleetId}/events'].post;
    expect(publish.parameters).toContainEqual(expect.objectContaining({ in: 'header', name: 'idempotency-key' }));
    const list = document.paths['/fleets/{fleetId}/webhooks/{id}/deliveries'].get;
    expect(list.parameters.filter((p: { in: string }) => p.in === 'query').map((p: { name: string }) => p.name).sort()).toEqual(
      ['cursor', 'eventType', 'limit', 'since', 'status', 'until'],
    );
  });

  it('never shows secret internals in response schemas', () => {
    const webhook = JSON.stringify(document.components.schemas.Webhook);
    for (const hidden of ['sealedSecret', 'sealedPreviousSecret', 'previousSecretExpiresAt', 'failingSince']) expect(webhook).not.toContain(hidden);
    expect(document.components.schemas.WebhookWithSecret).toBeDefined();
  });
});
