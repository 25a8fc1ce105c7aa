/**
 * Parser throughput on one core over a realistic mix of reads (strings, as the MQTT adapter hands them over).
 * Run: `node --import tsx bench/parse.ts`.
 */
import { pathToFileURL } from 'node:url';
import { compileParser, gs1CheckDigit } from '../gateway/parse/index.js';
import { prng } from './prng.js';

const TARGET_PER_S = 1_000_000;
const WARMUP_MS = 700;
const MEASURE_MS = 2500;
const POOL = 4096;


const SERIAL_CHARS = 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789abcdefghijkmnpqrstuvwxyz';

function serial(rnd: () => number, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) s += SERIAL_CHARS.charAt(Math.floor(rnd() * SERIAL_CHARS.length));
  return s;
}

function digits(rnd: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String(Math.floor(rnd() * 10));
  return s;
}

function gtin(rnd: () => number): string {
  const body = `0952012${digits(rnd, 6)}`;
  return body + gs1CheckDigit(body);
}

/** The mix: 60% DataMatrix (01,17,10,21), 15% SSCC, 15% Digital Link, 10% invalid. */
export function buildMix(seed = 1): string[] {
  const rnd = prng(seed);
  const out: string[] = [];
  for (let i = 0; i < POOL; i++) {
    const r = i % 20;
    const g = gtin(rnd);
    if (r < 12) out.push(`]d201${g}1727033110LOT${digits(rnd, 4)}\x1d21${serial(rnd, 12)}`);
    else if (r < 15) {
      const body = `0952012${digits(rnd, 10)}`;
      out.push(`]C100${body}${gs1CheckDigit(body)}`);
    } else if (r < 18) out.push(`]Q1https://id.example.com/01/${g}/21/${serial(rnd, 10)}?17=${rnd() < 0.5 ? '270331' : '281200'}`);
    else if (r === 18) out.push(`]d201${g.slice(0, 13)}${(Number(g[13]) + 1) % 10}17270331\x1d21${serial(rnd, 12)}`);
    else out.push(`]d201${g}17270331${rnd() < 0.5 ? '89' : '21#'}${serial(rnd, 8)}`);
  }
  return out;
}

/** Prints parses per second on one core and whether the target is met. */
export async function run(): Promise<void> {
  const parse = compileParser({ dd00Policy: 'accept' });
  const mix = buildMix();
  let sink = 0;
  const loop = (ms: number): { n: number; ns: bigint } => {
    const t0 = process.hrtime.bigint();
    const until = t0 + BigInt(ms) * 1_000_000n;
    let n = 0;
    for (;;) {
      for (let i = 0; i < 1024; i++) {
        const r = parse(mix[(n + i) & (POOL - 1)] as string);
        if (r.ok) sink += r.ais['01'] === undefined ? 1 : 2; // use the result, so no work is optimised away
      }
      n += 1024;
      if (process.hrtime.bigint() >= until) break;
    }
    return { n, ns: process.hrtime.bigint() - t0 };
  };
  loop(WARMUP_MS);
  const { n, ns } = loop(MEASURE_MS);
  const perS = Math.round((n * 1e9) / Number(ns));
  const ok = mix.filter((x) => parse(x).ok).length;
  console.log(`parse: ${perS.toLocaleString('en-US')} parses/s (mix: 60% ]d2 01+17+10+21, 15% ]C1 SSCC, 15% ]Q1 Digital Link, 10% invalid; ${ok}/${mix.length} valid)`);
  if (sink < 0) console.log(sink);
  console.log(`target >= ${TARGET_PER_S.toLocaleString('en-US')}/s: ${perS >= TARGET_PER_S ? 'PASS' : 'FAIL'}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
