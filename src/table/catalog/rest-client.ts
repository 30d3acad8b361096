// A Catalog over any Iceberg REST catalog server (the built-in one, Polaris,
// Nessie, Gravitino, Tabular, ...). Authentication as Iceberg's clients do
// it: a static bearer `token`, or a `credential` (client_id:client_secret)
// exchanged for a token with the OAuth2 client-credentials grant, refreshed
// before it expires. Errors come back as the CatalogError of the server's
// ErrorModel type, so callers handle a remote 409 as they handle a local one.

import type { Namespace } from '../../metadata/catalog-types.js';
import type { TableMetadata, TableRequirement, TableUpdate } from '../iceberg/metadata.js';
import { CatalogError, commitStateUnknown, type Catalog, type CreateTableRequest, type LoadedTable, type TableIdentifier } from './catalog.js';

export interface RestCatalogOptions {
  /** Base URI, e.g. http://127.0.0.1:8181 (without /v1). */
  readonly uri: string;
  readonly token?: string | null;
  readonly credential?: string | null;
  /** Token endpoint; default {uri}/v1/oauth/tokens. */
  readonly oauth2ServerUri?: string | null;
  readonly scope?: string;
  readonly warehouse?: string | null;
  readonly requestTimeoutMs?: number;
}

export class RestCatalog implements Catalog {
  private prefix = '';
  private configured: Promise<void> | null = null;
  private accessToken: { value: string; refreshAt: number } | null = null;

  constructor(private readonly opts: RestCatalogOptions) {}

  /** GET /v1/config once: the server may set a path prefix for every other route. */
  private configure(): Promise<void> {
    this.configured ??= (async () => {
      const q = this.opts.warehouse ? `?warehouse=${encodeURIComponent(this.opts.warehouse)}` : '';
      const config = (await this.request('GET', `/v1/config${q}`, undefined, false)) as { overrides?: Record<string, string>; defaults?: Record<string, string> };
      const prefix = config.overrides?.prefix ?? config.defaults?.prefix;
      this.prefix = prefix === undefined || prefix === '' ? '' : `/${prefix}`;
    })().catch((err: unknown) => {
      this.configured = null;
      throw err;
    });
    return this.configured;
  }

  private async authorization(): Promise<string | null> {
    if (this.opts.credential) {
      if (this.accessToken === null || this.accessToken.refreshAt <= Date.now()) this.accessToken = await this.fetchToken(this.opts.credential);
      return `Bearer ${this.accessToken.value}`;
    }
    return this.opts.token ? `Bearer ${this.opts.token}` : null;
  }

