import { Webhook } from 'standardwebhooks';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTokenId } from '../../lambdas/core/ids';
import { formatApiToken, generateApiTokenSecret, hashTokenSecret } from '../../lambdas/core/secrets';
import { wireApi } from '../../lambdas/api/wiring';
import { createDocumentClient } from '../../lambdas/shared/clients';
import { TokensStore } from '../../lambdas/shared/tokens-store';
import { startApiServer, type ApiServer } from '../../local/api-server';
import { createLambdaContext } from '../../local/lambda-context';
import { feishuRequest, genericHeaders, giteeToken, githubSignature, wecomEncrypt, wecomSign } from '../support/inbound-signers';
import { startHarness, waitFor, type PipelineHarness } from './pipeline-helpers';

/**
 * Inbound webhooks end to end on local mode: the real API wiring behind the local API front,
 * the fan-out and dispatcher on the local queues, a subscriber on 127.0.0.1. Every request is
 * signed as its provider documents and sent over HTTP.
 */
let harness: PipelineHarness;
let server: ApiServer;
let admin: string;
let tokens: TokensStore;

async function issueToken(fleets: string[]): Promise<string> {
  const id = newTokenId();
  const secret = generateApiTokenSecret();
  await tokens.create({ id, secretHash: hashTokenSecret(secret), fleets, createdAt: new Date().toISOString() });
  return formatApiToken(id, secret);
}

async function api(method: string, path: string, body?: unknown, token: string = admin) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as any) };
}

