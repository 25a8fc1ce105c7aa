/** The duplicate-read index: exact matches by station and code within the window, bounded, off the heap. */
import { DupIndex } from '../../gateway/dup-index.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('dup-index');

function remember(ix: DupIndex, station: number, code: string, nowMs: number, windowMs: number, json: string): void {
  const room = ix.reserve(code, Buffer.byteLength(json))!;
  const end = room.offset + room.ring.write(json, room.offset);
  ix.commit(station, nowMs, windowMs, end);
}

test('dup-index - finds a code at its station within the window, and nothing else', () => {
  const ix = new DupIndex(1 << 20);
  remember(ix, 1, 'CODE-A', 1000, 2000, '{"a":1}');
  assert.is(ix.get(1, 'CODE-A', 1500, 2000)?.toString(), '{"a":1}');
  assert.is(ix.get(2, 'CODE-A', 1500, 2000), undefined, 'another station');
  assert.is(ix.get(1, 'CODE-B', 1500, 2000), undefined, 'another code');
  assert.is(ix.get(1, 'CODE-', 1500, 2000), undefined, 'a prefix');
  assert.is(ix.get(1, 'CODE-A', 3000, 2000), undefined, 'the window is over');
  assert.is(ix.get(1, 'CODE-A', 2999, 2000)?.toString(), '{"a":1}', 'still inside');
});

test('dup-index - a later verdict for the same code replaces the earlier one', () => {
  const ix = new DupIndex(1 << 20);
  remember(ix, 1, 'X', 1000, 2000, '"first"');
  remember(ix, 1, 'X', 1100, 2000, '"second"');
  assert.is(ix.get(1, 'X', 1200, 2000)?.toString(), '"second"');
});

test('dup-index - codes that share a hash bucket are told apart exactly', () => {
  // 131,072 slots in 4-way buckets: 200,000 codes fill every bucket many times over.
  const ix = new DupIndex(64 << 20);
  for (let i = 0; i < 200_000; i++) remember(ix, 3, `C${i}`, 10_000, 60_000, `${i}`);
  let found = 0;
  for (let i = 0; i < 200_000; i++) {
    const v = ix.get(3, `C${i}`, 10_001, 60_000);
    if (v !== undefined) {
      found++;
      assert.is(v.toString(), `${i}`, `C${i} never answers with another code's verdict`);
    }
  }
  assert.ok(found > 100_000 && found <= 131_072, `${found} kept`);
  assert.is(ix.evicted, 200_000 - found, 'every code pushed out is counted');
});

test('dup-index - the ring is bounded: old entries are overwritten, never read back wrong', () => {
  const ix = new DupIndex(64 * 1024);
  const json = 'x'.repeat(200);
  for (let i = 0; i < 2_000; i++) remember(ix, 1, `K${i}`, i, 1e9, `${json}${i}`);
  assert.is(ix.get(1, 'K0', 3000, 1e9), undefined, 'long overwritten');
  assert.is(ix.get(1, 'K1999', 3000, 1e9)?.toString(), `${json}1999`);
  for (let i = 0; i < 2_000; i++) {
    const v = ix.get(1, `K${i}`, 3000, 1e9);
    if (v !== undefined) assert.is(v.toString(), `${json}${i}`);
  }
});

test('dup-index - codes with any characters, and an entry too large to keep', () => {
  const ix = new DupIndex(1 << 20);
  const codes = ['\u001d', 'é\u00ff', '\u{1f600}', '\ud800', ']d201\u001d21"\\'];
  codes.forEach((c, i) => remember(ix, 1, c, 0, 10, `${i}`));
  codes.forEach((c, i) => assert.is(ix.get(1, c, 1, 10)?.toString(), `${i}`, JSON.stringify(c)));
  assert.is(ix.reserve('big', 1 << 20), null);
  assert.is(ix.tooLarge, 1);
});

test.run();
