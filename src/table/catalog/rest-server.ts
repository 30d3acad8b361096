// The built-in Iceberg REST catalog (ARCHITECTURE §7.5), serving the tables
// Floe manages so that Trino, Spark, PyIceberg or DuckDB can be pointed at a
// fresh install. Routes, bodies and the ErrorModel follow the REST catalog
// OpenAPI spec; StoreCatalog does the work. Authentication is optional: a
// static bearer token, and/or OAuth2 client credentials exchanged at
// /v1/oauth/tokens for short-lived tokens.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { NAMESPACE_SEPARATOR, type Namespace } from '../../metadata/catalog-types.js';
import type { TableRequirement, TableUpdate } from '../iceberg/metadata.js';
import type { IcebergSchema } from '../iceberg/types.js';
import { badRequest, CatalogError, type CreateTableRequest, type LoadedTable, type TableIdentifier } from './catalog.js';
import type { StoreCatalog } from './store-catalog.js';

export interface RestCatalogServerOptions {
  /** Requests must carry `Authorization: Bearer <token>` (null: no static token). */
  readonly token: string | null;
  /** OAuth2 client credentials `client_id:client_secret` accepted at /v1/oauth/tokens (null: none). */
  readonly credential: string | null;
  readonly maxRequestBytes: number;
  /** Lifetime of tokens issued at /v1/oauth/tokens. */
  readonly tokenTtlMs?: number;
}

type Params = { ns?: string; table?: string };
type Query = Record<string, string | undefined>;
type Req = FastifyRequest<{ Params: Params; Querystring: Query }>;

const ENDPOINTS = [
  'GET /v1/namespaces',
  'POST /v1/namespaces',
  'GET /v1/namespaces/{namespace}',
  'HEAD /v1/namespaces/{namespace}',
  'DELETE /v1/namespaces/{namespace}',
  'POST /v1/namespaces/{namespace}/properties',
  'GET /v1/namespaces/{namespace}/tables',
  'POST /v1/namespaces/{namespace}/tables',
  'GET /v1/namespaces/{namespace}/tables/{table}',
  'HEAD /v1/namespaces/{namespace}/tables/{table}',
  'POST /v1/namespaces/{namespace}/tables/{table}',
  'DELETE /v1/namespaces/{namespace}/tables/{table}',
  'POST /v1/tables/rename',
];

export class RestCatalogServer {
  private readonly app: FastifyInstance;
  /** Tokens issued at /v1/oauth/tokens, with when they expire. */
  private readonly issued = new Map<string, number>();

