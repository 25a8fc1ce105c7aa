/**
 * Bulk load into the cache from CSV or NDJSON: every record is checked (check digits, statuses, dates,
 * character sets), references are resolved (parents exist in the file or the cache; no cycles), and then
 * everything is written in one LMDB transaction, or nothing is.
 *
 * CSV: a header naming the columns (gtin, serial required; lot, expiry, status, parent, hold, recall, blocked
 * optional), one serial per line, RFC 4180 quoting. NDJSON: one object per line, `type` serial (default with
 * gtin + serial), container (default with sscc), lot or product.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import type { Readable } from 'node:stream';
import { GatewayError } from '../errors.js';
import { alive } from '../pid.js';
import { freeDiskBytes } from '../disk-guard.js';
import { IMPORT_STAMP_KEY } from '../cache/cache.js';
import { lotKey } from '../cache/keys.js';
import { ssccKey, containerChildId, itemChildId, newContainer, type ContainerRecord } from '../cache/container.js';
import { addedChildren, putAddedChildren, withAddedChildren } from '../cache/container-adds.js';
import { isoToDays, newRecord, type SerialRecord } from '../cache/record.js';
import type { StatusName } from '../reasons.js';
import type { Store } from '../store.js';
import { splitCsvLine } from './csv.js';
import { SeenRecords } from './seen.js';
import { SerialRows } from './serial-rows.js';
import { checkRecord, ndjsonKeysProblem, type ContainerRow, type ImportRow, type LotRow, type ProductRow, type RowError, type SerialRow } from './rows.js';

export type { RowError } from './rows.js';

export interface ImportOptions {
  /** Status for records that give none. */
  defaultStatus?: StatusName | undefined;
  /** Refuse the file unless it holds exactly this many records (a load whose count does not match its claim). */
  expect?: number | undefined;
  /** csv or ndjson; default from the file name (.ndjson/.jsonl) or the first character. */
  format?: 'csv' | 'ndjson' | undefined;
  /**
   * Serials per transaction; 0 (the default): everything in one. LMDB has one writer at a time, so a running
   * daemon's writes wait for each transaction: chunks let them through in between (see IMPORT_MARKER_PREFIX).
   */
  chunkRows?: number | undefined;
  /**
   * Free bytes the data directory's disk must keep (outbox.minFreeDiskBytes): before each transaction the import
   * checks that this much stays free after it, or stops with SG_ERR_DISK_LOW (LMDB must never meet a full disk,
   * least of all while the daemon writes to the same file). 0 or absent: no check.
   */
  minFreeDiskBytes?: number | undefined;
  /** Free bytes of the filesystem holding a directory (tests substitute their own). */
  freeDiskBytes?: ((dir: string) => number) | undefined;
}

/**
 * Disk an imported serial may take at most: 1,000,000 serials in random key order grew the file by 69 bytes each
 * in one transaction, and by 198 in transactions of 50,000 (each one splits and copies pages the last filled).
 */
const DISK_BYTES_PER_SERIAL = 256;
/** And for any transaction (meta, free-list); the first adds its containers, children, lots and products. */
const DISK_BYTES_BASE = 4 * 1_048_576;
const DISK_BYTES_PER_CONTAINER = 512;
const DISK_BYTES_PER_CHILD = 64;
const DISK_BYTES_PER_LOT_OR_PRODUCT = 128;

function checkDisk(store: Store, opts: ImportOptions, serials: number, restBytes: number, chunked: boolean): void {
  const min = opts.minFreeDiskBytes ?? 0;
  if (min <= 0) return;
  const dir = dirname(store.path);
  const free = (opts.freeDiskBytes ?? freeDiskBytes)(dir);
  const need = DISK_BYTES_BASE + restBytes + serials * DISK_BYTES_PER_SERIAL;
  if (free - need >= min) return;
  const mib = (b: number) => `${Math.round(b / 1_048_576).toLocaleString('en-US')} MiB`;
  throw new GatewayError(
    'SG_ERR_DISK_LOW',
    `${mib(free)} free on the disk of ${dir}; the next transaction of this import (${serials.toLocaleString('en-US')} serials${restBytes > 0 ? ', with the containers, lots and products' : ''}) may take up to ${mib(need)}, and ${mib(min)} must stay free (outbox.minFreeDiskBytes)`,
    {
      hint: chunked
        ? 'free space on that disk, then import the same file again: it completes what was written (SG_ERR_IMPORT_INTERRUPTED names it until then)'
        : 'free space on that disk (or import the file in parts), then import it again: nothing of it was written',
    },
  );
}

