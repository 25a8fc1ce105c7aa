/** `scangate start`: run the daemon until SIGTERM/SIGINT/SIGHUP, then shut down in order. */
import { constants as osConstants } from 'node:os';
import { configFrom, parse } from '../args.js';
import { startGateway } from '../daemon.js';
import { createLogger } from '../log.js';
import { describeError, GatewayError } from '../../gateway/errors.js';

const USAGE = 'scangate start [--config FILE]';
/** A signal this long after the first ends the daemon at once; one sooner is the same signal delivered twice. */
const SECOND_SIGNAL_AFTER_MS = 1_000;

export default async function start(argv: string[]): Promise<number> {
  const { values } = parse(argv, { config: { type: 'string', short: 'c' } }, USAGE);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { config, source, envApplied } = configFrom(values.config as string | undefined);
  const log = createLogger(config.log.level, config.gatewayId);
  log.info({ source, envApplied }, 'configuration loaded');
  let gw;
  try {
    gw = await startGateway(config, log);
  } catch (err) {
    const code = err instanceof GatewayError ? err.code : 'SG_ERR_STORE';
    log.fatal({ code, hint: err instanceof GatewayError ? err.hint : undefined }, describeError(err));
    // The log is JSON on stdout (for the journal); whoever started it by hand reads stderr, as for the other verbs.
    process.stderr.write(`${describeError(err)}\n`);
    return 1;
  }
  const g = gw;
  // A rejection nobody waits on (a library's internal promise, say) must not stop a line at 3 a.m.: every read is
  // acknowledged only once durable, so going on loses nothing; the fault is logged for a bug report and counted
  // (scangate_internal_errors_total, worth an alert).
  process.on('unhandledRejection', (err) => {
    g.pipeline.counters.internalErrors++;
    log.error({ code: 'SG_ERR_INTERNAL', err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) }, 'unhandled rejection (the daemon goes on)');
  });
  return new Promise<number>((resolve) => {
    let firstAt = 0;
    const stop = (sig: NodeJS.Signals) => {
      if (firstAt !== 0) {
        // One keystroke or hang-up often comes twice (the terminal's, and the one npm or the shell forwards), and a
        // closed terminal sends SIGHUP again: only another signal a moment later means "now".
        if (sig === 'SIGHUP' || Date.now() - firstAt < SECOND_SIGNAL_AFTER_MS) return;
        log.warn({ signal: sig }, 'second signal: exiting now');
        process.exit(128 + (osConstants.signals[sig] ?? 2));
      }
      firstAt = Date.now();
      log.info({ signal: sig }, 'signal received');
      g.close().then(
        () => resolve(0),
        (err: unknown) => {
          log.error({ err: describeError(err) }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    // SIGHUP (the terminal of a daemon run by hand closed) stops it in order as well; another SIGTERM or SIGINT a
    // second or more after the first, while it stops, ends it at once (exit 128 + the signal's number).
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => stop(sig));
  });
}
