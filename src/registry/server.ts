// The schema registry's REST API on Fastify: Confluent's paths, bodies,
// content types and error bodies, mapped onto SchemaRegistry.

import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { BrokerMetrics } from '../observability/metrics.js';
import { RegistryError, schemaNotFound, storeError } from './errors.js';
import { SCHEMA_TYPES } from './formats/format.js';
import { checkSubjectName, type SchemaInput, type SchemaRegistry, type SubjectSchema } from './schema-registry.js';

const V1 = 'application/vnd.schemaregistry.v1+json';
const VND = 'application/vnd.schemaregistry+json';
/** Request bodies Confluent's registry takes; anything else is 415. */
const BODY_TYPES = [V1, VND, 'application/json', 'application/octet-stream'];

export interface RegistryServerOptions {
  readonly maxRequestBytes: number;
  readonly metrics?: BrokerMetrics;
}

type Query = Record<string, string | undefined>;
type Params = Record<string, string>;

const flag = (q: Query, name: string) => q[name] === 'true';

function responseType(accept: string | undefined): string {
  if (accept === undefined || accept.includes(V1) || accept.includes('*/*') || accept === '') return V1;
  if (accept.includes(VND)) return VND;
  if (accept.includes('application/json')) return 'application/json';
  return V1;
}

/** GET /subjects/{s}/versions/{v}: schemaType is left out for Avro and references when there are none, as Confluent does. */
function subjectSchemaBody(s: SubjectSchema): Record<string, unknown> {
  return {
    subject: s.subject,
    version: s.version,
    id: s.id,
    ...(s.schemaType === 'AVRO' ? {} : { schemaType: s.schemaType }),
    ...(s.references.length === 0 ? {} : { references: s.references }),
    schema: s.schema,
  };
}

function schemaInput(body: unknown): SchemaInput {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new RegistryError(422, 42201, 'Invalid schema: the request body must be a JSON object with a "schema" string');
  }
  const b = body as Record<string, unknown>;
  if (typeof b.schema !== 'string' || b.schema.trim() === '') throw new RegistryError(422, 42201, 'Empty schema');
  if (b.schemaType !== undefined && b.schemaType !== null && typeof b.schemaType !== 'string') throw new RegistryError(422, 42201, 'Invalid schema type');
  if (b.references !== undefined && b.references !== null && !Array.isArray(b.references)) throw new RegistryError(422, 42201, 'Invalid schema: references must be a list');
  const int = (v: unknown, what: string): number | undefined => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new RegistryError(422, 42201, `Invalid ${what} ${JSON.stringify(v)}`);
    return v;
  };
  return {
    schema: b.schema,
    schemaType: (b.schemaType as string | null | undefined) ?? undefined,
    references: (b.references as SchemaInput['references'] | null | undefined) ?? [],
    id: int(b.id, 'id'),
    version: int(b.version, 'version'),
  };
}

function schemaId(raw: string): number {
  if (!/^\d{1,10}$/.test(raw)) throw schemaNotFound();
  return Number(raw);
}

function subjectParam(p: Params): string {
  checkSubjectName(p.subject);
  return p.subject;
}

export class RegistryServer {
  private readonly app: FastifyInstance;

  constructor(
    private readonly registry: SchemaRegistry,
    private readonly log: Logger,
    options: RegistryServerOptions,
  ) {
    this.app = Fastify({ logger: false, bodyLimit: options.maxRequestBytes, return503OnClosing: true });
    this.app.removeAllContentTypeParsers();
    this.app.addContentTypeParser(BODY_TYPES, { parseAs: 'string' }, (_req, body, done) => {
      const text = body as string;
      if (text.trim() === '') return done(null, undefined);
      try {
        done(null, JSON.parse(text));
      } catch (err) {
        done(new RegistryError(400, 400, `Unrecognized request body: ${(err as Error).message}`), undefined);
      }
    });
    const metrics = options.metrics;
    if (metrics !== undefined) {
      this.app.addHook('onResponse', async (req, reply) => {
        // The route pattern, not the URL: subjects and ids would make unbounded label values.
        const route = req.routeOptions.url ?? 'unmatched';
        metrics.schemaRegistryRequests.labels(req.method, route, String(reply.statusCode)).inc();
        metrics.schemaRegistryRequestSeconds.labels(req.method, route).observe(reply.elapsedTime / 1000);
      });
    }
    this.app.setErrorHandler((err: FastifyError | RegistryError, req, reply) => this.sendError(err, req, reply));
    this.app.setNotFoundHandler((_req, reply) => {
      void reply.code(404).type(V1).send({ error_code: 404, message: 'HTTP 404 Not Found' });
    });
    this.routes();
  }

  private sendError(err: FastifyError | RegistryError, req: FastifyRequest, reply: FastifyReply): void {
    if (err instanceof RegistryError) {
      void reply.code(err.status).type(responseType(req.headers.accept)).send(err.body());
      return;
    }
    const status = (err as FastifyError).statusCode ?? 500;
    if (status === 413) void reply.code(413).type(V1).send({ error_code: 413, message: 'Request body too large' });
    else if (status === 415) void reply.code(415).type(V1).send({ error_code: 415, message: 'HTTP 415 Unsupported Media Type' });
    else if (status >= 400 && status < 500) void reply.code(status).type(V1).send({ error_code: status, message: err.message });
    else {
      this.log.error({ err, method: req.method, url: req.url }, 'schema registry request failed');
      const e = storeError('Error in the backend data store');
      void reply.code(e.status).type(V1).send(e.body());
    }
  }

