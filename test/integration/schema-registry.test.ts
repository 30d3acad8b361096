// The schema registry's REST API over HTTP, as curl or any Confluent client
// sees it: paths, bodies, content types, every error code, concurrency, and
// ids that survive kill -9.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawnBroker, startTestBroker, type TestBroker } from '../helpers/broker.js';
import { tempDir } from '../helpers/tmp.js';

const V1 = 'application/vnd.schemaregistry.v1+json';

interface Reply {
  status: number;
  body: unknown;
  contentType: string | null;
}

function client(base: () => string) {
  return async (method: string, path: string, body?: unknown, contentType = V1): Promise<Reply> => {
    const r = await fetch(base() + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': contentType },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await r.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // raw schema text
    }
    return { status: r.status, body: parsed, contentType: r.headers.get('content-type') };
  };
}

const avro = (fields: unknown[], name = 'User') => JSON.stringify({ type: 'record', name, namespace: 'ex', fields });
const V1_SCHEMA = avro([{ name: 'id', type: 'int' }]);
const V2_SCHEMA = avro([{ name: 'id', type: 'long' }, { name: 'name', type: 'string', default: '' }]);

let broker: TestBroker;
const call = client(() => `http://127.0.0.1:${broker.registryPort}`);
const errorOf = (r: Reply) => [r.status, (r.body as { error_code: number }).error_code];

beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(async () => {
  await broker?.cleanup();
});

describe('subjects, versions and ids', () => {
  test('register, look up, list and fetch by id; the same schema gets one id across subjects', async () => {
    const r1 = await call('POST', '/subjects/users-value/versions', { schema: V1_SCHEMA });
    expect(r1.status).toBe(200);
    expect(r1.contentType).toContain(V1);
    const id1 = (r1.body as { id: number }).id;
    // Whitespace does not make a new schema; registering again is idempotent.
    const again = await call('POST', '/subjects/users-value/versions', { schema: JSON.stringify(JSON.parse(V1_SCHEMA), null, 2) });
    expect(again.body).toEqual({ id: id1 });
    const other = await call('POST', '/subjects/audit-value/versions', { schema: V1_SCHEMA, schemaType: 'AVRO' });
    expect(other.body).toEqual({ id: id1 });
    const r2 = await call('POST', '/subjects/users-value/versions', { schema: V2_SCHEMA }, 'application/json');
    const id2 = (r2.body as { id: number }).id;
    expect(id2).toBeGreaterThan(id1);

    expect((await call('GET', '/subjects/users-value/versions')).body).toEqual([1, 2]);
    expect((await call('GET', '/subjects/users-value/versions/latest')).body).toEqual({ subject: 'users-value', version: 2, id: id2, schema: V2_SCHEMA });
    expect((await call('GET', '/subjects/users-value/versions/1')).body).toEqual({ subject: 'users-value', version: 1, id: id1, schema: V1_SCHEMA });
    expect((await call('GET', '/subjects/users-value/versions/-1/schema')).body).toEqual(JSON.parse(V2_SCHEMA));
    expect((await call('GET', `/schemas/ids/${id1}`)).body).toEqual({ schema: V1_SCHEMA });
    expect((await call('GET', `/schemas/ids/${id1}/schema`)).body).toEqual(JSON.parse(V1_SCHEMA));
    expect((await call('GET', `/schemas/ids/${id1}/subjects`)).body).toEqual(['audit-value', 'users-value']);
    expect((await call('GET', `/schemas/ids/${id1}/versions`)).body).toEqual([
      { subject: 'audit-value', version: 1 },
      { subject: 'users-value', version: 1 },
    ]);
    expect((await call('GET', '/schemas/types')).body).toEqual(['JSON', 'PROTOBUF', 'AVRO']);
    expect((await call('GET', '/subjects?subjectPrefix=aud')).body).toEqual(['audit-value']);

    const lookup = await call('POST', '/subjects/users-value', { schema: V1_SCHEMA }, 'application/vnd.schemaregistry+json');
    expect(lookup.body).toEqual({ subject: 'users-value', version: 1, id: id1, schema: V1_SCHEMA });
    expect(errorOf(await call('POST', '/subjects/users-value', { schema: avro([{ name: 'zzz', type: 'int' }]) }))).toEqual([404, 40403]);
    expect(errorOf(await call('POST', '/subjects/nobody', { schema: V1_SCHEMA }))).toEqual([404, 40401]);
  });

  test('JSON Schema and Protobuf carry their schemaType; references and referencedby', async () => {
    const json = await call('POST', '/subjects/orders-value/versions', { schemaType: 'JSON', schema: '{"type":"object","properties":{"n":{"type":"integer"}}}' });
    expect(json.status).toBe(200);
    expect((await call('GET', '/subjects/orders-value/versions/1')).body).toMatchObject({ schemaType: 'JSON' });

    const address = 'syntax = "proto3";\npackage ex;\nmessage Address { string city = 1; }';
    expect((await call('POST', '/subjects/address.proto/versions', { schemaType: 'PROTOBUF', schema: address })).status).toBe(200);
    const user = 'syntax = "proto3";\npackage ex;\nimport "address.proto";\nmessage Person { Address home = 1; }';
    const refs = [{ name: 'address.proto', subject: 'address.proto', version: 1 }];
    const person = await call('POST', '/subjects/people-value/versions', { schemaType: 'PROTOBUF', schema: user, references: refs });
    expect(person.status).toBe(200);
    const personId = (person.body as { id: number }).id;
    expect((await call('GET', `/schemas/ids/${personId}`)).body).toEqual({ schemaType: 'PROTOBUF', references: refs, schema: user });
    expect((await call('GET', '/subjects/address.proto/versions/1/referencedby')).body).toEqual([personId]);
    // A referenced version cannot be deleted while something uses it.
    expect(errorOf(await call('DELETE', '/subjects/address.proto/versions/1'))).toEqual([422, 42206]);
    expect(errorOf(await call('DELETE', '/subjects/address.proto'))).toEqual([422, 42206]);
    // A reference to nothing is an invalid schema.
    const dangling = await call('POST', '/subjects/people-value/versions', { schemaType: 'PROTOBUF', schema: user, references: [{ name: 'address.proto', subject: 'address.proto', version: 7 }] });
    expect(errorOf(dangling)).toEqual([422, 42201]);
    expect((dangling.body as { message: string }).message).toContain('does not exist');
  });
});

