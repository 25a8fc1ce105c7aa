/**
 * node-opcua writes its own warnings and errors to the console; the daemon logs JSON through pino only. Route
 * them to a child logger: warnings at debug (the adapter logs what matters, with codes), errors at warn,
 * rate-limited. The setting is process-wide (node-opcua has one logger).
 */
import type { Logger } from 'pino';
import { setErrorLogger, setWarningLogger } from 'node-opcua';

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

function text(args: unknown[]): string {
  return args
    .filter((a) => typeof a !== 'object' || a === null || a instanceof Error)
    .map((a) => (typeof a === 'string' ? a : a instanceof Error ? a.message : String(a)))
    .join(' ')
    .replace(ANSI, '')
    .slice(0, 500);
}

export function routeNodeOpcuaLogs(log: Logger): void {
  let windowStart = 0;
  let inWindow = 0;
  setWarningLogger((...args: unknown[]) => log.debug({ lib: 'node-opcua' }, text(args)));
  setErrorLogger((...args: unknown[]) => {
    const now = Date.now();
    if (now - windowStart > 10_000) {
      windowStart = now;
      inWindow = 0;
    }
    if (++inWindow <= 5) log.warn({ lib: 'node-opcua' }, text(args));
    else log.debug({ lib: 'node-opcua' }, text(args));
  });
}