  private routes(): void {
    const app = this.app;
    const reg = this.registry;
    type Handler = (req: FastifyRequest<{ Params: Params; Querystring: Query }>) => Promise<unknown>;
    const route = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, handler: Handler) => {
      app.route<{ Params: Params; Querystring: Query }>({
        method,
        url,
        handler: async (req, reply) => {
          const body = await handler(req);
          // Raw schema endpoints answer with the schema text itself.
          void reply.type(responseType(req.headers.accept));
          return typeof body === 'string' ? reply.send(body) : reply.send(JSON.stringify(body));
        },
      });
    };

    route('GET', '/', async () => ({}));
    route('GET', '/schemas/types', async () => [...SCHEMA_TYPES]);

    route('GET', '/schemas/ids/:id', async (req) => {
      const s = await reg.schemaById(schemaId(req.params.id));
      return { ...(s.schemaType === 'AVRO' ? {} : { schemaType: s.schemaType }), ...(s.references.length === 0 ? {} : { references: s.references }), schema: s.schema };
    });
    route('GET', '/schemas/ids/:id/schema', async (req) => (await reg.schemaById(schemaId(req.params.id))).schema);
    route('GET', '/schemas/ids/:id/subjects', async (req) => reg.subjectsOfSchema(schemaId(req.params.id), flag(req.query, 'deleted')));
    route('GET', '/schemas/ids/:id/versions', async (req) => reg.versionsOfSchema(schemaId(req.params.id), flag(req.query, 'deleted')));

    route('GET', '/subjects', async (req) => reg.subjects(req.query.subjectPrefix ?? '', flag(req.query, 'deleted')));
    route('POST', '/subjects/:subject', async (req) =>
      subjectSchemaBody(await reg.lookup(subjectParam(req.params), schemaInput(req.body), flag(req.query, 'normalize'), flag(req.query, 'deleted'))),
    );
    route('DELETE', '/subjects/:subject', async (req) => reg.deleteSubject(subjectParam(req.params), flag(req.query, 'permanent')));
    route('GET', '/subjects/:subject/versions', async (req) => reg.versions(subjectParam(req.params), flag(req.query, 'deleted')));
    route('POST', '/subjects/:subject/versions', async (req) => {
      const { id } = await reg.register(subjectParam(req.params), schemaInput(req.body), flag(req.query, 'normalize'));
      return { id };
    });
    route('GET', '/subjects/:subject/versions/:version', async (req) =>
      subjectSchemaBody(await reg.version(subjectParam(req.params), req.params.version, flag(req.query, 'deleted'))),
    );
    route('GET', '/subjects/:subject/versions/:version/schema', async (req) => (await reg.version(subjectParam(req.params), req.params.version, flag(req.query, 'deleted'))).schema);
    route('GET', '/subjects/:subject/versions/:version/referencedby', async (req) => reg.referencedBy(subjectParam(req.params), req.params.version));
    route('DELETE', '/subjects/:subject/versions/:version', async (req) => reg.deleteVersion(subjectParam(req.params), req.params.version, flag(req.query, 'permanent')));

    const compatibility = async (req: FastifyRequest<{ Params: Params; Querystring: Query }>, version: string | null) => {
      const messages = await reg.checkCompatibility(subjectParam(req.params), version, schemaInput(req.body));
      return flag(req.query, 'verbose') ? { is_compatible: messages.length === 0, messages } : { is_compatible: messages.length === 0 };
    };
    route('POST', '/compatibility/subjects/:subject/versions', async (req) => compatibility(req, null));
    route('POST', '/compatibility/subjects/:subject/versions/:version', async (req) => compatibility(req, req.params.version));

    const field = (body: unknown, name: string) => (body !== null && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined);
    const level = (body: unknown) => field(body, 'compatibility');
    route('GET', '/config', async () => ({ compatibilityLevel: await reg.getConfig(null, true) }));
    route('PUT', '/config', async (req) => ({ compatibility: await reg.setConfig(null, level(req.body)) }));
    route('DELETE', '/config', async () => ({ compatibilityLevel: await reg.deleteConfig(null) }));
    route('GET', '/config/:subject', async (req) => ({ compatibilityLevel: await reg.getConfig(subjectParam(req.params), flag(req.query, 'defaultToGlobal')) }));
    route('PUT', '/config/:subject', async (req) => ({ compatibility: await reg.setConfig(subjectParam(req.params), level(req.body)) }));
    route('DELETE', '/config/:subject', async (req) => ({ compatibilityLevel: await reg.deleteConfig(subjectParam(req.params)) }));

    const mode = (body: unknown) => field(body, 'mode');
    route('GET', '/mode', async () => ({ mode: await reg.getMode(null, true) }));
    route('PUT', '/mode', async (req) => ({ mode: await reg.setMode(null, mode(req.body), flag(req.query, 'force')) }));
    route('GET', '/mode/:subject', async (req) => ({ mode: await reg.getMode(subjectParam(req.params), flag(req.query, 'defaultToGlobal')) }));
    route('PUT', '/mode/:subject', async (req) => ({ mode: await reg.setMode(subjectParam(req.params), mode(req.body), flag(req.query, 'force')) }));
    route('DELETE', '/mode/:subject', async (req) => ({ mode: await reg.deleteMode(subjectParam(req.params)) }));
  }

  async listen(host: string, port: number): Promise<{ address: string; port: number }> {
    await this.app.listen({ host, port });
    const addr = this.app.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('schema registry did not bind a TCP port');
    return { address: addr.address, port: addr.port };
  }

  async close(): Promise<void> {
    await this.app.close();
  }
}
