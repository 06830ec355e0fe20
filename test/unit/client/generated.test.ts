import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateClientTypes, servedOpenApiDocument, TYPES_FILE } from '../../../scripts/gen-client';

describe('client/api-types.ts', () => {
  it('is what npm run gen:client generates from the served OpenAPI document (fails when stale)', async () => {
    const generated = await generateClientTypes();
    // A failure here means a route or schema changed: run `npm run gen:client` and commit the file.
    expect(readFileSync(TYPES_FILE, 'utf8') === generated, 'client/api-types.ts is stale: run npm run gen:client').toBe(true);
  }, 60_000);

  it('documents the servers and the outbound delivery (webhooks section)', async () => {
    const document = (await servedOpenApiDocument()) as {
      servers: { url: string }[];
      webhooks: Record<string, { post: { requestBody: unknown; parameters: { name: string; in: string }[] } }>;
    };
    expect(document.servers.map((server) => server.url)).toEqual([
      'https://{apiId}.execute-api.{region}.amazonaws.com/{stage}',
      'http://127.0.0.1:8787',
    ]);
    const delivery = document.webhooks.delivery!.post;
    expect(delivery.parameters.filter((p) => p.in === 'header').map((p) => p.name)).toEqual(
      expect.arrayContaining(['webhook-id', 'webhook-timestamp', 'webhook-signature', 'X-Webhook-Signature', 'X-Webhook-Timestamp']),
    );
    expect(JSON.stringify(delivery.requestBody)).toContain('DeliveryPayload');
  });
});