describe('compatibility', () => {
  test('an incompatible schema is refused with 409 and nothing is written', async () => {
    await call('POST', '/subjects/compat-value/versions', { schema: V1_SCHEMA });
    const bad = await call('POST', '/subjects/compat-value/versions', { schema: avro([{ name: 'id', type: 'int' }, { name: 'email', type: 'string' }]) });
    expect(errorOf(bad)).toEqual([409, 409]);
    expect((bad.body as { message: string }).message).toContain('READER_FIELD_MISSING_DEFAULT_VALUE');
    expect((await call('GET', '/subjects/compat-value/versions')).body).toEqual([1]);
  });

  test('check endpoints, verbose messages, and the transitive levels', async () => {
    const s = 'levels-value';
    await call('PUT', `/config/${s}`, { compatibility: 'NONE' });
    await call('POST', `/subjects/${s}/versions`, { schema: avro([{ name: 'a', type: 'int' }]) });
    await call('POST', `/subjects/${s}/versions`, { schema: avro([{ name: 'a', type: 'int' }, { name: 'b', type: 'string', default: 'x' }]) });
    // b without a default: readable against v2 (which has b), not against v1.
    const v3 = { schema: avro([{ name: 'a', type: 'int' }, { name: 'b', type: 'string' }]) };
    await call('PUT', `/config/${s}`, { compatibility: 'BACKWARD' });
    expect((await call('POST', `/compatibility/subjects/${s}/versions/latest`, v3)).body).toEqual({ is_compatible: true });
    expect((await call('POST', `/compatibility/subjects/${s}/versions`, v3)).body).toEqual({ is_compatible: true });
    const v1Check = await call('POST', `/compatibility/subjects/${s}/versions/1?verbose=true`, v3);
    expect((v1Check.body as { is_compatible: boolean }).is_compatible).toBe(false);
    expect((v1Check.body as { messages: string[] }).messages.join()).toContain('READER_FIELD_MISSING_DEFAULT_VALUE');
    await call('PUT', `/config/${s}`, { compatibility: 'BACKWARD_TRANSITIVE' });
    expect((await call('POST', `/compatibility/subjects/${s}/versions`, v3)).body).toEqual({ is_compatible: false });
    expect(errorOf(await call('POST', `/subjects/${s}/versions`, v3))).toEqual([409, 409]);
    await call('PUT', `/config/${s}`, { compatibility: 'BACKWARD' });
    expect((await call('POST', `/subjects/${s}/versions`, v3)).status).toBe(200);
    // FORWARD: old readers must read new data, so dropping a field without a default in the old schema is refused.
    await call('PUT', `/config/${s}`, { compatibility: 'FORWARD' });
    expect((await call('POST', `/compatibility/subjects/${s}/versions/latest`, { schema: avro([{ name: 'a', type: 'int' }]) })).body).toEqual({ is_compatible: false });
    await call('PUT', `/config/${s}`, { compatibility: 'FULL' });
    expect((await call('POST', `/compatibility/subjects/${s}/versions/latest`, { schema: avro([{ name: 'a', type: 'int' }, { name: 'b', type: 'string' }, { name: 'c', type: 'int', default: 0 }]) })).body).toEqual({ is_compatible: true });
    expect(errorOf(await call('POST', '/compatibility/subjects/nobody/versions/latest', v3))).toEqual([404, 40401]);
    expect(errorOf(await call('POST', `/compatibility/subjects/${s}/versions/99`, v3))).toEqual([404, 40402]);
  });

  test('config: global and per subject, defaultToGlobal, delete returns what was in force', async () => {
    expect((await call('GET', '/config')).body).toEqual({ compatibilityLevel: 'BACKWARD' });
    expect(errorOf(await call('GET', '/config/users-value'))).toEqual([404, 40408]);
    expect((await call('GET', '/config/users-value?defaultToGlobal=true')).body).toEqual({ compatibilityLevel: 'BACKWARD' });
    expect((await call('PUT', '/config/users-value', { compatibility: 'full_transitive' })).body).toEqual({ compatibility: 'FULL_TRANSITIVE' });
    expect((await call('GET', '/config/users-value')).body).toEqual({ compatibilityLevel: 'FULL_TRANSITIVE' });
    expect((await call('DELETE', '/config/users-value')).body).toEqual({ compatibilityLevel: 'FULL_TRANSITIVE' });
    expect(errorOf(await call('GET', '/config/users-value'))).toEqual([404, 40408]);
    expect(errorOf(await call('PUT', '/config', { compatibility: 'SIDEWAYS' }))).toEqual([422, 42203]);
    expect((await call('PUT', '/config', { compatibility: 'FORWARD' })).body).toEqual({ compatibility: 'FORWARD' });
    expect((await call('DELETE', '/config')).body).toEqual({ compatibilityLevel: 'FORWARD' });
    expect((await call('GET', '/config')).body).toEqual({ compatibilityLevel: 'BACKWARD' });
    expect(errorOf(await call('DELETE', '/config/never-seen'))).toEqual([404, 40401]);
  });
});

