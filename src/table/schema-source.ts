// Where the table coordinator gets value schemas: the built-in registry in
// process, or any Confluent-compatible registry over HTTP
// (automq.table.topic.schema.registry.url).

import type { SchemaRegistry } from '../registry/schema-registry.js';
import type { SchemaText } from './convert/converter.js';
import type { SchemaSource } from './coordinator.js';

export function localSchemaSource(registry: SchemaRegistry): SchemaSource {
  return {
    schema: (id) => registry.schemaWithReferences(id),
    async latestId(subject) {
      try {
        return (await registry.version(subject, 'latest', false)).id;
      } catch (err) {
        if ((err as { status?: number }).status === 404) return null;
        throw err;
      }
    },
  };
}

interface RemoteSchema {
  schemaType?: string;
  schema: string;
  references?: { name: string; subject: string; version: number }[];
}

export function httpSchemaSource(url: string): SchemaSource {
  const base = url.replace(/\/+$/, '');
  const get = async <T>(path: string): Promise<T | null> => {
    const res = await fetch(`${base}${path}`, { headers: { accept: 'application/vnd.schemaregistry.v1+json' }, signal: AbortSignal.timeout(30_000) });
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`schema registry ${base}${path}: HTTP ${res.status}`);
    return (await res.json()) as T;
  };
  const references = async (refs: RemoteSchema['references'], seen: Set<string>, depth = 0): Promise<string[]> => {
    if (depth > 32) throw new Error('schema references nest too deep');
    const out: string[] = [];
    for (const r of refs ?? []) {
      const key = `${r.subject}\u0000${r.version}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const v = await get<RemoteSchema>(`/subjects/${encodeURIComponent(r.subject)}/versions/${r.version}`);
      if (v === null) throw new Error(`reference ${r.name} (${r.subject} v${r.version}) not found`);
      out.push(...(await references(v.references, seen, depth + 1)), v.schema);
    }
    return out;
  };
  return {
    async schema(id): Promise<SchemaText | null> {
      const s = await get<RemoteSchema>(`/schemas/ids/${id}`);
      if (s === null) return null;
      return { schemaType: s.schemaType ?? 'AVRO', schema: s.schema, references: await references(s.references, new Set()) };
    },
    async latestId(subject) {
      return (await get<{ id: number }>(`/subjects/${encodeURIComponent(subject)}/versions/latest`))?.id ?? null;
    },
  };
}