/**
 * Meta keys (this prefix + the file's absolute path) set while an import written in several transactions is
 * under way: lots, products and containers go first with it, then the serials in chunks, the last of which
 * removes it. Found later, that import was interrupted (killed, power lost) with part of its serials written:
 * importing the same file again completes it and removes the key.
 */
export const IMPORT_MARKER_PREFIX = 'importInProgress:';

export interface ImportMarker {
  file: string;
  records: number;
  startedAt: string;
  pid: number;
}

/** The warning for an interrupted import: the daemon logs it at start, `scangate import` prints it. */
export function interruptedError(m: ImportMarker): GatewayError {
  return new GatewayError('SG_ERR_IMPORT_INTERRUPTED', `the import of ${m.file} (${m.records} records, started ${m.startedAt}) was interrupted: the cache holds part of its serials`, {
    hint: `import ${m.file} again to complete it`,
  });
}

/** Imports that were interrupted part-way, as their markers say (not those whose process still runs them). */
export function interruptedImports(store: Store): ImportMarker[] {
  const markers = [...store.meta.getRange({ start: IMPORT_MARKER_PREFIX, end: `${IMPORT_MARKER_PREFIX}\uffff` })].map((e) => e.value as ImportMarker);
  return markers.filter((m) => !alive(m.pid));
}

export interface ImportResult {
  /** LMDB transactions the import was written in. */
  transactions: number;
  records: number;
  serials: number;
  containers: number;
  lots: number;
  products: number;
}

/** How many bad rows to list (all are counted). */
const MAX_LISTED = 100;
const CSV_COLUMNS = new Set(['gtin', 'serial', 'lot', 'expiry', 'status', 'parent', 'hold', 'recall', 'blocked']);

interface Parsed {
  serials: SerialRows;
  containers: Map<string, ContainerRow>;
  lots: LotRow[];
  products: ProductRow[];
  errors: RowError[];
  bad: number;
  records: number;
}