describe('modes', () => {
  test('READONLY refuses writes; IMPORT registers with explicit ids and versions', async () => {
    expect((await call('GET', '/mode')).body).toEqual({ mode: 'READWRITE' });
    expect(errorOf(await call('GET', '/mode/ro-value'))).toEqual([404, 40409]);
    expect((await call('PUT', '/mode/ro-value', { mode: 'READONLY' })).body).toEqual({ mode: 'READONLY' });
    expect(errorOf(await call('POST', '/subjects/ro-value/versions', { schema: V1_SCHEMA }))).toEqual([422, 42205]);
    expect((await call('GET', '/mode/ro-value')).body).toEqual({ mode: 'READONLY' });
    expect((await call('DELETE', '/mode/ro-value')).body).toEqual({ mode: 'READONLY' });
    expect((await call('POST', '/subjects/ro-value/versions', { schema: V1_SCHEMA })).status).toBe(200);
    expect(errorOf(await call('PUT', '/mode', { mode: 'WRITEONLY' }))).toEqual([422, 42204]);
    // An id outside IMPORT mode is refused.
    expect(errorOf(await call('POST', '/subjects/imp-value/versions', { schema: V1_SCHEMA, id: 5000 }))).toEqual([422, 42205]);
    // IMPORT next to existing subjects needs force.
    expect(errorOf(await call('PUT', '/mode', { mode: 'IMPORT' }))).toEqual([422, 42205]);
    expect((await call('PUT', '/mode/imp-value', { mode: 'IMPORT' })).body).toEqual({ mode: 'IMPORT' });
    const imported = await call('POST', '/subjects/imp-value/versions', { schema: avro([{ name: 'x', type: 'string' }], 'Imported'), id: 5000, version: 7 });
    expect(imported.body).toEqual({ id: 5000 });
    expect((await call('GET', '/subjects/imp-value/versions/7')).body).toMatchObject({ id: 5000, version: 7 });
    // The id is taken by another schema now.
    expect(errorOf(await call('POST', '/subjects/imp-value/versions', { schema: avro([{ name: 'y', type: 'string' }], 'Imported'), id: 5000 }))).toEqual([422, 42207]);
    await call('DELETE', '/mode/imp-value');
    // New ids continue past imported ones.
    const next = await call('POST', '/subjects/after-import/versions', { schema: avro([{ name: 'z', type: 'string' }], 'AfterImport') });
    expect((next.body as { id: number }).id).toBeGreaterThan(5000);
  });
});

