import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAddressPolicy } from '../../../lambdas/core/address';
import { createHttpDelivery, type HttpDelivery } from '../../../lambdas/shared/http-delivery';
import { selfSignedCertificate } from '../../reliability/support/tls';

let server: Server;
let port = 0;
let delivery: HttpDelivery;

beforeAll(async () => {
  server = createServer(selfSignedCertificate(), (_req, res) => {
    res.statusCode = 204;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  delivery = createHttpDelivery({ policy: createAddressPolicy(['127.0.0.0/8']) });
});

afterAll(async () => {
  await delivery?.close();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('tlsVerify', () => {
  const post = (tlsVerify?: boolean) =>
    delivery.post({ url: `https://127.0.0.1:${port}/hook`, headers: {}, body: '{}', timeoutMs: 10_000, ...(tlsVerify === undefined ? {} : { tlsVerify }) });

  it('refuses a self-signed certificate by default and with tlsVerify true', async () => {
    expect(await post()).toMatchObject({ errorKind: 'tls' });
    expect(await post(true)).toMatchObject({ errorKind: 'tls' });
  });

  it('skips verification only for a POST that asks, and a verified POST afterwards still refuses', async () => {
    expect(await post(false)).toMatchObject({ statusCode: 204 });
    expect(await post(true)).toMatchObject({ errorKind: 'tls' });
  });
});
