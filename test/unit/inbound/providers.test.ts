import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { feishuDecrypt, feishuSignature } from '../../../lambdas/core/inbound/feishu';
import { genericSignature } from '../../../lambdas/core/inbound/generic';
import { giteeSignature } from '../../../lambdas/core/inbound/gitee';
import { gitlabEventName } from '../../../lambdas/core/inbound/gitlab';
import { inboundEventType, replayKey, timeWindowProblem } from '../../../lambdas/core/inbound/ingest';
import { PROVIDERS } from '../../../lambdas/core/inbound/registry';
import { fixedKeyRing, keyRingSealer } from '../../../lambdas/core/inbound/sealer';
import { addKeyVersion, generateKeyRing, SealedSecretAuthenticationError, sealSigningSecrets } from '../../../lambdas/core/sealed-secrets';
import { isSourceId, newSourceId } from '../../../lambdas/core/inbound/source';
import type { InboundRequest, VerifiedEvent } from '../../../lambdas/core/inbound/types';
import { parseXmlMessage, wecomDecrypt } from '../../../lambdas/core/inbound/wecom';
import { readRequest } from '../../../lambdas/api/http';
import { feishuRequest, giteeToken, wecomEncrypt } from '../../support/inbound-signers';

const request = (overrides: Partial<InboundRequest>): InboundRequest => ({
  method: 'POST',
  headers: {},
  query: {},
  body: Buffer.alloc(0),
  ...overrides,
});

describe('github', () => {
  it("accepts GitHub's documented test vector and nothing else", async () => {
    const credentials = [{ secret: "It's a Secret to Everybody" }];
    const signed = request({
      headers: {
        'x-hub-signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
        'x-github-event': 'push',
        'x-github-delivery': 'abc',
      },
      body: Buffer.from('Hello, World!'),
    });
    const context = { credentials, settings: {}, sourceName: 'x' };
    expect(await PROVIDERS.github.verify(signed, context)).toMatchObject({ kind: 'event', eventName: 'push', deliveryId: 'abc', body: 'Hello, World!' });
    expect(await PROVIDERS.github.verify({ ...signed, body: Buffer.from('Hello, World?') }, context)).toMatchObject({ kind: 'rejected' });
    expect(await PROVIDERS.github.verify({ ...signed, headers: { ...signed.headers, 'x-hub-signature-256': 'sha256=00' } }, context)).toMatchObject({
      kind: 'rejected',
    });
    // A rotated-out secret still verifies while it is in the credential list.
    expect(await PROVIDERS.github.verify(signed, { ...context, credentials: [{ secret: 'new-secret-value-1234' }, ...credentials] })).toMatchObject({
      kind: 'event',
    });
  });
});

describe('event types', () => {
  it.each([
    ['Merge Request Hook', 'merge_request'],
    ['Push Hook', 'push'],
    ['Tag Push Hook', 'tag_push'],
    ['System Hook', 'system'],
    ['Pipeline Hook', 'pipeline'],
  ])('GitLab %s → %s', (header, name) => {
    expect(gitlabEventName(header)).toBe(name);
    expect(inboundEventType('gitlab', header)).toBe(`gitlab.${name}`);
  });

  it('normalises other providers into dotted lower-case words', () => {
    expect(inboundEventType('gerrit', 'patchset-created')).toBe('gerrit.patchset_created');
    expect(inboundEventType('feishu', 'im.message.receive_v1')).toBe('feishu.im.message.receive_v1');
    expect(inboundEventType('github', 'pull_request')).toBe('github.pull_request');
    expect(inboundEventType('wecom', 'change_contact')).toBe('wecom.change_contact');
    expect(inboundEventType('github', '!!!')).toBe('github.unknown');
  });
});

describe('time window and replay key', () => {
  const event = (fields: Partial<VerifiedEvent>): VerifiedEvent => ({ kind: 'event', eventName: 'x', signature: 's', body: null, ...fields });

  it('allows ±tolerance and names the skew beyond it', () => {
    const now = 1_700_000_000_000;
    expect(timeWindowProblem(event({ timestampMs: now - 300_000, toleranceMs: 300_000 }), now)).toBeUndefined();
    expect(timeWindowProblem(event({ timestampMs: now + 300_000, toleranceMs: 300_000 }), now)).toBeUndefined();
    expect(timeWindowProblem(event({ timestampMs: now - 301_000, toleranceMs: 300_000 }), now)).toMatch(/301 s/);
    expect(timeWindowProblem(event({ timestampMs: 0 }), now)).toBeUndefined();
  });

  it('keys by delivery id when there is one, else by what was signed and the body', () => {
    const a = replayKey('src_A', event({ deliveryId: 'd1' }), Buffer.from('one'));
    expect(replayKey('src_A', event({ deliveryId: 'd1' }), Buffer.from('two'))).toBe(a);
    expect(replayKey('src_B', event({ deliveryId: 'd1' }), Buffer.from('one'))).not.toBe(a);
    // A constant token must not merge different bodies into one delivery.
    expect(replayKey('src_A', event({ signature: 'token' }), Buffer.from('one'))).not.toBe(replayKey('src_A', event({ signature: 'token' }), Buffer.from('two')));
  });
});