describe('deletes', () => {
  test('soft then permanent, with Confluent\'s errors for each wrong order', async () => {
    const s = 'del-value';
    await call('PUT', `/config/${s}`, { compatibility: 'NONE' });
    await call('POST', `/subjects/${s}/versions`, { schema: avro([{ name: 'a', type: 'int' }], 'Del') });
    await call('POST', `/subjects/${s}/versions`, { schema: avro([{ name: 'b', type: 'int' }], 'Del') });
    await call('POST', `/subjects/${s}/versions`, { schema: avro([{ name: 'c', type: 'int' }], 'Del') });
    expect(errorOf(await call('DELETE', `/subjects/${s}/versions/2?permanent=true`))).toEqual([404, 40407]);
    expect((await call('DELETE', `/subjects/${s}/versions/2`)).body).toBe(2);
    expect(errorOf(await call('DELETE', `/subjects/${s}/versions/2`))).toEqual([404, 40406]);
    expect((await call('GET', `/subjects/${s}/versions`)).body).toEqual([1, 3]);
    expect((await call('GET', `/subjects/${s}/versions?deleted=true`)).body).toEqual([1, 2, 3]);
    expect(errorOf(await call('GET', `/subjects/${s}/versions/2`))).toEqual([404, 40402]);
    expect((await call('GET', `/subjects/${s}/versions/2?deleted=true`)).status).toBe(200);
    expect((await call('DELETE', `/subjects/${s}/versions/2?permanent=true`)).body).toBe(2);
    expect((await call('GET', `/subjects/${s}/versions?deleted=true`)).body).toEqual([1, 3]);

    expect(errorOf(await call('DELETE', `/subjects/${s}?permanent=true`))).toEqual([404, 40405]);
    expect((await call('DELETE', `/subjects/${s}`)).body).toEqual([1, 3]);
    expect(errorOf(await call('DELETE', `/subjects/${s}`))).toEqual([404, 40404]);
    expect((await call('GET', '/subjects')).body).not.toContain(s);
    expect((await call('GET', '/subjects?deleted=true')).body).toContain(s);
    expect(errorOf(await call('GET', `/subjects/${s}/versions`))).toEqual([404, 40401]);
    expect((await call('DELETE', `/subjects/${s}?permanent=true`)).body).toEqual([1, 3]);
    expect((await call('GET', '/subjects?deleted=true')).body).not.toContain(s);
    // Versions start again after a permanent delete; the schema keeps its id.
    const re = await call('POST', `/subjects/${s}/versions`, { schema: avro([{ name: 'a', type: 'int' }], 'Del') });
    expect((await call('GET', `/subjects/${s}/versions/latest`)).body).toMatchObject({ version: 1, id: (re.body as { id: number }).id });
  });

  test('concurrent deletes of one version: exactly one succeeds', async () => {
    const s = 'race-value';
    await call('POST', `/subjects/${s}/versions`, { schema: avro([{ name: 'a', type: 'int' }], 'Race') });
    const replies = await Promise.all(Array.from({ length: 12 }, () => call('DELETE', `/subjects/${s}/versions/1`)));
    const ok = replies.filter((r) => r.status === 200);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    // The losers see the version already soft-deleted (or the subject gone), never a server error.
    for (const r of replies.filter((x) => x.status !== 200)) expect([40406, 40401, 40402]).toContain((r.body as { error_code: number }).error_code);
    expect((await call('GET', `/subjects/${s}/versions?deleted=true`)).body).toEqual([1]);
    expect(errorOf(await call('GET', `/subjects/${s}/versions`))).toEqual([404, 40401]);
  });
});