export async function readImportFile(file: string, opts: ImportOptions = {}): Promise<Parsed> {
  const out: Parsed = { serials: new SerialRows(), containers: new Map(), lots: [], products: [], errors: [], bad: 0, records: 0 };
  const bad = (line: number, message: string) => {
    out.bad++;
    if (out.errors.length < MAX_LISTED) out.errors.push({ line, message });
  };
  const stream = createReadStream(file);
  try {
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
  } catch (err) {
    throw new GatewayError('SG_ERR_IMPORT_READ', `cannot read ${file}: ${(err as Error).message}`, { cause: err, hint: 'check the path' });
  }
  let format = opts.format ?? (/\.(nd)?jsonl?$/i.test(file) ? 'ndjson' : undefined);
  let header: string[] | null = null;
  let columns: ColumnIndexes | null = null;
  const seen = new SeenRecords();
  let lineNo = 0;
  const onLine = (raw: string): void => {
    lineNo++;
    if ((lineNo & (MEMORY_CHECK_LINES - 1)) === 0) checkMemory(file, lineNo, out.records);
    const line = lineNo === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    if (line.trim() === '') return;
    format ??= line.trimStart().startsWith('{') ? 'ndjson' : 'csv';
    let obj: Record<string, unknown>;
    if (format === 'ndjson' || header !== null) out.records++; // every data line counts, good or bad
    if (format === 'ndjson') {
      try {
        const j: unknown = JSON.parse(line);
        if (j === null || typeof j !== 'object' || Array.isArray(j)) throw new Error('not an object');
        obj = j as Record<string, unknown>;
      } catch (err) {
        bad(lineNo, `not a JSON object: ${(err as Error).message}`);
        return;
      }
      const keysBad = ndjsonKeysProblem(obj);
      if (keysBad !== null) {
        bad(lineNo, keysBad);
        return;
      }
    } else {
      const fields = splitCsvLine(line);
      if (typeof fields === 'string') {
        bad(lineNo, fields);
        return;
      }
      if (header === null) {
        header = fields.map((f) => f.trim().toLowerCase());
        const unknown = header.filter((h) => !CSV_COLUMNS.has(h));
        if (unknown.length > 0 || !header.includes('gtin') || !header.includes('serial') || new Set(header).size !== header.length) {
          throw new GatewayError('SG_ERR_IMPORT_READ', `${file} line ${lineNo}: header ${JSON.stringify(line.length > 80 ? `${line.slice(0, 80)}...` : line)} is not valid${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}`, {
            hint: `the first line names the columns: gtin,serial and optionally ${[...CSV_COLUMNS].slice(2).join(',')}; e.g. gtin,serial,lot,expiry,status`,
          });
        }
        columns = columnIndexes(header);
        return;
      }
      if (fields.length !== header.length) {
        bad(lineNo, `expected ${header.length} fields (${header.join(',')}), found ${fields.length}`);
        return;
      }
      obj = csvRow(columns!, fields);
    }
    const rec = checkRecord(obj, lineNo, opts.defaultStatus);
    if (typeof rec === 'string') {
      bad(lineNo, rec);
      return;
    }
    if (rec.kind === 'serial' ? !out.serials.add(rec.gtin, rec.serial, serialRecord(rec), lineNo) : !seen.add(rec)) {
      bad(lineNo, `${describe(rec)} appears twice in the file`);
      return;
    }
    if (rec.kind === 'container') out.containers.set(rec.sscc, rec);
    else if (rec.kind === 'lot') out.lots.push(rec);
    else if (rec.kind === 'product') out.products.push(rec);
  };
  try {
    await eachLine(stream, onLine);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // The file could be opened but not read (a directory, an I/O error: a system error code): nothing was
    // imported. Anything else is not the file's fault and goes on as it is.
    if (err instanceof GatewayError || typeof e.code !== 'string' || typeof e.syscall !== 'string') throw err;
    throw new GatewayError('SG_ERR_IMPORT_READ', `cannot read ${file}: ${e.code === 'EISDIR' ? 'it is a directory' : e.message}; nothing was imported`, {
      cause: err,
      hint: e.code === 'EISDIR' ? 'give the CSV or NDJSON file itself, e.g. scangate import DIR/serials.csv' : 'check the file and the disk it is on',
    });
  }
  if (out.records === 0 && out.bad === 0) {
    throw new GatewayError('SG_ERR_IMPORT_READ', `${file} holds no records`, { hint: 'CSV: a header line then one serial per line; NDJSON: one JSON object per line' });
  }
  return out;
}

/**
 * Lines between two looks at the memory while a file is read (a power of two). Lots and containers take about
 * 250 bytes of heap each: 8,192 of them are ~2 MiB, small beside the room HEAP_SHARE leaves, so the heap cannot
 * fill between two looks (at 65,536 lines, 16 MiB, it could). A look costs a few microseconds.
 */
const MEMORY_CHECK_LINES = 8_192;
/**
 * Share of the heap limit the records read may take before the import gives up: the limit counts the young
 * generation too (3 x --max-semi-space-size), and the writes need room after the reading.
 */
const HEAP_SHARE = 0.55;
/** Share of the machine's memory the whole process may take while reading (serials live outside the heap). */
const RAM_SHARE = 0.6;

/**
 * Every record is held until the file is checked whole (all or nothing): serials as bytes outside the heap
 * (about 50 each), containers, lots and products as objects on it. A file too large for this process's heap
 * or this machine's memory stops here with a clear error, before anything is written, instead of the process
 * dying of an out-of-memory abort.
 */