describe('generic', () => {
  it('signs the raw bytes: a body with a byte-order mark verifies only with the mark', async () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')]);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers = { 'x-hookline-signature': `sha256=${genericSignature('secret-secret-secret', timestamp, body)}`, 'x-hookline-timestamp': timestamp };
    const context = { credentials: [{ secret: 'secret-secret-secret' }], settings: {}, sourceName: 'orders' };
    expect(await PROVIDERS.generic.verify(request({ headers, body }), context)).toMatchObject({ kind: 'event', eventName: 'orders' });
    expect(await PROVIDERS.generic.verify(request({ headers, body: body.subarray(3) }), context)).toMatchObject({ kind: 'rejected' });
  });

  it('reads the header names the source configures', async () => {
    const body = Buffer.from('{}');
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers = { 'x-sig': `sha256=${genericSignature('secret-secret-secret', timestamp, body)}`, 'x-ts': timestamp };
    const context = { credentials: [{ secret: 'secret-secret-secret' }], settings: { signatureHeader: 'X-Sig', timestampHeader: 'X-Ts' }, sourceName: 'o' };
    expect(await PROVIDERS.generic.verify(request({ headers, body }), context)).toMatchObject({ kind: 'event' });
  });
});

describe('gitee', () => {
  it('matches the documented HMAC of "timestamp\\nsecret", URL-encoded or not', async () => {
    const now = Date.now();
    expect(giteeSignature('s3cret', String(now))).toBe(giteeToken('s3cret', now));
    const context = { credentials: [{ secret: 's3cret-long' }], settings: { mode: 'signature' }, sourceName: 'g' };
    const token = giteeToken('s3cret-long', now);
    for (const presented of [token, encodeURIComponent(token)]) {
      const verified = await PROVIDERS.gitee.verify(
        request({ headers: { 'x-gitee-token': presented, 'x-gitee-timestamp': String(now), 'x-gitee-event': 'Push Hook' }, body: Buffer.from('{}') }),
        context,
      );
      expect(verified).toMatchObject({ kind: 'event', eventName: 'Push', timestampMs: now, toleranceMs: 3_600_000 });
    }
    const password = await PROVIDERS.gitee.verify(
      request({ headers: { 'x-gitee-token': 's3cret-long', 'x-gitee-event': 'Push Hook' }, body: Buffer.from('{}') }),
      { ...context, settings: { mode: 'password' } },
    );
    expect(password).toMatchObject({ kind: 'event' });
    // A password is not accepted where the source expects signatures.
    expect(
      await PROVIDERS.gitee.verify(request({ headers: { 'x-gitee-token': 's3cret-long', 'x-gitee-timestamp': String(now) }, body: Buffer.from('{}') }), context),
    ).toMatchObject({ kind: 'rejected' });
  });
});

describe('feishu', () => {
  it('decrypts what Feishu encrypts and checks X-Lark-Signature over the raw body', () => {
    const { body, headers } = feishuRequest('key-1234', { hello: 'world' }, 1_700_000_000);
    const encrypted = (JSON.parse(body) as { encrypt: string }).encrypt;
    expect(feishuDecrypt('key-1234', encrypted)).toBe('{"hello":"world"}');
    expect(feishuDecrypt('other-key', encrypted)).not.toBe('{"hello":"world"}');
    expect(headers['X-Lark-Signature']).toBe(feishuSignature('1700000000', headers['X-Lark-Request-Nonce'] as string, 'key-1234', body));
  });

  it('answers an unencrypted, unsigned url_verification only with a matching verification token', async () => {
    const body = Buffer.from(JSON.stringify({ challenge: 'c1', token: 'vt', type: 'url_verification' }));
    const withToken = { credentials: [{ encryptKey: 'k'.repeat(16), verificationToken: 'vt' }], settings: {}, sourceName: 'f' };
    expect(await PROVIDERS.feishu.verify(request({ body }), withToken)).toEqual({ kind: 'handshake', statusCode: 200, json: { challenge: 'c1' } });
    const withoutToken = { credentials: [{ encryptKey: 'k'.repeat(16) }], settings: {}, sourceName: 'f' };
    expect(await PROVIDERS.feishu.verify(request({ body }), withoutToken)).toMatchObject({ kind: 'rejected' });
  });
});

