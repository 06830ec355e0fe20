import { describe, expect, it } from 'vitest';
import { createEndpointChecker } from '../../../lambdas/api/endpoint-check';
import type { ClientError } from '../../../lambdas/core/errors';

const notFound = async (): Promise<never> => {
  throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
};

async function reasonFor(check: (raw: string) => Promise<URL>, url: string): Promise<string> {
  try {
    await check(url);
  } catch (error) {
    return (error as ClientError).details[0]!.reason;
  }
  throw new Error(`${url} was accepted`);
}

describe('endpoint check where loopback targets are allowed (local mode)', () => {
  const check = createEndpointChecker({ allowPrivateTargets: ['127.0.0.0/8', '::1/128'], resolve: notFound });

  it('reports the https rule first for http://example.com when its host does not resolve', async () => {
    const reason = await reasonFor(check, 'http://example.com/hook');
    expect(reason).toMatch(/^must use https:/);
    expect(reason).toMatch(/does not resolve/);
  });

  it('reports the https rule for an http URL of a public host', async () => {
    const publicHost = createEndpointChecker({
      allowPrivateTargets: ['127.0.0.0/8'],
      resolve: async () => [{ address: '93.184.215.14', family: 4 }],
    });
    expect(await reasonFor(publicHost, 'http://example.com/hook')).toMatch(/^must use https:/);
  });

  it('still says only that an https host does not resolve', async () => {
    expect(await reasonFor(check, 'https://nowhere.example.com/hook')).toMatch(/^host nowhere\.example\.com does not resolve/);
  });
});
