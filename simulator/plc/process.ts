/**
 * The virtual PLC in a child process, driven over IPC, so that it runs on its own core next to the gateway
 * (benchmarks). Messages in: {cmd:'start', opts}, {cmd:'generate', rate, readers?}, {cmd:'stop'},
 * {cmd:'stats', readers?, sinceMs?}, {cmd:'restart', downMs}, {cmd:'close'}; each is answered with
 * {id, ok, result | error}.
 */
import { VirtualPlc, type VirtualPlcOptions } from './server.js';
import type { LineStats } from './line.js';

export type PlcCommand =
  | { cmd: 'start'; opts: VirtualPlcOptions }
  | { cmd: 'generate'; rate: number; readers?: string[] }
  | { cmd: 'stop' }
  | { cmd: 'stats'; readers?: string[]; sinceMs?: number; untilMs?: number }
  | { cmd: 'restart'; downMs: number }
  | { cmd: 'close' };

export interface PlcStarted {
  port: number;
  endpointUrl: string;
}

let plc: VirtualPlc | null = null;

async function handle(m: PlcCommand): Promise<unknown> {
  switch (m.cmd) {
    case 'start':
      plc = new VirtualPlc(m.opts);
      await plc.start();
      return { port: plc.port, endpointUrl: plc.endpointUrl } satisfies PlcStarted;
    case 'generate':
      plc!.line.startGeneration(m.rate, m.readers);
      return null;
    case 'stop':
      plc!.line.stopGeneration();
      return null;
    case 'stats': {
      const only = m.readers === undefined ? null : new Set(m.readers);
      const since = m.sinceMs ?? 0;
      const until = m.untilMs ?? Infinity;
      return plc!.line.stats((rec, r) => (only === null || only.has(r.id)) && rec.atMs >= since && rec.atMs < until) satisfies LineStats;
    }
    case 'restart':
      await plc!.restart(m.downMs);
      return null;
    case 'close':
      await plc?.close();
      plc = null;
      setImmediate(() => process.exit(0));
      return null;
  }
}

if (process.send !== undefined) {
  process.on('message', (msg: { id: number } & PlcCommand) => {
    handle(msg).then(
      (result) => process.send!({ id: msg.id, ok: true, result }),
      (err: unknown) => process.send!({ id: msg.id, ok: false, error: (err as Error).stack ?? String(err) }),
    );
  });
  // The parent went away: do not linger.
  process.on('disconnect', () => process.exit(0));
}
