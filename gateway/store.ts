/**
 * The LMDB environment on disk: one file, named tables. Layout (README "Data on disk"):
 *   serials     binary key (cache/keys.ts) -> SerialRecord bytes (cache/record.ts)
 *   containers  SSCC as 8 bytes            -> ContainerRecord (cache/container-codec.ts; msgpack before)
 *   containerAdds  SSCC as 8 bytes [+ child id] -> empty  (children an import added to an existing container, each
 *               under a key of its own; the bare SSCC marks that it has some: see cache/container-adds.ts)
 *   lots        6 bytes GTIN + lot          -> LotRecord {flags, expiryDays} (msgpack)
 *   products    GTIN-14 string              -> ProductRecord {companyPrefixLength, shortDateMarginDays}
 *   journal  event seq (number)        -> [kind byte][protobuf ScanEvent/AggregationEvent]  (the outbox's events)
 *   batches  batch seq (number)        -> {first, last, createdMs, count, bytes}            (sealed batch ranges)
 *   meta     string                    -> value (epoch, next sequences)
 */
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { open, type Database, type RootDatabase, type RootDatabaseOptions } from 'lmdb';
import { GatewayError } from './errors.js';
import type { ContainerRecord } from './cache/container.js';
import { containerEncoder } from './cache/container-codec.js';
import { WriteQueue } from './write-queue.js';
import { SerialKeyScratch } from './cache/keys.js';
import { checkStoreFile } from './store-file.js';

/** Lot-level state: FLAG_ON_HOLD / FLAG_RECALLED of cache/record.ts, and the lot's expiry when known. */
export interface LotRecord {
  flags: number;
  expiryDays: number;
}

/** Product master data: what a GTIN needs beyond the barcode. */
export interface ProductRecord {
  /** GS1 company prefix length (6-12), to render EPC URNs; 0 when unknown. */
  companyPrefixLength: number;
  /** Refuse items that expire within this many days (EXPIRED); 0 = only expired ones. */
  shortDateMarginDays: number;
}

export interface BatchMarker {
  first: number;
  last: number;
  createdMs: number;
  count: number;
  bytes: number;
}

export interface StoreOptions {
  mapSizeBytes?: number;
  /** Open without write access (inspection commands). */
  readOnly?: boolean;
  /** Group commit (write-queue.ts): writes of this many ms share a transaction; 0 = those of one event turn. */
  groupCommitMs?: number;
}

/** A group of writes closes early when it holds this many (the memory they hold stays bounded). */
const GROUP_MAX_WRITES = 20_000;

export class Store {
  readonly root: RootDatabase;
  readonly serials: Database<Buffer, Buffer>;
  readonly containers: Database<ContainerRecord, Buffer>;
  readonly lots: Database<LotRecord, Buffer>;
  readonly products: Database<ProductRecord, string>;
  readonly journal: Database<Buffer, number>;
  readonly batches: Database<BatchMarker, number>;
  /** Scan events already stored at central, kept a while by event seq to recognise redelivered reads. */
  readonly recent: Database<Buffer, number>;
  readonly meta: Database<unknown, string>;
  /** Children imports added to existing containers (cache/container-adds.ts); absent in a read-only store made before it. */
  readonly containerAdds: Database<Buffer, Buffer> | undefined;
  readonly path: string;
  /**
   * Every write of the daemon goes through this queue (group commit), never straight to a table: the queue
   * keeps the order of all writes, and the writes queued in one synchronous call share a transaction.
   */
  readonly writes: WriteQueue;

  private constructor(root: RootDatabase, path: string, groupCommitMs: number) {
    this.root = root;
    this.path = path;
    const keys = new SerialKeyScratch();
    this.writes = new WriteQueue({ delayMs: groupCommitMs, maxOps: GROUP_MAX_WRITES, compoundKey: (gtin, serial) => keys.key(gtin, serial) });
    this.serials = root.openDB<Buffer, Buffer>({ name: 'serials', encoding: 'binary', keyEncoding: 'binary' });
    // lmdb-js takes an encoder for any table; its types list the option for the root only.
    const containerOptions: RootDatabaseOptions & { name: string } = { name: 'containers', encoder: containerEncoder, keyEncoding: 'binary' };
    this.containers = root.openDB<ContainerRecord, Buffer>(containerOptions);
    this.lots = root.openDB<LotRecord, Buffer>({ name: 'lots', encoding: 'msgpack', keyEncoding: 'binary' });
    this.products = root.openDB<ProductRecord, string>({ name: 'products', encoding: 'msgpack' });
    this.journal = root.openDB<Buffer, number>({ name: 'journal', encoding: 'binary' });
    this.batches = root.openDB<BatchMarker, number>({ name: 'batches', encoding: 'msgpack' });
    this.recent = root.openDB<Buffer, number>({ name: 'recent', encoding: 'binary' });
    this.meta = root.openDB<unknown, string>({ name: 'meta', encoding: 'msgpack' });
    // Read-only, lmdb-js gives no table (undefined) when the file has none yet.
    this.containerAdds = root.openDB<Buffer, Buffer>({ name: 'containerAdds', encoding: 'binary', keyEncoding: 'binary' }) as Database<Buffer, Buffer> | undefined;
  }

  /** Open (creating if needed) the store under dataDir. Errors name the key to change. */
  static open(dataDir: string, opts: StoreOptions = {}): Store {
    try {
      mkdirSync(dataDir, { recursive: true });
      accessSync(dataDir, constants.W_OK | constants.R_OK);
    } catch (err) {
      throw new GatewayError('SG_ERR_DATA_DIR', `data directory ${dataDir} is not writable: ${(err as Error).message}`, {
        cause: err,
        hint: 'set dataDir (or SCANGATE_DATA_DIR) to a directory this user can write',
      });
    }
    const path = join(dataDir, 'scangate.mdb');
    checkStoreFile(path);
    try {
      const root = open({
        path,
        maxDbs: 16,
        mapSize: opts.mapSizeBytes ?? 17_179_869_184,
        readOnly: opts.readOnly ?? false,
        // Reads of the same key right after an async put must not see stale data: the pipeline keeps its
        // own overlay of uncommitted records instead of relying on lmdb-js's value cache.
        cache: false,
      });
      return new Store(root, path, opts.groupCommitMs ?? 0);
    } catch (err) {
      throw new GatewayError('SG_ERR_STORE', `cannot open LMDB store ${path}: ${(err as Error).message}`, {
        cause: err,
        hint: 'check dataDir, free disk space and cache.mapSizeBytes',
      });
    }
  }

  /**
   * Open the store of a gateway that has one (inspection and replay): a data directory without it is a mistake
   * (a wrong dataDir, or the default ./data of another working directory), never an empty store made on the spot.
   */
  static openExisting(dataDir: string, opts: StoreOptions = {}): Store {
    Store.mustExist(dataDir);
    return Store.open(dataDir, opts);
  }

  /** Throw SG_ERR_DATA_DIR unless `dataDir` holds a gateway store (see openExisting). */
  static mustExist(dataDir: string): void {
    if (existsSync(join(dataDir, 'scangate.mdb'))) return;
    throw new GatewayError('SG_ERR_DATA_DIR', `there is no gateway store in ${resolve(dataDir)} (no scangate.mdb): nothing was opened or created`, {
      hint: "give the daemon's data directory: dataDir in the config (-c FILE) or SCANGATE_DATA_DIR; the default ./data is relative to the current directory",
    });
  }

  async close(): Promise<void> {
    // Writes still queued are issued and committed first (a failure was already reported to their writers).
    await this.writes.close().catch(() => undefined);
    await this.root.close();
  }
}
