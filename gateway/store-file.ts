/**
 * A look at the LMDB file before it is opened. LMDB trusts its file: a truncated or overwritten one makes the
 * process die of a segmentation fault at open or at the first read, with nothing logged. The two meta pages at
 * the start say what a sound file holds (magic, format version, page size, last page used); a file that does not
 * hold it is refused with SG_ERR_STORE naming the file, before LMDB maps it.
 *
 * Meta page layout of the LMDB that lmdb-js builds (its mdb.c): a 24-byte page header, then MDB_meta: magic u32,
 * version u32, address u64, map size u64, two MDB_db of 48 bytes (the free list's and the main one's; the first's
 * 4-byte pad holds the page size; md_root u64 at byte 40 of each), last page u64, transaction id u64.
 * Little-endian on every platform lmdb-js ships for.
 *
 * Only what is certain is refused. The file may end before the meta's last page (pages a transaction took and
 * freed again are never written), so that is no sign of damage; a root page past the end of the file is.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { GatewayError } from './errors.js';

const MAGIC = 0xbeefc0de;
const DATA_VERSION = 2;
const META = 24;
const OFF_MAGIC = META;
const OFF_VERSION = META + 4;
const OFF_PAGE_SIZE = META + 24; // md_pad of the first MDB_db, after magic, version, address and map size
const OFF_ROOTS = [META + 24 + 40, META + 24 + 48 + 40]; // md_root of the free list and of the main database
const OFF_LAST_PAGE = META + 24 + 96;
const OFF_TXN = OFF_LAST_PAGE + 8;
/** md_root of an empty database. */
const NO_PAGE = 0xffff_ffff_ffff_ffffn;

interface Meta {
  roots: bigint[];
  txn: bigint;
}

function readMeta(b: Buffer, at: number): Meta | string {
  if (b.length < at + OFF_TXN + 8) return 'its meta pages are cut short';
  const magic = b.readUInt32LE(at + OFF_MAGIC);
  if (magic !== MAGIC) return `it is not an LMDB file (magic 0x${magic.toString(16)} at byte ${at + OFF_MAGIC})`;
  const version = b.readUInt32LE(at + OFF_VERSION);
  if (version !== DATA_VERSION) return `its LMDB format version is ${version}, not ${DATA_VERSION}`;
  return { roots: OFF_ROOTS.map((o) => b.readBigUInt64LE(at + o)).filter((r) => r !== NO_PAGE), txn: b.readBigUInt64LE(at + OFF_TXN) };
}

/** What is wrong with the LMDB file at `path` (null: it looks sound, or there is none yet). */
export function storeFileProblem(path: string): string | null {
  if (!existsSync(path)) return null;
  const fd = openSync(path, 'r');
  try {
    // The meta pages first, the size after: another process may commit meanwhile, and a file only grows.
    const head = Buffer.alloc(65_536 * 2);
    const got = readSync(fd, head, 0, head.length, 0);
    const size = fstatSync(fd).size;
    if (got === 0) return null; // created, never written: LMDB writes its meta pages at open
    if (got < OFF_PAGE_SIZE + 4) return `it is ${got} bytes, too short for an LMDB file`;
    const pageSize = head.readUInt32LE(OFF_PAGE_SIZE);
    if (pageSize < 512 || pageSize > 65_536 || (pageSize & (pageSize - 1)) !== 0) return `its page size ${pageSize} is not one LMDB writes (not an LMDB file, or overwritten)`;
    if (got < 2 * pageSize) return `it is cut short: ${got} bytes, less than its two meta pages of ${pageSize}`;
    const metas = [readMeta(head, 0), readMeta(head, pageSize)];
    const good = metas.filter((m): m is Meta => typeof m !== 'string');
    if (good.length === 0) return metas[0] as string;
    // The newer meta page is the one LMDB uses (an older one may be torn by a crash): its roots must be in the file.
    const meta = good.reduce((a, m) => (m.txn > a.txn ? m : a));
    const pages = BigInt(Math.floor(size / pageSize));
    for (const root of meta.roots) if (root >= pages) return `it is cut short: ${size} bytes, but a root page of its tables is page ${root} (byte ${root * BigInt(pageSize)})`;
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Throw SG_ERR_STORE when the file at `path` is not one LMDB can open safely. */
export function checkStoreFile(path: string): void {
  const problem = storeFileProblem(path);
  if (problem === null) return;
  throw new GatewayError('SG_ERR_STORE', `the store file ${path} is damaged: ${problem}; it was not opened`, {
    hint: 'copy the data directory aside first (it may hold unsent events); then restore it from a backup, or, if none, move the file away to start with an empty cache and outbox (its unsent events are then lost to central; the status sync fills the cache again)',
  });
}
