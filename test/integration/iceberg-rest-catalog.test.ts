// The built-in Iceberg REST catalog over HTTP: namespaces, tables, commits
// with requirements, the spec's error model, and authentication, driven by
// iceberg-js (an independent client), plain fetch, and Floe's own
// RestCatalog adapter (bearer token and OAuth2 client credentials).

import { IcebergRestCatalog } from 'iceberg-js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CatalogError } from '../../src/table/catalog/catalog.js';
import { RestCatalog } from '../../src/table/catalog/rest-client.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';

let open: TestBroker;
let secured: TestBroker;
const schema = {
  type: 'struct' as const,
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' as const },
    { id: 2, name: 'name', required: false, type: 'string' as const },
  ],
};

beforeAll(async () => {
  open = await startTestBroker();
  secured = await startTestBroker({ 'iceberg.catalog.token': 'static-token', 'iceberg.catalog.credential': 'floe-client:s3cret' });
}, 60_000);

afterAll(async () => {
  await open?.cleanup();
  await secured?.cleanup();
});

const url = (b: TestBroker) => `http://127.0.0.1:${b.catalogPort}`;

/** The parts of REST catalog responses the tests look at. */
interface Body {
  readonly error: { readonly type: string; readonly code: number; readonly message: string };
  readonly metadata: { readonly properties: Record<string, string>; readonly 'metadata-log': unknown[] };
  readonly 'metadata-location': string;
}
const body = async (r: Response): Promise<Body> => (await r.json()) as Body;

describe('built-in Iceberg REST catalog', () => {
  test('iceberg-js: namespaces and tables, created, listed, loaded, dropped', async () => {
    const c = new IcebergRestCatalog({ baseUrl: url(open) });
    await c.createNamespace({ namespace: ['analytics'] }, { properties: { owner: 'ada' } });
    expect(await c.listNamespaces()).toEqual(expect.arrayContaining([{ namespace: ['analytics'] }]));
    expect((await c.loadNamespaceMetadata({ namespace: ['analytics'] })).properties).toEqual({ owner: 'ada' });
    const created = await c.createTable({ namespace: ['analytics'] }, { name: 'events', schema });
    expect(created['format-version']).toBe(2);
    expect(created.location).toMatch(/^file:\/\/.*\/objects\/iceberg\/analytics\/events$/);
    expect(await c.listTables({ namespace: ['analytics'] })).toEqual([{ namespace: ['analytics'], name: 'events' }]);
    expect(await c.tableExists({ namespace: ['analytics'], name: 'events' })).toBe(true);
    await expect(c.createTable({ namespace: ['analytics'] }, { name: 'events', schema })).rejects.toMatchObject({ status: 409 });
    await expect(c.dropNamespace({ namespace: ['analytics'] })).rejects.toMatchObject({ status: 409 });
    await c.dropTable({ namespace: ['analytics'], name: 'events' });
    expect(await c.tableExists({ namespace: ['analytics'], name: 'events' })).toBe(false);
    await c.dropNamespace({ namespace: ['analytics'] });
    expect(await c.namespaceExists({ namespace: ['analytics'] })).toBe(false);
  });

  test('commits check requirements: a stale assert-ref-snapshot-id or schema id gets 409 CommitFailedException, an unknown table 404', async () => {
    const base = url(open);
    const post = (path: string, body: unknown) => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('/v1/namespaces', { namespace: ['db'] })).status).toBe(200);
    expect((await post('/v1/namespaces/db/tables', { name: 't', schema })).status).toBe(200);
    const ok = await post('/v1/namespaces/db/tables/t', {
      requirements: [{ type: 'assert-current-schema-id', 'current-schema-id': 0 }],
      updates: [{ action: 'set-properties', updates: { 'commit.retry.num-retries': '4' } }],
    });
    expect(ok.status).toBe(200);
    const committed = await body(ok);
    expect(committed.metadata.properties['commit.retry.num-retries']).toBe('4');
    expect(committed['metadata-location']).toMatch(/\/metadata\/00001-[0-9a-f-]+\.metadata\.json$/);
    expect(committed.metadata['metadata-log']).toHaveLength(1);

    const stale = await post('/v1/namespaces/db/tables/t', { requirements: [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': 42 }], updates: [] });
    expect(stale.status).toBe(409);
    expect((await body(stale)).error).toMatchObject({ type: 'CommitFailedException', code: 409 });
    const missing = await fetch(`${base}/v1/namespaces/db/tables/nope`);
    expect(missing.status).toBe(404);
    expect((await body(missing)).error).toMatchObject({ type: 'NoSuchTableException', code: 404 });
    const noNs = await fetch(`${base}/v1/namespaces/nowhere/tables`);
    expect((await body(noNs)).error.type).toBe('NoSuchNamespaceException');
    const bad = await post('/v1/namespaces/db/tables/t', { requirements: [], updates: [{ action: 'set-current-schema', 'schema-id': 7 }] });
    expect(bad.status).toBe(400);
    expect((await body(bad)).error.type).toBe('BadRequestException');
    const rename = await post('/v1/tables/rename', { source: { namespace: ['db'], name: 't' }, destination: { namespace: ['db'], name: 't2' } });
    expect(rename.status).toBe(204);
    expect((await fetch(`${base}/v1/namespaces/db/tables/t2`)).status).toBe(200);
  });

  test('authentication: no token gets 401; the static bearer token and OAuth2 client credentials are accepted by Floe\'s RestCatalog client', async () => {
    const base = url(secured);
    const denied = await fetch(`${base}/v1/namespaces`);
    expect(denied.status).toBe(401);
    expect((await body(denied)).error.type).toBe('NotAuthorizedException');

    const bearer = new RestCatalog({ uri: base, token: 'static-token' });
    await bearer.createNamespace(['secure']);
    expect(await bearer.listNamespaces()).toEqual([['secure']]);

    const oauth = new RestCatalog({ uri: base, credential: 'floe-client:s3cret' });
    const t = await oauth.createTable(['secure'], { name: 'x', schema });
    expect(t.metadata['current-schema-id']).toBe(0);
    expect(await oauth.tableExists({ namespace: ['secure'], name: 'x' })).toBe(true);
    await expect(new RestCatalog({ uri: base, credential: 'floe-client:wrong' }).listNamespaces()).rejects.toMatchObject({ type: 'NotAuthorizedException', status: 401 });
    await expect(oauth.loadTable({ namespace: ['secure'], name: 'y' })).rejects.toBeInstanceOf(CatalogError);
    await expect(oauth.loadTable({ namespace: ['secure'], name: 'y' })).rejects.toMatchObject({ type: 'NoSuchTableException', status: 404 });
  });
});