/** A raw provider request to an ingest URL: no bearer token, bytes as given. */
async function send(url: string, init: { method?: string; headers?: Record<string, string>; body?: string | Buffer }) {
  const response = await fetch(url, {
    method: init.method ?? 'POST',
    headers: init.headers ?? {},
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json, contentType: response.headers.get('content-type') };
}

async function storedEvents(fleetId: string) {
  const page = await harness.events.listByTime(fleetId, { since: '2000-01-01T00:00:00.000Z', until: '2100-01-01T00:00:00.000Z' }, { limit: 100 });
  return page.items;
}

/** A fleet with one subscriber to `types` and one source; returns what a provider test needs. */
async function setUp(fleetId: string, source: Record<string, unknown>, types: (source: any) => string[]) {
  const created = await api('POST', `/fleets/${fleetId}/inbound-sources`, source);
  expect(created.status).toBe(201);
  const path = `/${fleetId}`;
  const hook = await api('POST', `/fleets/${fleetId}/webhooks`, { url: harness.receiver.endpoint(path), events: types(created.body) });
  expect(hook.status).toBe(201);
  return { source: created.body, secret: hook.body.secret as string, path };
}

/** The subscriber's copy of the event, verified with the standardwebhooks package. */
async function delivered(path: string, secret: string, count = 1): Promise<any> {
  const requests = await waitFor(`delivery to ${path}`, () => (harness.receiver.at(path).length >= count ? harness.receiver.at(path) : undefined));
  const request = requests[count - 1];
  if (request === undefined) throw new Error('unreachable');
  return new Webhook(secret).verify(request.body, request.headers as Record<string, string>);
}

/** Nothing stored and (after the pipeline had time to act) nothing delivered. */
async function expectNothingNew(fleetId: string, path: string, events: number, deliveries: number): Promise<void> {
  expect(await storedEvents(fleetId)).toHaveLength(events);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  expect(harness.receiver.at(path)).toHaveLength(deliveries);
}

beforeAll(async () => {
  harness = await startHarness({ settings: { maxPayloadBytes: 4_096 } });
  const handler = wireApi(harness.runtime.env);
  server = await startApiServer({ port: 0, handler: (event) => handler(event, createLambdaContext('hookline-api', 29_000)) });
  const doc = createDocumentClient();
  tokens = new TokensStore(doc, harness.runtime.tables.tokens);
  admin = await issueToken(['*']);
}, 60_000);

afterAll(async () => {
  await server?.close();
  await harness?.stop();
});

describe('inbound sources API', { timeout: 30_000 }, () => {
  it('creates a source with an unguessable ingest URL on this API and shows the credentials only once', async () => {
    const created = await api('POST', '/fleets/fleet-api/inbound-sources', { provider: 'gitlab', name: 'Main GitLab' });
    expect(created.status).toBe(201);
    expect(created.body.id).toMatch(/^src_[0-9A-HJKMNP-TV-Z]{32}$/);
    expect(created.body.ingestUrl).toBe(`${server.url}/inbound/${created.body.id}`);
    expect(created.body.credentials.token).toMatch(/^glt_/);
    expect(created.body.eventTypes).toContain('gitlab.merge_request');
    const got = await api('GET', `/fleets/fleet-api/inbound-sources/${created.body.id}`);
    expect(got.status).toBe(200);
    expect(got.body.credentials).toBeUndefined();
    expect(JSON.stringify(got.body)).not.toContain(created.body.credentials.token);
    const list = await api('GET', '/fleets/fleet-api/inbound-sources');
    expect(JSON.stringify(list.body)).not.toContain(created.body.credentials.token);
    expect(list.body.data.map((item: any) => item.id)).toContain(created.body.id);
    const patched = await api('PATCH', `/fleets/fleet-api/inbound-sources/${created.body.id}`, { name: 'Renamed', enabled: false });
    expect(patched.body).toMatchObject({ name: 'Renamed', enabled: false });
  });

  it('refuses unknown providers, settings and bad credentials naming the field', async () => {
    const bad = await api('POST', '/fleets/fleet-api/inbound-sources', {
      provider: 'wecom',
      name: 'x',
      settings: { colour: 'red' },
      credentials: { encodingAesKey: 'short' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual(
      expect.arrayContaining([
        { field: 'settings.colour', reason: 'is not a setting of wecom sources' },
        { field: 'credentials.encodingAesKey', reason: 'must be 43 base64 characters' },
      ]),
    );
    const generic = await api('POST', '/fleets/fleet-api/inbound-sources', { provider: 'generic', name: 'Not A Slug' });
    expect(generic.status).toBe(400);
    expect(generic.body.error.details[0].field).toBe('name');
    const provider = await api('POST', '/fleets/fleet-api/inbound-sources', { provider: 'bitbucket', name: 'x' });
    expect(provider.status).toBe(400);
    expect(provider.body.error.details[0].field).toBe('provider');
  });

  it('keeps fleets apart: a token for fleet B gets 404 on fleet A\'s sources and does not list them', async () => {
    const created = await api('POST', '/fleets/fleet-a/inbound-sources', { provider: 'github', name: 'A repo' });
    const tokenB = await issueToken(['fleet-b']);
    const id = created.body.id as string;
    for (const [method, path, body] of [
      ['GET', `/fleets/fleet-a/inbound-sources/${id}`],
      ['GET', `/fleets/fleet-b/inbound-sources/${id}`],
      ['PATCH', `/fleets/fleet-b/inbound-sources/${id}`, { enabled: false }],
      ['POST', `/fleets/fleet-b/inbound-sources/${id}/rotate`],
      ['DELETE', `/fleets/fleet-b/inbound-sources/${id}`],
      ['GET', '/fleets/fleet-a/inbound-sources'],
    ] as const) {
      const response = await api(method, path, body, tokenB);
      expect(response.status, `${method} ${path}`).toBe(404);
    }
    const listB = await api('GET', '/fleets/fleet-b/inbound-sources', undefined, tokenB);
    expect(listB.status).toBe(200);
    expect(listB.body.data).toEqual([]);
    const typesB = await api('GET', '/event-types?fleetId=fleet-a', undefined, tokenB);
    expect(typesB.status).toBe(404);
    // Still there for its own fleet.
    expect((await api('GET', `/fleets/fleet-a/inbound-sources/${id}`)).status).toBe(200);
  });

  it('lists the catalog and the fleet\'s inbound types, and subscriptions may choose only those', async () => {
    const created = await api('POST', '/fleets/fleet-types/inbound-sources', { provider: 'generic', name: 'billing' });
    const types = await api('GET', '/event-types?fleetId=fleet-types');
    expect(types.status).toBe(200);
    expect(types.body.data).toContainEqual({ type: 'thread.completed', origin: 'catalog' });
    expect(types.body.data).toContainEqual({ type: 'generic.billing', origin: 'inbound', sources: [created.body.id] });
    const catalogOnly = await api('GET', '/event-types');
    expect(catalogOnly.body.data.every((entry: any) => entry.origin === 'catalog')).toBe(true);
    const ok = await api('POST', '/fleets/fleet-types/webhooks', { url: harness.receiver.endpoint('/types'), events: ['generic.billing', 'thread.completed'] });
    expect(ok.status).toBe(201);
    const refused = await api('POST', '/fleets/fleet-types/webhooks', { url: harness.receiver.endpoint('/types'), events: ['thread.completed', 'gitlab.push'] });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details[0].field).toBe('events[1]');
    const elsewhere = await api('POST', '/fleets/fleet-other/webhooks', { url: harness.receiver.endpoint('/types'), events: ['generic.billing'] });
    expect(elsewhere.status).toBe(400);
  });

  it('rotates with a grace period (old and new credentials verify) and DELETE makes the URL 404 at once', async () => {
    const fleetId = 'fleet-rotate';
    const { source, secret, path } = await setUp(fleetId, { provider: 'generic', name: 'rotating' }, () => ['generic.rotating']);
    const old = source.credentials.secret as string;
    const rotated = await api('POST', `/fleets/${fleetId}/inbound-sources/${source.id}/rotate`);
    expect(rotated.status).toBe(200);
    const fresh = rotated.body.credentials.secret as string;
    expect(fresh).not.toBe(old);
    const now = Math.floor(Date.now() / 1000);
    for (const [index, key] of [old, fresh].entries()) {
      const body = JSON.stringify({ n: index });
      const response = await send(source.ingestUrl, { headers: genericHeaders(key, body, now), body });
      expect(response.status).toBe(202);
    }
    await delivered(path, secret, 2);
    expect((await api('DELETE', `/fleets/${fleetId}/inbound-sources/${source.id}`)).status).toBe(204);
    const body = '{"n":3}';
    const after = await send(source.ingestUrl, { headers: genericHeaders(fresh, body, now), body });
    expect(after.status).toBe(404);
  });
});

describe('inbound providers over HTTP to local mode', { timeout: 40_000 }, () => {
  it('generic: signed {timestamp}.{body} → generic.<name> delivered signed; tampering, staleness and replays refused', async () => {
    const fleetId = 'fleet-generic';
    const { source, secret, path } = await setUp(fleetId, { provider: 'generic', name: 'orders' }, () => ['generic.orders']);
    const key = source.credentials.secret as string;
    const now = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ orderId: 42, note: 'héllo' });
    const headers = { 'content-type': 'application/json', 'X-Hookline-Id': 'order-42', ...genericHeaders(key, body, now) };

    const accepted = await send(source.ingestUrl, { headers, body });
    expect(accepted.status).toBe(202);
    expect(accepted.json).toMatchObject({ type: 'generic.orders' });
    const payload = await delivered(path, secret);
    expect(payload).toMatchObject({
      type: 'generic.orders',
      fleetId,
      data: { source: { id: source.id, name: 'orders', provider: 'generic' }, headers: { 'content-type': 'application/json' }, body: { orderId: 42, note: 'héllo' } },
    });

    const replay = await send(source.ingestUrl, { headers, body });
    expect(replay.status).toBe(200);
    expect(replay.json).toMatchObject({ id: accepted.json.id, duplicate: true });

    const oneByte = body.replace('42', '43');
    const tampered = await send(source.ingestUrl, { headers: { ...headers, 'X-Hookline-Id': 'order-43' }, body: oneByte });
    expect(tampered.status).toBe(401);
    expect(tampered.json.error).toEqual({
      code: 'unauthorized',
      message: 'The request could not be verified.',
      details: [{ field: 'request', reason: 'was not verified for this source' }],
    });
    const stale = await send(source.ingestUrl, {
      headers: { ...genericHeaders(key, body, now - 600), 'X-Hookline-Id': 'order-stale' },
      body,
    });
    expect(stale.status).toBe(401);
    expect(stale.json.error).toEqual(tampered.json.error);
    const wrongKey = await send(source.ingestUrl, { headers: { ...genericHeaders('some-other-secret-value', body, now), 'X-Hookline-Id': 'x' }, body });
    expect(wrongKey.status).toBe(401);
    const unknown = await send(`${server.url}/inbound/src_00000000000000000000000000000000`, { headers, body });
    expect(unknown.status).toBe(404);
    const tooLarge = 'x'.repeat(5_000);
    const large = await send(source.ingestUrl, { headers: genericHeaders(key, tooLarge, now), body: tooLarge });
    expect(large.status).toBe(413);
    await expectNothingNew(fleetId, path, 1, 1);
  });

  it('github: the documented test vector is accepted as github.push; a changed byte or another secret is not', async () => {
    const fleetId = 'fleet-github';
    const { source, secret, path } = await setUp(
      fleetId,
      { provider: 'github', name: 'Docs vector', credentials: { secret: "It's a Secret to Everybody" } },
      () => ['github.push'],
    );
    // GitHub's "Validating webhook deliveries" test values.
    const signature = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    expect(githubSignature("It's a Secret to Everybody", 'Hello, World!')).toBe(signature);
    const headers = { 'X-Hub-Signature-256': signature, 'X-GitHub-Event': 'push', 'X-GitHub-Delivery': 'd-1', 'content-type': 'text/plain' };
    const accepted = await send(source.ingestUrl, { headers, body: 'Hello, World!' });
    expect(accepted.status).toBe(202);
    const payload = await delivered(path, secret);
    expect(payload).toMatchObject({ type: 'github.push', data: { body: 'Hello, World!', headers: { 'x-github-delivery': 'd-1' } } });

    const json = JSON.stringify({ ref: 'refs/heads/main', commits: [] });
    const pr = await send(source.ingestUrl, {
      headers: { 'X-Hub-Signature-256': githubSignature("It's a Secret to Everybody", json), 'X-GitHub-Event': 'pull_request', 'X-GitHub-Delivery': 'd-2', 'content-type': 'application/json' },
      body: json,
    });
    expect(pr.status).toBe(202);
    expect(pr.json.type).toBe('github.pull_request');

    expect((await send(source.ingestUrl, { headers, body: 'Hello, World?' })).status).toBe(401);
    expect((await send(source.ingestUrl, { headers: { ...headers, 'X-Hub-Signature-256': githubSignature('another secret!!', 'Hello, World!') }, body: 'Hello, World!' })).status).toBe(401);
    const replay = await send(source.ingestUrl, { headers, body: 'Hello, World!' });
    expect(replay.status).toBe(200);
    // pull_request is stored but not subscribed: one delivery in all.
    await expectNothingNew(fleetId, path, 2, 1);
  });

  it('gitlab: X-Gitlab-Token, "Merge Request Hook" → gitlab.merge_request, X-Gitlab-Event-UUID dedupes', async () => {
    const fleetId = 'fleet-gitlab';
    const { source, secret, path } = await setUp(fleetId, { provider: 'gitlab', name: 'GitLab' }, () => ['gitlab.merge_request']);
    const body = JSON.stringify({ object_kind: 'merge_request', object_attributes: { iid: 7 } });
    const headers = { 'X-Gitlab-Token': source.credentials.token, 'X-Gitlab-Event': 'Merge Request Hook', 'X-Gitlab-Event-UUID': 'uuid-1', 'content-type': 'application/json' };
    const accepted = await send(source.ingestUrl, { headers, body });
    expect(accepted.status).toBe(202);
    expect(accepted.json.type).toBe('gitlab.merge_request');
    expect(await delivered(path, secret)).toMatchObject({ type: 'gitlab.merge_request', data: { body: { object_attributes: { iid: 7 } } } });
    expect((await send(source.ingestUrl, { headers, body })).status).toBe(200);
    expect((await send(source.ingestUrl, { headers: { ...headers, 'X-Gitlab-Token': `${source.credentials.token}x`, 'X-Gitlab-Event-UUID': 'uuid-2' }, body })).status).toBe(401);
    await expectNothingNew(fleetId, path, 1, 1);
  });

  it('gitee: signature mode (HMAC of timestamp\\nsecret) within an hour; stale and wrong refused', async () => {
    const fleetId = 'fleet-gitee';
    const { source, secret, path } = await setUp(fleetId, { provider: 'gitee', name: 'Gitee' }, () => ['gitee.push']);
    const key = source.credentials.secret as string;
    const now = Date.now();
    const body = JSON.stringify({ hook_name: 'push_hooks', ref: 'refs/heads/master' });
    const headers = { 'X-Gitee-Token': giteeToken(key, now), 'X-Gitee-Timestamp': String(now), 'X-Gitee-Event': 'Push Hook', 'content-type': 'application/json' };
    const accepted = await send(source.ingestUrl, { headers, body });
    expect(accepted.status).toBe(202);
    expect(await delivered(path, secret)).toMatchObject({ type: 'gitee.push' });
    const staleAt = now - 2 * 3_600_000;
    expect((await send(source.ingestUrl, { headers: { ...headers, 'X-Gitee-Token': giteeToken(key, staleAt), 'X-Gitee-Timestamp': String(staleAt) }, body })).status).toBe(401);
    expect((await send(source.ingestUrl, { headers: { ...headers, 'X-Gitee-Token': giteeToken(`${key}x`, now) }, body })).status).toBe(401);
    // The same signed request again (no delivery id): a replay.
    expect((await send(source.ingestUrl, { headers, body })).status).toBe(200);
    await expectNothingNew(fleetId, path, 1, 1);
  });

  it('gerrit: shared token in the configured header or ?token=; event from the body type', async () => {
    const fleetId = 'fleet-gerrit';
    const { source, secret, path } = await setUp(
      fleetId,
      { provider: 'gerrit', name: 'Gerrit', settings: { tokenHeader: 'X-Review-Token' } },
      () => ['gerrit.patchset_created', 'gerrit.change_merged'],
    );
    const token = source.credentials.token as string;
    const created = JSON.stringify({ type: 'patchset-created', change: { number: 1 }, eventCreatedOn: 1 });
    expect((await send(source.ingestUrl, { headers: { 'X-Review-Token': token, 'content-type': 'application/json' }, body: created })).status).toBe(202);
    expect(await delivered(path, secret)).toMatchObject({ type: 'gerrit.patchset_created' });
    const merged = JSON.stringify({ type: 'change-merged', change: { number: 1 }, eventCreatedOn: 2 });
    const viaQuery = await send(`${source.ingestUrl}?token=${encodeURIComponent(token)}`, { headers: { 'content-type': 'application/json' }, body: merged });
    expect(viaQuery.status).toBe(202);
    expect(viaQuery.json.type).toBe('gerrit.change_merged');
    expect((await send(source.ingestUrl, { headers: { 'X-Review-Token': 'wrong-token-value-123' }, body: created })).status).toBe(401);
    expect((await send(source.ingestUrl, { headers: { 'X-Review-Token': token }, body: created })).status).toBe(200);
    await expectNothingNew(fleetId, path, 2, 2);
  });

  it('feishu: encrypted url_verification answered with the challenge; signed encrypted events accepted', async () => {
    const fleetId = 'fleet-feishu';
    const { source, secret, path } = await setUp(
      fleetId,
      { provider: 'feishu', name: 'Lark app', credentials: { verificationToken: 'vtoken' } },
      () => ['feishu.im.message.receive_v1'],
    );
    const encryptKey = source.credentials.encryptKey as string;
    const now = Math.floor(Date.now() / 1000);
    const challenge = feishuRequest(encryptKey, { challenge: 'ajls384kdjx98XX', token: 'vtoken', type: 'url_verification' }, now);
    const answered = await send(source.ingestUrl, challenge);
    expect(answered.status).toBe(200);
    expect(answered.json).toEqual({ challenge: 'ajls384kdjx98XX' });
    expect(await storedEvents(fleetId)).toHaveLength(0);

    const event = {
      schema: '2.0',
      header: { event_id: 'ev-1', event_type: 'im.message.receive_v1', token: 'vtoken', create_time: String(now * 1000) },
      event: { message: { content: '{"text":"hi"}' } },
    };
    const request = feishuRequest(encryptKey, event, now);
    const accepted = await send(source.ingestUrl, request);
    // Feishu counts only HTTP 200 as received.
    expect(accepted.status).toBe(200);
    expect(accepted.json).toMatchObject({ type: 'feishu.im.message.receive_v1' });
    expect(accepted.json.duplicate).toBeUndefined();
    expect(await delivered(path, secret)).toMatchObject({ type: 'feishu.im.message.receive_v1', data: { body: { header: { event_id: 'ev-1' } } } });
    const repeat = await send(source.ingestUrl, request);
    expect(repeat.status).toBe(200);
    expect(repeat.json).toMatchObject({ id: accepted.json.id, duplicate: true });
    const forged = feishuRequest('not-the-encrypt-key', { ...event, header: { ...event.header, event_id: 'ev-2' } }, now);
    expect((await send(source.ingestUrl, forged)).status).toBe(401);
    const wrongToken = feishuRequest(encryptKey, { ...event, header: { ...event.header, event_id: 'ev-3', token: 'other' } }, now);
    expect((await send(source.ingestUrl, wrongToken)).status).toBe(401);
    const unsigned = { ...request, headers: { 'content-type': 'application/json' } };
    expect((await send(source.ingestUrl, unsigned)).status).toBe(401);
    await expectNothingNew(fleetId, path, 1, 1);
  });

  it('wecom: GET echostr answered with the decrypted text; encrypted XML callbacks accepted', async () => {
    const fleetId = 'fleet-wecom';
    const corpId = 'ww1234567890abcdef';
    const { source, secret, path } = await setUp(
      fleetId,
      { provider: 'wecom', name: 'WeCom app', settings: { receiveId: corpId } },
      () => ['wecom.change_contact'],
    );
    const { token, encodingAesKey } = source.credentials as { token: string; encodingAesKey: string };
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = 'nonce123';
    const echostr = wecomEncrypt(encodingAesKey, 'echo-8675309', corpId);
    const query = new URLSearchParams({ msg_signature: wecomSign(token, timestamp, nonce, echostr), timestamp, nonce, echostr });
    const verified = await send(`${source.ingestUrl}?${query}`, { method: 'GET' });
    expect(verified.status).toBe(200);
    expect(verified.text).toBe('echo-8675309');
    expect(verified.contentType).toMatch(/^text\/plain/);
    const badQuery = new URLSearchParams({ msg_signature: wecomSign(`${token}x`, timestamp, nonce, echostr), timestamp, nonce, echostr });
    expect((await send(`${source.ingestUrl}?${badQuery}`, { method: 'GET' })).status).toBe(401);

    const message =
      `<xml><ToUserName><![CDATA[${corpId}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>` +
      '<CreateTime>1403610513</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_contact]]></Event>' +
      '<ChangeType>create_user</ChangeType><UserID><![CDATA[zhangsan]]></UserID></xml>';
    const encrypted = wecomEncrypt(encodingAesKey, message, corpId);
    const body = `<xml><ToUserName><![CDATA[${corpId}]]></ToUserName><AgentID><![CDATA[1]]></AgentID><Encrypt><![CDATA[${encrypted}]]></Encrypt></xml>`;
    const postQuery = new URLSearchParams({ msg_signature: wecomSign(token, timestamp, nonce, encrypted), timestamp, nonce });
    const accepted = await send(`${source.ingestUrl}?${postQuery}`, { headers: { 'content-type': 'text/xml' }, body });
    // WeCom: HTTP 200 with an empty body means "received, no reply".
    expect(accepted.status).toBe(200);
    expect(accepted.text).toBe('');
    expect(await delivered(path, secret)).toMatchObject({
      type: 'wecom.change_contact',
      data: { body: { ChangeType: 'create_user', UserID: 'zhangsan', CreateTime: '1403610513' } },
    });
    expect((await send(`${source.ingestUrl}?${postQuery}`, { headers: { 'content-type': 'text/xml' }, body })).status).toBe(200);
    const otherCorp = wecomEncrypt(encodingAesKey, message, 'another-corp');
    const otherBody = body.replace(encrypted, otherCorp);
    const otherQuery = new URLSearchParams({ msg_signature: wecomSign(token, timestamp, nonce, otherCorp), timestamp, nonce });
    expect((await send(`${source.ingestUrl}?${otherQuery}`, { headers: { 'content-type': 'text/xml' }, body: otherBody })).status).toBe(401);
    await expectNothingNew(fleetId, path, 1, 1);
  });
});

describe('inbound route under random input', { timeout: 60_000 }, () => {
  it('never answers 5xx to random headers, bodies, methods and source ids', async () => {
    const created = await api('POST', '/fleets/fleet-fuzz/inbound-sources', { provider: 'generic', name: 'fuzz' });
    const wecom = await api('POST', '/fleets/fleet-fuzz/inbound-sources', { provider: 'wecom', name: 'fuzz wecom' });
    const feishu = await api('POST', '/fleets/fleet-fuzz/inbound-sources', { provider: 'feishu', name: 'fuzz feishu' });
    const urls = [created.body.ingestUrl, wecom.body.ingestUrl, feishu.body.ingestUrl, `${server.url}/inbound/src_nope`, `${server.url}/inbound/`];
    const headerName = fc.constantFrom(
      'x-hookline-signature',
      'x-hookline-timestamp',
      'x-hub-signature-256',
      'x-lark-signature',
      'x-lark-request-timestamp',
      'x-lark-request-nonce',
      'content-type',
      'x-gitlab-token',
    );
    const headerValue = fc.oneof(fc.string({ maxLength: 40 }).filter((v) => /^[\x20-\x7e]*$/.test(v)), fc.constant('sha256=00'), fc.constant('99999999999'));
    const body = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.json({ maxDepth: 4 }),
      fc.constant('{"encrypt":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}'),
      fc.constant('<xml><Encrypt><![CDATA[AAAA]]></Encrypt></xml>'),
      fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
    );
    const query = fc.constantFrom('', '?msg_signature=a&timestamp=1&nonce=2&echostr=AAAA', '?token=x', '?echostr=%E0%A4');
    const statuses: number[] = [];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...urls),
        query,
        fc.constantFrom('POST', 'GET', 'PUT'),
        fc.dictionary(headerName, headerValue, { maxKeys: 5 }),
        body,
        async (url, q, method, headers, payload) => {
          const response = await send(`${url}${q}`, { method, headers, ...(method === 'GET' ? {} : { body: payload }) });
          statuses.push(response.status);
          expect(response.status).toBeLessThan(500);
        },
      ),
      { numRuns: 120, seed: 12 },
    );
    expect(statuses.some((status) => status === 401)).toBe(true);
    expect(statuses.some((status) => status === 404)).toBe(true);
    expect(await storedEvents('fleet-fuzz')).toHaveLength(0);
  });
});