  constructor(
    private readonly catalog: StoreCatalog,
    private readonly log: Logger,
    private readonly options: RestCatalogServerOptions,
  ) {
    this.app = Fastify({ logger: false, bodyLimit: options.maxRequestBytes, return503OnClosing: true });
    this.app.removeAllContentTypeParsers();
    this.app.addContentTypeParser('*', { parseAs: 'string' }, (req, body, done) => {
      const text = body as string;
      if (text.trim() === '') return done(null, undefined);
      // The OAuth2 token endpoint takes a form, everything else JSON.
      if ((req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return done(null, Object.fromEntries(new URLSearchParams(text)));
      try {
        done(null, JSON.parse(text));
      } catch (err) {
        done(badRequest(`Malformed request body: ${(err as Error).message}`), undefined);
      }
    });
    this.app.setErrorHandler((err: FastifyError | CatalogError, req, reply) => this.sendError(err, req, reply));
    this.app.setNotFoundHandler((req, reply) => {
      void reply.code(404).send(errorBody(404, 'NotFoundException', `No route for ${req.method} ${req.url.split('?')[0]}`));
    });
    this.app.addHook('onRequest', async (req, reply) => {
      if (req.url.startsWith('/v1/oauth/tokens')) return;
      if (!this.authorized(req.headers.authorization)) {
        return reply.code(401).send(errorBody(401, 'NotAuthorizedException', 'Not authorized: a valid bearer token is required'));
      }
      return undefined;
    });
    this.routes();
  }

  private authorized(header: string | undefined): boolean {
    if (this.options.token === null && this.options.credential === null) return true;
    const m = /^Bearer (.+)$/.exec(header ?? '');
    if (m === null) return false;
    const token = m[1];
    if (this.options.token !== null && safeEqual(token, this.options.token)) return true;
    const expires = this.issued.get(token);
    if (expires === undefined) return false;
    if (expires < Date.now()) {
      this.issued.delete(token);
      return false;
    }
    return true;
  }

  private sendError(err: FastifyError | CatalogError, req: FastifyRequest, reply: FastifyReply): void {
    if (err instanceof CatalogError) {
      void reply.code(err.status).send(errorBody(err.status, err.type, err.message));
      return;
    }
    const status = (err as FastifyError).statusCode ?? 500;
    if (status >= 400 && status < 500) {
      void reply.code(status).send(errorBody(status, status === 413 ? 'RequestTooLargeException' : 'BadRequestException', err.message));
      return;
    }
    this.log.error({ err, method: req.method, url: req.url }, 'Iceberg REST catalog request failed');
    void reply.code(500).send(errorBody(500, 'ServerErrorException', 'Internal server error'));
  }

  private routes(): void {
    const app = this.app;
    const cat = this.catalog;
    const route = (method: 'GET' | 'POST' | 'DELETE' | 'HEAD', url: string, handler: (req: Req, reply: FastifyReply) => Promise<unknown>) => {
      app.route<{ Params: Params; Querystring: Query }>({
        method,
        url,
        // Fastify would otherwise answer HEAD itself from the GET route.
        exposeHeadRoute: false,
        handler: async (req, reply) => {
          const body = await handler(req, reply);
          if (body === undefined) return reply.code(204).send();
          return reply.type('application/json').send(JSON.stringify(body));
        },
      });
    };

    route('GET', '/v1/config', async () => ({ defaults: {}, overrides: {}, endpoints: ENDPOINTS }));
    route('POST', '/v1/oauth/tokens', async (req, reply) => this.token(req, reply));

    route('GET', '/v1/namespaces', async (req) => {
      const parent = req.query.parent === undefined ? [] : splitNamespace(req.query.parent);
      return { namespaces: await cat.listNamespaces(parent) };
    });
    route('POST', '/v1/namespaces', async (req) => {
      const b = object(req.body);
      const ns = stringArray(b.namespace, 'namespace');
      const properties = stringMap(b.properties ?? {}, 'properties');
      await cat.createNamespace(ns, properties);
      return { namespace: ns, properties };
    });
    route('GET', '/v1/namespaces/:ns', async (req) => {
      const ns = nsParam(req);
      return { namespace: ns, properties: await cat.loadNamespace(ns) };
    });
    route('HEAD', '/v1/namespaces/:ns', async (req) => {
      await cat.loadNamespace(nsParam(req));
      return undefined;
    });
    route('DELETE', '/v1/namespaces/:ns', async (req) => {
      await cat.dropNamespace(nsParam(req));
      return undefined;
    });
    route('POST', '/v1/namespaces/:ns/properties', async (req) => {
      const b = object(req.body);
      return cat.updateNamespaceProperties(nsParam(req), stringArray(b.removals ?? [], 'removals'), stringMap(b.updates ?? {}, 'updates'));
    });

    route('GET', '/v1/namespaces/:ns/tables', async (req) => ({ identifiers: await cat.listTables(nsParam(req)) }));
    route('POST', '/v1/namespaces/:ns/tables', async (req) => {
      const ns = nsParam(req);
      const b = object(req.body);
      const request = createRequest(b);
      if (b['stage-create'] === true) return { metadata: await cat.stageCreate(ns, request), config: {} };
      return loadResult(await cat.createTable(ns, request));
    });
    route('GET', '/v1/namespaces/:ns/tables/:table', async (req) => loadResult(await cat.loadTable(tableParam(req))));
    route('HEAD', '/v1/namespaces/:ns/tables/:table', async (req) => {
      const id = tableParam(req);
      if (!(await cat.tableExists(id))) throw new CatalogError('NoSuchTableException', 404, `Table does not exist: ${[...id.namespace, id.name].join('.')}`);
      return undefined;
    });
    route('POST', '/v1/namespaces/:ns/tables/:table', async (req) => {
      const b = object(req.body);
      const requirements = array(b.requirements ?? [], 'requirements') as TableRequirement[];
      const updates = array(b.updates ?? [], 'updates') as TableUpdate[];
      const committed = await cat.commitTable(tableParam(req), requirements, updates);
      return { 'metadata-location': committed.metadataLocation, metadata: committed.metadata };
    });
    route('DELETE', '/v1/namespaces/:ns/tables/:table', async (req) => {
      await cat.dropTable(tableParam(req), req.query.purgeRequested === 'true');
      return undefined;
    });
    route('POST', '/v1/tables/rename', async (req) => {
      const b = object(req.body);
      await cat.renameTable(identifier(b.source, 'source'), identifier(b.destination, 'destination'));
      return undefined;
    });
  }

  /** OAuth2 client credentials grant (RFC 6749 §4.4), as Iceberg clients send it. */
  private async token(req: Req, reply: FastifyReply): Promise<unknown> {
    const b = object(req.body);
    const oauthError = (status: number, error: string, description: string) => {
      void reply.code(status);
      return { error, error_description: description };
    };
    if (this.options.credential === null) return oauthError(400, 'unsupported_grant_type', 'this catalog issues no OAuth2 tokens');
    if (b.grant_type !== 'client_credentials') return oauthError(400, 'unsupported_grant_type', `grant_type ${String(b.grant_type)} is not supported`);
    let id = b.client_id;
    let secret = b.client_secret;
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    if (basic !== null) [id, secret] = Buffer.from(basic[1], 'base64').toString('utf8').split(':', 2);
    if (typeof id !== 'string' || typeof secret !== 'string' || !safeEqual(`${id}:${secret}`, this.options.credential)) {
      return oauthError(401, 'invalid_client', 'unknown client or wrong secret');
    }
    const ttl = this.options.tokenTtlMs ?? 3_600_000;
    const now = Date.now();
    for (const [t, expires] of this.issued) if (expires < now) this.issued.delete(t);
    const token = randomBytes(24).toString('base64url');
    this.issued.set(token, now + ttl);
    return { access_token: token, token_type: 'bearer', expires_in: Math.floor(ttl / 1000), issued_token_type: 'urn:ietf:params:oauth:token-type:access_token' };
  }

  async listen(host: string, port: number): Promise<{ address: string; port: number }> {
    await this.app.listen({ host, port });
    const addr = this.app.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('Iceberg REST catalog did not bind a TCP port');
    return { address: addr.address, port: addr.port };
  }

  async close(): Promise<void> {
    await this.app.close();
  }
}

function errorBody(code: number, type: string, message: string) {
  return { error: { message, type, code } };
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A namespace path parameter: levels separated by the unit separator (%1F), as the spec says. */
function splitNamespace(raw: string): string[] {
  const levels = raw.split(NAMESPACE_SEPARATOR);
  if (levels.some((l) => l === '')) throw badRequest(`invalid namespace ${JSON.stringify(raw)}`);
  return levels;
}

const nsParam = (req: Req): Namespace => splitNamespace(req.params.ns ?? '');
const tableParam = (req: Req): TableIdentifier => ({ namespace: nsParam(req), name: req.params.table ?? '' });

function object(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('request body must be a JSON object');
  return body as Record<string, unknown>;
}

function array(v: unknown, name: string): unknown[] {
  if (!Array.isArray(v)) throw badRequest(`${name} must be an array`);
  return v;
}

function stringArray(v: unknown, name: string): string[] {
  const a = array(v, name);
  if (!a.every((x) => typeof x === 'string')) throw badRequest(`${name} must be an array of strings`);
  return a as string[];
}

function stringMap(v: unknown, name: string): Record<string, string> {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'string')) {
    throw badRequest(`${name} must be an object of strings`);
  }
  return v as Record<string, string>;
}

function identifier(v: unknown, name: string): TableIdentifier {
  const o = object(v);
  if (typeof o.name !== 'string') throw badRequest(`${name}.name must be a string`);
  return { namespace: stringArray(o.namespace, `${name}.namespace`), name: o.name };
}

function createRequest(b: Record<string, unknown>): CreateTableRequest {
  if (typeof b.name !== 'string') throw badRequest('name must be a string');
  const schema = object(b.schema);
  if (schema.type !== 'struct' || !Array.isArray(schema.fields)) throw badRequest('schema must be a struct with fields');
  return {
    name: b.name,
    schema: schema as unknown as IcebergSchema,
    ...(typeof b.location === 'string' ? { location: b.location } : {}),
    ...(b['partition-spec'] !== undefined && b['partition-spec'] !== null ? { partitionSpec: { 'spec-id': 0, fields: [], ...object(b['partition-spec']) } as CreateTableRequest['partitionSpec'] } : {}),
    ...(b['write-order'] !== undefined && b['write-order'] !== null ? { writeOrder: { 'order-id': 0, fields: [], ...object(b['write-order']) } as CreateTableRequest['writeOrder'] } : {}),
    ...(b.properties !== undefined ? { properties: stringMap(b.properties, 'properties') } : {}),
  };
}

function loadResult(t: LoadedTable) {
  return { 'metadata-location': t.metadataLocation, metadata: t.metadata, config: {} };
}
