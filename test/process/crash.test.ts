/**
 * Crash safety of a transition: a process aggregating items into cases is SIGKILLed at random moments; after
 * each kill the store holds no half state. Every serial's parent and its container's children agree, and
 * every stored transition has its event in the outbox journal and every accepted event its transition.
 */
import { forEachEvent } from '../../gateway/outbox/block.js';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Cache } from '../../gateway/cache/cache.js';
import { parseSerialKey } from '../../gateway/cache/keys.js';
import { decodeRecord } from '../../gateway/cache/record.js';
import { STATUSES } from '../../gateway/reasons.js';
import { Store } from '../../gateway/store.js';
import { importFile } from '../../gateway/import/index.js';
import { ScanEvent } from '../../protocol/index.js';
import { demoGtin, tempDir, writeCsv } from '../helpers/gateway.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('crash');
const WRITER = fileURLToPath(new URL('../fixtures/crash-writer.ts', import.meta.url));
const KILLS = 6;
const CASES_PER_RUN = 20_000; // case numbers of each run start apart, so runs never collide

function runAndKill(dir: string, start: number, afterMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, String(start)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const timer = setTimeout(() => reject(new Error('writer did not start')), 20_000);
    child.stdout.once('data', () => {
      clearTimeout(timer);
      setTimeout(() => child.kill('SIGKILL'), afterMs);
    });
    child.once('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited on its own (${signal})`))));
  });
}

test('crash - SIGKILL mid-write never leaves half a transition', async () => {
  const tmp = tempDir();
  try {
    const G = demoGtin(9);
    const rows: string[][] = [];
    for (let c = 0; c < KILLS * CASES_PER_RUN; c += 1) {
      if (c % CASES_PER_RUN >= 1500) continue; // each run gets through far fewer cases than this
      for (let i = 0; i < 10; i++) rows.push([G, `I${c * 10 + i}`, 'L1', '2031-12-31', 'RECEIVED']);
    }
    let store = Store.open(tmp.dir);
    await importFile(store, writeCsv(tmp.dir, rows));
    await store.close();

    let totalPacked = 0;
    for (let k = 0; k < KILLS; k++) {
      await runAndKill(tmp.dir, k * CASES_PER_RUN, 150 + Math.floor(Math.random() * 600));
      store = Store.open(tmp.dir);
      const cache = new Cache(store);
      // Accepted events in the journal, by serial.
      const evented = new Map<string, number>();
      for (const { value } of store.journal.getRange()) {
        forEachEvent(value, (v) => {
          if (v[0] !== 4) return;
          const ev = ScanEvent.decode(v.subarray(1));
          if (ev.reason === 0 && ev.serial) evented.set(ev.serial, ev.statusAfter);
        });
      }
      let packed = 0;
      for (const { key, value } of store.serials.getRange()) {
        const { serial } = parseSerialKey(key);
        const rec = decodeRecord(value);
        if (rec.status === STATUSES.PACKED) {
          packed++;
          assert.ok(rec.parent !== '', `${serial} is PACKED with no parent`);
          assert.ok(cache.getContainer(rec.parent)?.children.includes(`${G}${serial}`), `${serial}: its container ${rec.parent} does not list it`);
          assert.is(evented.get(serial), STATUSES.PACKED, `${serial} changed without its event`);
        } else {
          assert.is(rec.parent, '', `${serial} has a parent but is ${rec.status}`);
          assert.is(evented.has(serial), false, `${serial} has an accepted event but no transition`);
        }
      }
      for (const { value } of store.containers.getRange()) {
        for (const id of value.children) {
          const rec = cache.getSerial(id.slice(0, 14), id.slice(14));
          assert.is(rec?.status, STATUSES.PACKED, `child ${id} of a container is not PACKED`);
        }
      }
      assert.is(evented.size, packed, 'accepted events and transitions match one to one');
      assert.ok(packed > totalPacked, `run ${k} made progress before the kill (${packed} packed)`);
      totalPacked = packed;
      await store.close();
    }
    console.log(`${KILLS} kills, ${totalPacked} items packed, no half state`);
  } finally {
    tmp.dispose();
  }
}, 120_000);

test.run();
