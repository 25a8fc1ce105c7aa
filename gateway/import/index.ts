/** Bulk load of serials into the cache: validate every row, then write all in one transaction or nothing. */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { GatewayError } from '../errors.js';
import { serialKey } from '../cache/keys.js';
import { encodeRecord, newRecord } from '../cache/record.js';
import type { StatusName } from '../reasons.js';
import type { Store } from '../store.js';
import { splitCsvLine } from './csv.js';
import { IMPORT_COLUMNS, checkRow, type ImportRow, type RowError } from './rows.js';

export interface ImportResult {
  rows: number;
  imported: number;
  errors: RowError[];
}

/** How many bad rows to list before stopping the listing (all are still counted). */
const MAX_LISTED = 100;

export async function readImportFile(file: string, defaultStatus?: StatusName): Promise<{ rows: ImportRow[]; errors: RowError[]; badCount: number }> {
  const rows: ImportRow[] = [];
  const errors: RowError[] = [];
  let badCount = 0;
  let lineNo = 0;
  let header = false;
  const seen = new Set<string>();
  const stream = createReadStream(file);
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  try {
    await opened;
  } catch (err) {
    throw new GatewayError('SG_ERR_IMPORT_READ', `cannot read ${file}: ${(err as Error).message}`, { cause: err, hint: 'check the path' });
  }
  const bad = (line: number, message: string) => {
    badCount++;
    if (errors.length < MAX_LISTED) errors.push({ line, message });
  };
  for await (const raw of createInterface({ input: stream, crlfDelay: Infinity })) {
    lineNo++;
    const line = raw.replace(/^\uFEFF/, '');
    if (line.trim() === '') continue;
    const fields = splitCsvLine(line);
    if (typeof fields === 'string') {
      bad(lineNo, fields);
      continue;
    }
    if (!header) {
      header = true;
      const got = fields.map((f) => f.trim().toLowerCase()).join(',');
      if (got !== IMPORT_COLUMNS.join(',')) {
        throw new GatewayError('SG_ERR_IMPORT_READ', `${file} line ${lineNo}: header is "${line}", expected "${IMPORT_COLUMNS.join(',')}"`, {
          hint: 'the first line of the CSV names the columns gtin,serial,lot,expiry,status',
        });
      }
      continue;
    }
    const row = checkRow(fields, defaultStatus);
    if (typeof row === 'string') {
      bad(lineNo, row);
      continue;
    }
    const k = `${row.gtin}/${row.serial}`;
    if (seen.has(k)) {
      bad(lineNo, `serial ${row.serial} of GTIN ${row.gtin} appears twice in the file`);
      continue;
    }
    seen.add(k);
    rows.push(row);
  }
  if (!header) throw new GatewayError('SG_ERR_IMPORT_READ', `${file} is empty`, { hint: 'the first line names the columns gtin,serial,lot,expiry,status' });
  return { rows, errors, badCount };
}

/** Validate and load; throws SG_ERR_IMPORT_INVALID (with the listed rows) when any row is bad. */
export async function importFile(store: Store, file: string, defaultStatus?: StatusName): Promise<ImportResult> {
  const { rows, errors, badCount } = await readImportFile(file, defaultStatus);
  if (badCount > 0) {
    const listed = errors.map((e) => `  line ${e.line}: ${e.message}`).join('\n');
    const more = badCount > errors.length ? `\n  ... and ${badCount - errors.length} more` : '';
    throw Object.assign(
      new GatewayError('SG_ERR_IMPORT_INVALID', `${file}: ${badCount} bad row${badCount === 1 ? '' : 's'}, nothing imported\n${listed}${more}`, {
        hint: 'fix the listed rows and import again',
      }),
      { rows: errors },
    );
  }
  await store.root.transaction(() => {
    for (const r of rows) void store.serials.put(serialKey(r.gtin, r.serial), encodeRecord(newRecord(r.status, r.lot, r.expiry)));
  });
  return { rows: rows.length, imported: rows.length, errors: [] };
}
