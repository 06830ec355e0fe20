import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Every stand-in listens here only: local mode must never be reachable from the network. */
export const LOOPBACK_HOST = '127.0.0.1';

/** Listens on a free loopback port; resolves with the server's `http://` origin. */
export function listenOnLoopback(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(0, LOOPBACK_HOST, () => {
      server.off('error', onError);
      const { port } = server.address() as AddressInfo;
      resolve(`http://${LOOPBACK_HOST}:${port}`);
    });
  });
}

/** Closes a server, also dropping keep-alive sockets an SDK client may still hold open. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}
