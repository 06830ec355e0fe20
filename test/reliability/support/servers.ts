import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export async function listen(server: Server, host: string, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

export async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export interface CountingListener {
  /** Port on 127.0.0.1. */
  port: number;
  /** Port on ::1. */
  port6: number;
  /** TCP connections accepted on either address: an SSRF test wants this to stay 0. */
  connections(): number;
  stop(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 and ::1 that answers 200 and counts every connection it accepts. */
export async function startCountingListener(): Promise<CountingListener> {
  let count = 0;
  const make = () => {
    const server = createServer((_req, res) => res.end('reached'));
    server.on('connection', () => {
      count += 1;
    });
    return server;
  };
  const v4 = make();
  const v6 = make();
  const port = await listen(v4, '127.0.0.1');
  const port6 = await listen(v6, '::1');
  return {
    port,
    port6,
    connections: () => count,
    stop: async () => {
      await Promise.all([close(v4), close(v6)]);
    },
  };
}
