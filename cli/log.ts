/** The daemon's root logger: pino JSON on stdout; components take a child ({ component }). */
import { pino, type Logger } from 'pino';

export function createLogger(level: string, gatewayId: string): Logger {
  const dest = pino.destination({ dest: 1, sync: false });
  // stdout gone (the terminal of a daemon run by hand closed: EIO; a closed pipe: EPIPE): the daemon goes on, and
  // stops in order on the SIGHUP that comes with it, without its log. An error here would otherwise be uncaught.
  dest.on('error', () => {
    const quiet = dest as unknown as Record<string, unknown>;
    for (const m of ['write', 'flush', 'flushSync', 'end']) quiet[m] = () => true;
  });
  return pino({ level, base: { gatewayId }, timestamp: pino.stdTimeFunctions.isoTime }, dest);
}