describe('wecom', () => {
  const key = randomBytes(32).toString('base64').slice(0, 43);

  it('round-trips the documented framing and refuses another key or bad padding', () => {
    const encrypted = wecomEncrypt(key, '<xml><MsgType>text</MsgType></xml>', 'corp');
    expect(wecomDecrypt(key, encrypted)).toEqual({ message: '<xml><MsgType>text</MsgType></xml>', receiveId: 'corp' });
    const other = randomBytes(32).toString('base64').slice(0, 43);
    expect(wecomDecrypt(other, encrypted)?.message).not.toBe('<xml><MsgType>text</MsgType></xml>');
    expect(wecomDecrypt(key, 'AAAA')).toBeUndefined();
  });

  it('parses the top-level fields as strings and refuses DOCTYPEs', () => {
    expect(parseXmlMessage('<xml><MsgId>1234567890123456789</MsgId><Content><![CDATA[a & b]]></Content></xml>')).toEqual({
      MsgId: '1234567890123456789',
      Content: 'a & b',
    });
    expect(parseXmlMessage('<!DOCTYPE x [<!ENTITY a "b">]><xml><A>&a;</A></xml>')).toBeUndefined();
    expect(parseXmlMessage('not xml')).toBeUndefined();
  });
});

describe('sealer', () => {
  const ring = generateKeyRing();
  const sealer = keyRingSealer(fixedKeyRing(ring));

  it('opens what it sealed with the same associated data only', async () => {
    const sealed = await sealer.seal('{"current":{"secret":"s"}}', 'fleet-a\0src_1');
    expect(sealed).toMatch(/^v1\.1\./);
    expect(sealed).not.toContain('secret');
    expect(await sealer.open(sealed, 'fleet-a\0src_1')).toBe('{"current":{"secret":"s"}}');
    await expect(sealer.open(sealed, 'fleet-b\0src_1')).rejects.toThrow(SealedSecretAuthenticationError);
    const parts = sealed.split('.');
    const tag = Buffer.from(parts[4]!, 'base64url');
    tag[0] = tag[0]! ^ 1;
    const flipped = [...parts.slice(0, 4), tag.toString('base64url')].join('.');
    await expect(sealer.open(flipped, 'fleet-a\0src_1')).rejects.toThrow(SealedSecretAuthenticationError);
    await expect(keyRingSealer(fixedKeyRing(generateKeyRing())).open(sealed, 'fleet-a\0src_1')).rejects.toThrow(/does not authenticate/);
  });

  it('keeps inbound credentials and signing secrets apart under the same key ring', async () => {
    const signing = sealSigningSecrets(ring, 'fleet-a', 'src_1', { current: 'whsec_x' }).sealedSecret;
    await expect(sealer.open(signing, 'fleet-a\0src_1')).rejects.toThrow(SealedSecretAuthenticationError);
  });

  it('opens values sealed under an older key version after a key rotation', async () => {
    const old = await sealer.seal('v', 'aad');
    const rotated = keyRingSealer(fixedKeyRing(addKeyVersion(ring)));
    expect(await rotated.open(old, 'aad')).toBe('v');
    expect(await rotated.seal('v', 'aad')).toMatch(/^v1\.2\./);
  });
});

describe('source ids and the API base URL', () => {
  it('are 160 random bits in Crockford base32', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newSourceId()));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(isSourceId(id)).toBe(true);
    expect(isSourceId('src_short')).toBe(false);
  });

  it('ingest URLs carry the stage as API Gateway reports it', () => {
    const event = {
      httpMethod: 'POST',
      path: '/fleets/f/inbound-sources',
      headers: { Host: 'abc.execute-api.eu-west-1.amazonaws.com', 'X-Forwarded-Proto': 'https' },
      requestContext: { domainName: 'abc.execute-api.eu-west-1.amazonaws.com', path: '/v1/fleets/f/inbound-sources', requestId: 'r' },
      body: null,
    } as never;
    expect(readRequest(event, 'x').baseUrl).toBe('https://abc.execute-api.eu-west-1.amazonaws.com/v1');
    const custom = { ...(event as object), requestContext: { domainName: 'hooks.example.com', path: '/fleets/f/inbound-sources', requestId: 'r' } } as never;
    expect(readRequest(custom, 'x').baseUrl).toBe('https://hooks.example.com');
  });
});