  private async fetchToken(credential: string): Promise<{ value: string; refreshAt: number }> {
    const sep = credential.indexOf(':');
    const [id, secret] = sep < 0 ? ['', credential] : [credential.slice(0, sep), credential.slice(sep + 1)];
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret, scope: this.opts.scope ?? 'catalog' });
    const url = this.opts.oauth2ServerUri ?? `${this.base()}/v1/oauth/tokens`;
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body, signal: this.signal() });
    const json = (await res.json().catch(() => ({}))) as { access_token?: string; expires_in?: number; error?: string; error_description?: string };
    if (!res.ok || typeof json.access_token !== 'string') {
      throw new CatalogError('NotAuthorizedException', 401, `OAuth2 token request to ${url} failed: ${json.error ?? res.status} ${json.error_description ?? ''}`.trim());
    }
    // Refresh at 90% of the lifetime, as Iceberg's clients do.
    const ttlMs = (json.expires_in ?? 3600) * 1000;
    return { value: json.access_token, refreshAt: Date.now() + ttlMs * 0.9 };
  }

  private base(): string {
    return this.opts.uri.replace(/\/+$/, '');
  }

  private signal(): AbortSignal {
    return AbortSignal.timeout(this.opts.requestTimeoutMs ?? 30_000);
  }

  private async request(method: string, path: string, body?: unknown, prefixed = true): Promise<unknown> {
    if (prefixed) await this.configure();
    const headers: Record<string, string> = { accept: 'application/json' };
    const auth = await this.authorization();
    if (auth !== null) headers.authorization = auth;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const url = `${this.base()}${prefixed ? `/v1${this.prefix}${path}` : path}`;
    const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: this.signal() });
    if (res.status === 204 || method === 'HEAD') {
      if (res.ok) return undefined;
      throw new CatalogError(res.status === 404 ? 'NotFoundException' : 'RESTException', res.status, `${method} ${path}: HTTP ${res.status}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      throw new CatalogError('RESTException', res.status, `${method} ${path}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
    }
    if (res.ok) return json;
    const error = (json as { error?: { type?: string; message?: string } }).error;
    // A 5xx on commit may have committed (the spec's CommitStateUnknownException).
    if (res.status >= 500 && method === 'POST' && path.includes('/tables/')) throw commitStateUnknown(error?.message ?? `HTTP ${res.status}`);
    throw new CatalogError(error?.type ?? 'RESTException', res.status, error?.message ?? `${method} ${path}: HTTP ${res.status}`);
  }

  async createNamespace(ns: Namespace, properties: Readonly<Record<string, string>> = {}): Promise<void> {
    await this.request('POST', '/namespaces', { namespace: ns, properties });
  }
  async listNamespaces(parent: Namespace = []): Promise<string[][]> {
    const q = parent.length === 0 ? '' : `?parent=${nsPath(parent)}`;
    return ((await this.request('GET', `/namespaces${q}`)) as { namespaces: string[][] }).namespaces;
  }
  async loadNamespace(ns: Namespace): Promise<Record<string, string>> {
    return ((await this.request('GET', `/namespaces/${nsPath(ns)}`)) as { properties?: Record<string, string> }).properties ?? {};
  }
  async dropNamespace(ns: Namespace): Promise<void> {
    await this.request('DELETE', `/namespaces/${nsPath(ns)}`);
  }
  async updateNamespaceProperties(ns: Namespace, removals: readonly string[], updates: Readonly<Record<string, string>>) {
    return (await this.request('POST', `/namespaces/${nsPath(ns)}/properties`, { removals, updates })) as { updated: string[]; removed: string[]; missing: string[] };
  }
  async listTables(ns: Namespace): Promise<TableIdentifier[]> {
    return ((await this.request('GET', `/namespaces/${nsPath(ns)}/tables`)) as { identifiers: TableIdentifier[] }).identifiers;
  }
  async tableExists(id: TableIdentifier): Promise<boolean> {
    try {
      await this.request('HEAD', tablePath(id));
      return true;
    } catch (err) {
      if (err instanceof CatalogError && err.status === 404) return false;
      throw err;
    }
  }
  async loadTable(id: TableIdentifier): Promise<LoadedTable> {
    return loaded(await this.request('GET', tablePath(id)));
  }
  async createTable(ns: Namespace, r: CreateTableRequest): Promise<LoadedTable> {
    const body = {
      name: r.name,
      schema: r.schema,
      ...(r.location === undefined ? {} : { location: r.location }),
      ...(r.partitionSpec === undefined ? {} : { 'partition-spec': r.partitionSpec }),
      ...(r.writeOrder === undefined ? {} : { 'write-order': r.writeOrder }),
      properties: r.properties ?? {},
    };
    return loaded(await this.request('POST', `/namespaces/${nsPath(ns)}/tables`, body));
  }
  async commitTable(id: TableIdentifier, requirements: readonly TableRequirement[], updates: readonly TableUpdate[]): Promise<LoadedTable> {
    return loaded(await this.request('POST', tablePath(id), { identifier: id, requirements, updates }));
  }
  async dropTable(id: TableIdentifier, purge = false): Promise<void> {
    await this.request('DELETE', `${tablePath(id)}${purge ? '?purgeRequested=true' : ''}`);
  }
  async renameTable(from: TableIdentifier, to: TableIdentifier): Promise<void> {
    await this.request('POST', '/tables/rename', { source: from, destination: to });
  }
}

const nsPath = (ns: Namespace) => encodeURIComponent(ns.join('\u001f'));
const tablePath = (id: TableIdentifier) => `/namespaces/${nsPath(id.namespace)}/tables/${encodeURIComponent(id.name)}`;

function loaded(body: unknown): LoadedTable {
  const b = body as { 'metadata-location'?: string; metadata?: TableMetadata };
  if (typeof b['metadata-location'] !== 'string' || b.metadata === undefined) throw new CatalogError('RESTException', 500, 'catalog answered without metadata-location and metadata');
  return { metadataLocation: b['metadata-location'], metadata: b.metadata };
}