function checkMemory(file: string, lineNo: number, records: number): void {
  const limit = getHeapStatistics().heap_size_limit;
  const { heapUsed, rss } = process.memoryUsage();
  // A container's memory limit (cgroup), when it has one below the machine's.
  const limited = process.constrainedMemory?.() ?? 0;
  const ram = limited > 0 && limited < totalmem() ? limited : totalmem();
  const heapFull = heapUsed >= HEAP_SHARE * limit;
  if (!heapFull && rss < RAM_SHARE * ram) return;
  const mib = (n: number) => Math.round(n / 2 ** 20);
  const share = heapFull ? (HEAP_SHARE * limit) / heapUsed : (RAM_SHARE * ram) / rss;
  const fits = Math.max(100_000, Math.floor((records * share) / 100_000) * 100_000);
  const took = heapFull ? `took ${mib(heapUsed)} MiB of this process's ${mib(limit)} MiB heap` : `brought the process to ${mib(rss)} MiB of this machine's ${mib(ram)} MiB`;
  throw new GatewayError('SG_ERR_IMPORT_READ', `${file} is too large to check in one import: at line ${lineNo} its ${records} records ${took}; nothing was imported`, {
    hint: `split it into files of at most about ${fits.toLocaleString('en-US')} records (containers and lots before the serials that refer to them) and import them one after the other`,
  });
}

/**
 * Call `onLine` for every line of a stream (LF or CRLF), synchronously within each chunk: for millions of short
 * lines this is several times faster than readline or an async generator (no promise per line).
 */
