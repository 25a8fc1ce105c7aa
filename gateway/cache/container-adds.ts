/**
 * Children an import added to a container that already existed, each under a key of its own in the
 * `containerAdds` table, beside the container's record (which the import rewrites with them too).
 *
 * Why: a container's record holds its whole list of children, so the daemon and an import (another process)
 * each write the whole record. An import reads the record, adds its children and commits; a write of the
 * daemon to the same container that was queued before (group commit, a few ms) commits after it with the list
 * it had, and the import's children would be gone from the record. Their keys here are never written by the
 * daemon's version of the record, so they survive it: whoever loads the container from disk (the daemon's
 * cache, `scangate lookup`, the next import) adds the ones missing from its list. The daemon deletes a child's
 * key whenever it takes that child out of a container (most have none: a delete of nothing), so a child removed
 * on purpose does not come back, even one the import listed while the daemon's own copy was not yet written.
 * Not covered: a container the daemon and an import create at the same moment (keys are written for containers
 * that existed before the import), and the marker, which stays once set (a load of that container then also
 * scans its keys).
 *
 * Layout: the bare 8-byte SSCC key marks a container that has such children (one cheap get tells the common
 * case, none); its children are the keys SSCC + child id (latin1), values empty.
 */
import type { Database } from 'lmdb';
import { ssccKey } from './container.js';

const EMPTY = Buffer.alloc(0);

/** The marker key (the SSCC alone) or a child's key (SSCC + child id). */
export function containerAddKey(sscc: string, childId?: string): Buffer {
  const k = ssccKey(sscc);
  return childId === undefined ? k : Buffer.concat([k, Buffer.from(childId, 'latin1')]);
}

/** The child ids an import added to the container whose key (ssccKey) this is, or undefined when it has none. */
export function addedChildren(adds: Database<Buffer, Buffer> | undefined, marker: Buffer): string[] | undefined {
  if (adds === undefined || adds.getBinaryFast(marker) === undefined) return undefined;
  const end = Buffer.from(marker);
  // The keys after the marker that start with it: the next SSCC's marker is the end (8 bytes, big-endian + 1).
  for (let i = 7; i >= 0; i--) {
    if (end[i] !== 0xff) {
      end[i]! += 1;
      break;
    }
    end[i] = 0;
  }
  const out: string[] = [];
  for (const key of adds.getKeys({ start: marker, end })) {
    if (key.length > 8) out.push(key.toString('latin1', 8));
  }
  return out.length > 0 ? out : undefined;
}

/** Queue (or, in an import's transaction, write) the marker and the keys of children added to a container. */
export function putAddedChildren(put: (key: Buffer, value: Buffer) => unknown, sscc: string, childIds: readonly string[]): void {
  if (childIds.length === 0) return;
  put(containerAddKey(sscc), EMPTY);
  for (const id of childIds) put(containerAddKey(sscc, id), EMPTY);
}

/** `rec`'s children with those an import added and the list lacks, appended in key order. */
export function withAddedChildren(children: readonly string[], added: readonly string[]): string[] {
  const have = new Set(children);
  const out = [...children];
  for (const id of added) if (!have.has(id)) out.push(id);
  return out;
}
