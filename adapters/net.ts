/** Small socket helpers shared by the adapters. */
import type { Server } from 'node:net';
import { GatewayError } from '../gateway/errors.js';

/** Listen, turning EADDRINUSE/EACCES into an error that names the config key. Resolves to the bound port. */
export function listen(server: Server, host: string, port: number, key: string, env: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'is already in use' : err.code === 'EACCES' ? 'needs privileges this user does not have' : `cannot be bound (${err.code ?? err.message})`;
      reject(
        new GatewayError('SG_ERR_PORT_IN_USE', `${host}:${port} ${why} (${key})`, {
          cause: err,
          hint: `set ${key} (or ${env}) to a free port, or stop the process that holds it`,
        }),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
    });
  });
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
export function isLoopback(addr: string | undefined): boolean {
  if (addr === undefined) return false;
  return addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.');
}