async function eachLine(stream: Readable, onLine: (line: string) => void): Promise<void> {
  let rest = '';
  stream.setEncoding('utf8');
  for await (const chunk of stream as AsyncIterable<string>) {
    const text = rest + chunk;
    let start = 0;
    for (let nl = text.indexOf('\n', start); nl >= 0; nl = text.indexOf('\n', start)) {
      onLine(text.charCodeAt(nl - 1) === 13 ? text.slice(start, nl - 1) : text.slice(start, nl));
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  if (rest !== '') onLine(rest.endsWith('\r') ? rest.slice(0, -1) : rest);
}

type ColumnIndexes = Record<'gtin' | 'serial' | 'lot' | 'expiry' | 'status' | 'parent' | 'hold' | 'recall' | 'blocked', number>;

function columnIndexes(header: readonly string[]): ColumnIndexes {
  const at = (name: string) => header.indexOf(name);
  return { gtin: at('gtin'), serial: at('serial'), lot: at('lot'), expiry: at('expiry'), status: at('status'), parent: at('parent'), hold: at('hold'), recall: at('recall'), blocked: at('blocked') };
}

/**
 * A CSV row as the object checkRecord reads, always of the same shape (a column the header lacks is
 * undefined, as an absent NDJSON key is): objects keyed one header name at a time turn into slow dictionaries.
 */
function csvRow(c: ColumnIndexes, f: readonly string[]): Record<string, unknown> {
  return {
    gtin: f[c.gtin],
    serial: f[c.serial],
    lot: c.lot < 0 ? undefined : f[c.lot],
    expiry: c.expiry < 0 ? undefined : f[c.expiry],
    status: c.status < 0 ? undefined : f[c.status],
    parent: c.parent < 0 ? undefined : f[c.parent],
    hold: c.hold < 0 ? undefined : f[c.hold],
    recall: c.recall < 0 ? undefined : f[c.recall],
    blocked: c.blocked < 0 ? undefined : f[c.blocked],
  };
}

/** The cache record a serial row becomes. */
function serialRecord(s: SerialRow): SerialRecord {
  const rec = newRecord(s.status, s.lot, s.expiry);
  rec.parent = s.parent;
  rec.flags = s.flags;
  return rec;
}

function describe(r: ImportRow): string {
  switch (r.kind) {
    case 'serial':
      return `serial ${r.serial} of GTIN ${r.gtin}`;
    case 'container':
      return `container ${r.sscc}`;
    case 'lot':
      return `lot ${r.lot} of GTIN ${r.gtin}`;
    default:
      return `product ${r.gtin}`;
  }
}

/** Validate and load; throws SG_ERR_IMPORT_INVALID listing the bad rows when any row is bad. */
export async function importFile(store: Store, file: string, opts: ImportOptions = {}): Promise<ImportResult> {
  const p = await readImportFile(file, opts);
  // References: every parent is a container of the file or of the cache (CSV implies its containers).
  const implied = new Map<string, number>();
  const known = (sscc: string) => p.containers.has(sscc) || implied.has(sscc) || store.containers.get(ssccKey(sscc)) !== undefined;
  for (const s of p.serials.parented) if (!known(s.parent)) implied.set(s.parent, s.line);
  for (const c of p.containers.values()) {
    if (c.parent !== '' && !known(c.parent)) {
      if (p.errors.length < MAX_LISTED) p.errors.push({ line: c.line, message: `parent ${c.parent} of container ${c.sscc} is neither in the file nor in the cache` });
      p.bad++;
    }
    // A cycle: following parents comes back to this container.
    const seenUp = new Set<string>([c.sscc]);
    for (let cur = c.parent; cur !== ''; cur = p.containers.get(cur)?.parent ?? store.containers.get(ssccKey(cur))?.parent ?? '') {
      if (seenUp.has(cur)) {
        if (p.errors.length < MAX_LISTED) p.errors.push({ line: c.line, message: `container ${c.sscc} is part of a cycle of parents (through ${cur})` });
        p.bad++;
        break;
      }
      seenUp.add(cur);
    }
  }
  if (opts.expect !== undefined && p.records !== opts.expect) {
    p.bad++;
    p.errors.push({ line: 0, message: `the file holds ${p.records} records, ${opts.expect} were expected` });
  }
  if (p.bad > 0) {
    p.errors.sort((a, b) => a.line - b.line);
    const listed = p.errors.map((e) => (e.line > 0 ? `  line ${e.line}: ${e.message}` : `  ${e.message}`)).join('\n');
    const more = p.bad > p.errors.length ? `\n  ... and ${p.bad - p.errors.length} more` : '';
    throw Object.assign(
      new GatewayError('SG_ERR_IMPORT_INVALID', `${file}: ${p.bad} problem${p.bad === 1 ? '' : 's'}, nothing imported\n${listed}${more}`, {
        hint: 'fix the listed rows and import again',
      }),
      { rows: p.errors },
    );
  }

  // Containers: the file's, the implied ones, and existing ones gaining children; children from parents. Read
  // and merged inside the first transaction, so children a running daemon added just before are kept.
  // Children added to containers that existed before: also kept under keys of their own (container-adds.ts), so
  // that a write of the running daemon queued before this import's cannot drop them.
  const addedToExisting = new Map<string, string[]>();
  const mergeContainers = (): Map<string, ContainerRecord> => {
    const containers = new Map<string, ContainerRecord>();
    const childSets = new Map<ContainerRecord, Set<string>>();
    const ssccOf = new Map<ContainerRecord, string>();
    const containerOf = (sscc: string): ContainerRecord => {
      let rec = containers.get(sscc);
      if (rec === undefined) {
        const row = p.containers.get(sscc);
        const key = ssccKey(sscc);
        const existing = store.containers.get(key);
        const added = existing !== undefined ? addedChildren(store.containerAdds, key) : undefined;
        rec = existing !== undefined ? { ...existing, children: added !== undefined ? withAddedChildren(existing.children, added) : [...existing.children] } : newContainer('', 0, row?.status ?? 4);
        if (existing !== undefined) ssccOf.set(rec, sscc);
        if (row !== undefined) Object.assign(rec, { status: row.status, prevStatus: row.status, parent: row.parent, state: row.state, capacity: row.capacity, flags: row.flags });
        else if (existing === undefined) rec.state = 'CLOSED';
        containers.set(sscc, rec);
      }
      return rec;
    };
    const addOnce = (c: ContainerRecord, id: string) => {
      let set = childSets.get(c);
      if (set === undefined) childSets.set(c, (set = new Set(c.children)));
      if (!set.has(id)) {
        set.add(id);
        c.children.push(id);
        const existing = ssccOf.get(c);
        if (existing !== undefined) {
          let ids = addedToExisting.get(existing);
          if (ids === undefined) addedToExisting.set(existing, (ids = []));
          ids.push(id);
        }
      }
    };
    for (const sscc of p.containers.keys()) containerOf(sscc);
    for (const sscc of implied.keys()) containerOf(sscc);
    for (const c of p.containers.values()) if (c.parent !== '') addOnce(containerOf(c.parent), containerChildId(c.sscc));
    for (const s of p.serials.parented) addOnce(containerOf(s.parent), itemChildId(s.gtin, s.serial));
    return containers;
  };
  let containerCount = 0;

  // lmdb-js copies each key and keeps each value until the commit: the values are views of the rows' buffer.
  // In key order: whole pages filled one after the other, and each chunk a narrow range of the tree.
  const order = p.serials.keyOrder();
  const putSerials = (from: number, to: number) => p.serials.forEach(from, to, (key, value) => void store.serials.put(key, value), order);
  // Lots (holds, recalls), products and containers before the serials that refer to them.
  const putTheRest = () => {
    for (const l of p.lots) void store.lots.put(lotKey(l.gtin, l.lot), { flags: l.flags, expiryDays: isoToDays(l.expiry) });
    for (const pr of p.products) void store.products.put(pr.gtin, { companyPrefixLength: pr.companyPrefixLength, shortDateMarginDays: pr.shortDateMarginDays });
    const containers = mergeContainers();
    containerCount = containers.size;
    for (const [sscc, rec] of containers) void store.containers.put(ssccKey(sscc), rec);
    const adds = store.containerAdds!;
    for (const [sscc, ids] of addedToExisting) putAddedChildren((k, v) => void adds.put(k, v), sscc, ids);
    // A running daemon keeps lots and products in memory: a new stamp tells it to load them again.
    void store.meta.put(IMPORT_STAMP_KEY, `${Date.now()}-${randomUUID()}`);
  };
  const n = p.serials.count;
  const chunk = opts.chunkRows ?? 0;
  const markerKey = IMPORT_MARKER_PREFIX + resolve(file);
  let transactions = 1;
  // Containers are rewritten whole with their children (existing ones too), lots and products as small records.
  const restBytes =
    (p.containers.size + implied.size) * DISK_BYTES_PER_CONTAINER + (p.serials.parented.length + p.containers.size) * DISK_BYTES_PER_CHILD + (p.lots.length + p.products.length) * DISK_BYTES_PER_LOT_OR_PRODUCT;
  if (chunk <= 0 || n <= chunk) {
    checkDisk(store, opts, n, restBytes, false);
    await store.root.transaction(() => {
      putTheRest();
      putSerials(0, n);
      void store.meta.remove(markerKey); // a file imported whole completes an interrupted import of it
    });
  } else {
    const marker: ImportMarker = { file: resolve(file), records: p.records, startedAt: new Date().toISOString(), pid: process.pid };
    checkDisk(store, opts, Math.min(n, chunk), restBytes, false);
    await store.root.transaction(() => {
      putTheRest();
      void store.meta.put(markerKey, marker);
    });
    for (let from = 0; from < n; from += chunk) {
      const to = Math.min(n, from + chunk);
      checkDisk(store, opts, to - from, 0, true);
      await store.root.transaction(() => {
        putSerials(from, to);
        if (to === n) void store.meta.remove(markerKey);
      });
      transactions++;
    }
  }
  return { transactions, records: p.records, serials: n, containers: containerCount, lots: p.lots.length, products: p.products.length };
}

