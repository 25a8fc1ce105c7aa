/** Gateway test fixtures: a config on free ports in a temp data dir, a silent logger, CSV files. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { configSchema, type Config, type ConfigInput } from '../../gateway/config/index.js';
import { gs1CheckDigit } from '../../gateway/parse/index.js';

export const silentLog = pino({ level: 'silent' });

export function tempDir(prefix = 'sg-test-'): { dir: string; dispose: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A config for tests: MQTT and HTTP on ports the OS picks, NATS where the test says. */
export function testConfig(dataDir: string, natsUrl: string, extra: Partial<ConfigInput> = {}): Config {
  const base: ConfigInput = {
    gatewayId: 'gw-test',
    dataDir,
    log: { level: 'silent' },
    mqtt: { host: '127.0.0.1', port: 0 },
    http: { enabled: false },
    nats: { servers: [natsUrl], retryDelayMs: 100, connectTimeoutMs: 1000, publishTimeoutMs: 2000 },
    batch: { maxEvents: 50, maxDelayMs: 20 },
    // Tests do not depend on how full the machine's disk is (test/integration/disk-low.test.ts sets its own).
    outbox: { minFreeDiskBytes: 16_777_216 },
  };
  return configSchema.parse({ ...base, ...extra, mqtt: { ...base.mqtt, ...extra.mqtt }, nats: { ...base.nats, ...extra.nats }, batch: { ...base.batch, ...extra.batch }, outbox: { ...base.outbox, ...extra.outbox } });
}

/** A valid GTIN-14 under the GS1 demo prefix 952 (DOMAIN.md). */
export function demoGtin(item: number): string {
  const body = `0952${String(item).padStart(9, '0')}`;
  return body + gs1CheckDigit(body);
}

export function writeCsv(dir: string, rows: readonly (readonly string[])[], name = 'serials.csv'): string {
  const file = join(dir, name);
  writeFileSync(file, ['gtin,serial,lot,expiry,status', ...rows.map((r) => r.join(','))].join('\n') + '\n');
  return file;
}

/** `]d2` element string with GS after the variable-length lot. */
export function dm(gtin: string, serial: string, lot = 'LOT1', expiryYYMMDD = '301231'): string {
  return `]d201${gtin}17${expiryYYMMDD}10${lot}\u001d21${serial}`;
}

/** Poll until `cond()` holds, or fail after `ms` with `what`. */
export async function waitUntil(cond: () => boolean, ms: number, what: string): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - t0;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
