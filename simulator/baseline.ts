/**
 * The raw ceiling to compare the gateway with: a bare aedes broker (no authorisation hook, no decisions, no
 * disk) in a process of its own, taking QoS 1 publishes from the same lean client the scanners use, as fast
 * as it acknowledges them. The gateway's throughput divided by this figure, measured in the same run on the
 * same machine, says how much of the MQTT layer's capacity the gateway's work leaves.
 */
import { NODE_FLAGS } from '../cli/node-flags.js';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from './gateway-process.js';
import { PacketType, WireConnection, publishPacket } from './wire.js';

/**
 * The broker's script. Its first import quiets the `debug` loggers of mqtt-packet as the gateway does
 * (adapters/mqtt/quiet-debug.ts, compiled), so the ceiling and the gateway pay the same per packet.
 */
const broker = (root: string) => `
import ${JSON.stringify(pathToFileURL(join(root, 'dist/adapters/mqtt/quiet-debug.js')).href)};
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
const broker = await Aedes.createBroker({ concurrency: 0 });
const server = createServer(broker.handle);
server.listen(0, '127.0.0.1', () => process.stdout.write('PORT ' + server.address().port + '\\n'));
process.on('SIGTERM', () => process.exit(0));
`;

export interface BaselineResult {
  /** QoS 1 publishes acknowledged per second by the bare broker. */
  qos1PerS: number;
  connections: number;
  window: number;
  measuredMs: number;
}

/** Measure for `measureMs` after `warmupMs`, with `connections` publishers keeping `window` publishes in flight. */
export async function measureAedesCeiling(o: { connections?: number; window?: number; warmupMs?: number; measureMs?: number } = {}): Promise<BaselineResult> {
  const connections = o.connections ?? 16;
  const window = o.window ?? 64;
  const root = packageRoot();
  const child = spawn(process.execPath, [...NODE_FLAGS, '--input-type=module', '-e', broker(root)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      const t = setTimeout(() => reject(new Error('the bare aedes broker did not start in 10 s')), 10_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /PORT (\d+)/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(Number(m[1]));
        }
      });
      child.once('exit', (code) => reject(new Error(`the bare aedes broker exited with ${code}`)));
    });
    let acked = 0;
    let stopping = false;
    const conns: WireConnection[] = [];
    const payload = Buffer.from(JSON.stringify({ code: ']d201095201234567881730123110LOT-A1\u001d21SN0000000001', seq: 1, device: 'baseline' }));
    for (let c = 0; c < connections; c++) {
      let pid = 1;
      const topic = `scangate/v1/demo/L${c}/pack/read`;
      const fill = (n: number) => {
        if (stopping) return;
        const parts: Buffer[] = [];
        for (let k = 0; k < n; k++) {
          parts.push(publishPacket(topic, payload, 1, pid, false));
          pid = pid === 65535 ? 1 : pid + 1;
        }
        conn.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
      };
      let pendingAcks = 0;
      const conn: WireConnection = new WireConnection(
        { host: '127.0.0.1', port, clientId: `baseline-${c}`, clean: true, keepaliveS: 0 },
        {
          onPacket: (first) => {
            if (first >> 4 !== PacketType.PUBACK) return;
            acked++;
            pendingAcks++;
          },
          // Refill once per socket read: fewer, larger writes, as the scanners do.
          onChunkEnd: () => {
            const n = pendingAcks;
            pendingAcks = 0;
            if (n > 0) fill(n);
          },
        },
      );
      await conn.open();
      conns.push(conn);
      fill(window);
    }
    await new Promise((r) => setTimeout(r, o.warmupMs ?? 1000));
    const a0 = acked;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, o.measureMs ?? 3000));
    const measuredMs = performance.now() - t0;
    const n = acked - a0;
    stopping = true;
    for (const c of conns) c.destroy();
    return { qos1PerS: Math.round((n * 1000) / measuredMs), connections, window, measuredMs: Math.round(measuredMs) };
  } finally {
    child.kill('SIGTERM');
  }
}
