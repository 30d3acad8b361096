// Snapshot expiry as Iceberg's ExpireSnapshots does it: snapshots older than
// a cutoff go, except those refs point at and the newest `retainLast`
// ancestors of main; then the files only expired snapshots reached are
// deleted. The plan is data (snapshot ids, requirements, updates) so that it
// commits through any catalog like every other table change.

import type { FileIO } from '../file-io.js';
import { readManifest, readManifestList } from './manifest.js';
import { currentSnapshot, MAIN_BRANCH, type Snapshot, type TableMetadata, type TableRequirement, type TableUpdate } from './metadata.js';

export interface ExpireOptions {
  /** Snapshots committed before this time (ms since the epoch) may expire. */
  readonly expireBefore: number;
  /** The newest snapshots of main's history kept whatever their age (at least 1). */
  readonly retainLast: number;
}

export interface ExpiryPlan {
  readonly snapshotIds: number[];
  readonly requirements: TableRequirement[];
  readonly updates: TableUpdate[];
}

/** Which snapshots expire, or null when none does. */
export function planExpiry(m: TableMetadata, opts: ExpireOptions): ExpiryPlan | null {
  const keep = new Set<number>();
  for (const ref of Object.values(m.refs)) keep.add(ref['snapshot-id']);
  const byId = new Map(m.snapshots.map((s) => [s['snapshot-id'], s]));
  let s: Snapshot | null | undefined = currentSnapshot(m);
  for (let n = 0; s != null && n < Math.max(1, opts.retainLast); n++) {
    keep.add(s['snapshot-id']);
    s = s['parent-snapshot-id'] === undefined ? null : byId.get(s['parent-snapshot-id']);
  }
  const snapshotIds = m.snapshots.filter((x) => !keep.has(x['snapshot-id']) && x['timestamp-ms'] < opts.expireBefore).map((x) => x['snapshot-id']);
  if (snapshotIds.length === 0) return null;
  const main = m.refs[MAIN_BRANCH]?.['snapshot-id'] ?? null;
  return {
    snapshotIds,
    // Built on this main: a commit that lands first moves it, and the plan is made again next time.
    requirements: [
      { type: 'assert-table-uuid', uuid: m['table-uuid'] },
      { type: 'assert-ref-snapshot-id', ref: MAIN_BRANCH, 'snapshot-id': main },
    ],
    updates: [{ action: 'remove-snapshots', 'snapshot-ids': snapshotIds }],
  };
}

/**
 * The files that `before`'s snapshots reached and `after`'s no longer do:
 * manifest lists of expired snapshots, manifests no retained list names, and
 * data files no retained manifest names. Appends keep every manifest in the
 * next list, so usually only manifest lists go and no manifest is read.
 */
export async function unreachableFiles(io: FileIO, before: TableMetadata, after: TableMetadata): Promise<string[]> {
  const retained = new Set(after.snapshots.map((s) => s['snapshot-id']));
  const expired = before.snapshots.filter((s) => !retained.has(s['snapshot-id']));
  if (expired.length === 0) return [];
  const manifestsOf = async (s: Snapshot) => (await readManifestList(await io.read(s['manifest-list']))).map((mf) => mf.manifestPath);
  const retainedLists = new Set(after.snapshots.map((s) => s['manifest-list']));
  // The current snapshot's list first: after appends it names every manifest, and the other retained lists need not be read.
  const current = currentSnapshot(after);
  const retainedManifests = new Set(current === null ? [] : await manifestsOf(current));
  let othersRead = false;
  const out: string[] = [];
  const droppedManifests = new Set<string>();
  for (const s of expired) {
    if (!retainedLists.has(s['manifest-list'])) out.push(s['manifest-list']);
    for (const path of await manifestsOf(s)) {
      if (retainedManifests.has(path)) continue;
      if (!othersRead) {
        for (const r of after.snapshots) if (r !== current) for (const m of await manifestsOf(r)) retainedManifests.add(m);
        othersRead = true;
        if (retainedManifests.has(path)) continue;
      }
      droppedManifests.add(path);
    }
  }
  if (droppedManifests.size === 0) return out;
  const candidates = new Set<string>();
  for (const path of droppedManifests) {
    out.push(path);
    for (const e of (await readManifest(await io.read(path))).entries) candidates.add(e.dataFile.filePath);
  }
  for (const path of retainedManifests) {
    for (const e of (await readManifest(await io.read(path))).entries) candidates.delete(e.dataFile.filePath);
  }
  out.push(...candidates);
  return out;
}