describe('bad input', () => {
  test('every error code for malformed requests', async () => {
    expect(errorOf(await call('GET', '/subjects/nobody/versions'))).toEqual([404, 40401]);
    expect(errorOf(await call('GET', '/subjects/users-value/versions/99'))).toEqual([404, 40402]);
    expect(errorOf(await call('GET', '/schemas/ids/987654'))).toEqual([404, 40403]);
    expect(errorOf(await call('GET', '/schemas/ids/abc'))).toEqual([404, 40403]);
    expect(errorOf(await call('GET', '/subjects/users-value/versions/abc'))).toEqual([422, 42202]);
    expect(errorOf(await call('GET', '/subjects/users-value/versions/0'))).toEqual([422, 42202]);
    expect(errorOf(await call('GET', '/subjects/users-value/versions/99999999999'))).toEqual([422, 42202]);
    expect(errorOf(await call('POST', '/subjects/bad-value/versions', { schema: '{"type":"record","name":"X","fields":[{"name":"a","type":"Nope"}]}' }))).toEqual([422, 42201]);
    expect(errorOf(await call('POST', '/subjects/bad-value/versions', { schema: '{"type":' }))).toEqual([422, 42201]);
    expect(errorOf(await call('POST', '/subjects/bad-value/versions', { schema: 'syntax = "proto3"; message {', schemaType: 'PROTOBUF' }))).toEqual([422, 42201]);
    expect(errorOf(await call('POST', '/subjects/bad-value/versions', { schema: '{"type": 12}', schemaType: 'JSON' }))).toEqual([422, 42201]);
    expect(errorOf(await call('POST', '/subjects/bad-value/versions', { schema: '"int"', schemaType: 'XML' }))).toEqual([422, 42201]);
    expect(errorOf(await call('POST', '/subjects/bad-value/versions', { notSchema: 1 }))).toEqual([422, 42201]);
    expect(errorOf(await call('POST', '/subjects/bad-value/versions', { schema: '"int"', references: [null, 3] }))).toEqual([422, 42201]);
    expect(errorOf(await call('POST', '/subjects/bad-value/versions', { schema: '"int"', references: [{ name: 'x', subject: 'y' }] }))).toEqual([422, 42201]);
    expect(errorOf(await call('POST', '/subjects/bad-value/versions', '[1,2]'))).toEqual([422, 42201]);
    expect(errorOf(await call('POST', '/subjects/bad-%01-value/versions', { schema: '"int"' }))).toEqual([422, 42208]);
    expect(errorOf(await call('POST', '/subjects/bad-value/versions', '{"schema": '))).toEqual([400, 400]);
    expect(errorOf(await call('POST', '/subjects/bad-value/versions', { schema: '"int"' }, 'text/plain'))).toEqual([415, 415]);
    expect(errorOf(await call('GET', '/no/such/path'))).toEqual([404, 404]);
    // A body past schema.registry.max.request.bytes (8 MiB) is refused before it is parsed.
    const huge = JSON.stringify({ schema: JSON.stringify({ type: 'enum', name: 'E', symbols: Array.from({ length: 900_000 }, (_, i) => `S${i}`) }) });
    expect(huge.length).toBeGreaterThan(8 * 1024 * 1024);
    expect(errorOf(await call('POST', '/subjects/bad-value/versions', huge))).toEqual([413, 413]);
    // Nothing of the above was written.
    expect(errorOf(await call('GET', '/subjects/bad-value/versions?deleted=true'))).toEqual([404, 40401]);
  });
});

