/**
 * One uplink per data directory: the daemon and `scangate outbox replay` must never forward the same outbox
 * at once (two publishers of one subject would fight over its fences). A small pid file says who owns it; a
 * file left by a process that no longer runs is taken over.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GatewayError } from '../../gateway/errors.js';
import { alive } from '../../gateway/pid.js';

/** The pid of another live process that owns the uplink of `dataDir` (the running daemon), or null. */
export function uplinkOwner(dataDir: string): number | null {
  let owner: number;
  try {
    owner = Number(readFileSync(join(dataDir, 'uplink.pid'), 'utf8').split('\n')[0]);
  } catch {
    return null;
  }
  return Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner) ? owner : null;
}

/** Take the uplink of `dataDir`; returns the release function. Throws SG_ERR_UPLINK_LOCKED when taken. */
export function lockUplink(dataDir: string, what: string): () => void {
  const file = join(dataDir, 'uplink.pid');
  const owner = uplinkOwner(dataDir);
  if (owner !== null) {
    throw new GatewayError('SG_ERR_UPLINK_LOCKED', `process ${owner} already forwards the outbox of ${dataDir}`, {
      hint: 'stop the running gateway first (its own uplink sends the outbox), or use `scangate outbox stats` to inspect it',
    });
  }
  writeFileSync(file, `${process.pid}\n${what}\n`);
  return () => {
    try {
      if (Number(readFileSync(file, 'utf8').split('\n')[0]) === process.pid) rmSync(file, { force: true });
    } catch {
      // already gone
    }
  };
}
