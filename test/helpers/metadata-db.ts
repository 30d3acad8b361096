// Reads a broker's SQLite metadata store directly (read-only), as an operator
// inspecting data.dir/metadata.db would: which objects the log is made of.
import { join } from 'node:path';
import Database from 'better-sqlite3';

export interface ObjectRow {
  readonly objectKey: string;
  readonly kind: string;
  readonly state: string;
}

export function objectRows(dataDir: string): ObjectRow[] {
  const db = new Database(join(dataDir, 'metadata.db'), { readonly: true });
  try {
    return (db.prepare('SELECT object_key, kind, state FROM objects').all() as { object_key: string; kind: string; state: string }[]).map((r) => ({
      objectKey: r.object_key,
      kind: r.kind,
      state: r.state,
    }));
  } finally {
    db.close();
  }
}

/** The keys of every object the metadata store knows (committed, or marked for deletion). */
export function knownObjectKeys(dataDir: string): string[] {
  return objectRows(dataDir).map((r) => r.objectKey);
}