describe('concurrency and durability', () => {
  test('concurrent registrations of one schema under many subjects get one id; distinct schemas get distinct versions', async () => {
    const schema = avro([{ name: 'k', type: 'string' }], 'Concurrent');
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => call('POST', `/subjects/conc-${i % 5}/versions`, { schema })));
    expect(new Set(replies.map((r) => r.status))).toEqual(new Set([200]));
    expect(new Set(replies.map((r) => (r.body as { id: number }).id)).size).toBe(1);
    for (let i = 0; i < 5; i++) expect((await call('GET', `/subjects/conc-${i}/versions`)).body).toEqual([1]);

    await call('PUT', '/config/conc-many', { compatibility: 'NONE' });
    const distinct = await Promise.all(Array.from({ length: 20 }, (_, i) => call('POST', '/subjects/conc-many/versions', { schema: avro([{ name: `f${i}`, type: 'int' }], 'Many') })));
    const ids = distinct.map((r) => (r.body as { id: number }).id);
    expect(new Set(ids).size).toBe(20);
    expect((await call('GET', '/subjects/conc-many/versions')).body).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  test('ids and versions survive kill -9; ids are never reused', async () => {
    const dir = tempDir();
    let proc = await spawnBroker(['--data-dir', dir.path]);
    try {
      let base = await proc.registryUrl();
      const c = client(() => base);
      const a = (await c('POST', '/subjects/k-value/versions', { schema: avro([{ name: 'a', type: 'int' }], 'K') })).body as { id: number };
      const b = (await c('POST', '/subjects/k-value/versions', { schema: avro([{ name: 'a', type: 'int' }, { name: 'b', type: 'int', default: 1 }], 'K') })).body as { id: number };
      const gone = (await c('POST', '/subjects/gone-value/versions', { schema: avro([{ name: 'g', type: 'int' }], 'Gone') })).body as { id: number };
      await c('DELETE', '/subjects/gone-value');
      await c('DELETE', '/subjects/gone-value?permanent=true');
      await proc.kill('SIGKILL');

      proc = await spawnBroker(['--data-dir', dir.path]);
      base = await proc.registryUrl();
      expect((await c('GET', '/subjects/k-value/versions')).body).toEqual([1, 2]);
      expect((await c('GET', '/subjects/k-value/versions/2')).body).toMatchObject({ id: b.id });
      expect((await c('GET', `/schemas/ids/${a.id}`)).status).toBe(200);
      expect(errorOf(await c('GET', `/schemas/ids/${gone.id}`))).toEqual([404, 40403]);
      const fresh = (await c('POST', '/subjects/new-value/versions', { schema: avro([{ name: 'n', type: 'int' }], 'New') })).body as { id: number };
      expect(fresh.id).toBeGreaterThan(gone.id);
    } finally {
      await proc.kill('SIGKILL');
      dir.cleanup();
    }
  });
});
