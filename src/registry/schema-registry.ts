// The schema registry's rules, over the metadata store: subjects and their
// versions, schema ids shared across subjects, compatibility levels, modes,
// soft and permanent deletes. The HTTP layer (server.ts) only maps requests
// to these calls and RegistryErrors to Confluent's error bodies.

import type { Logger } from 'pino';
import { RegistryConflictError, SchemaIdTakenError, type RegistrySettingKey, type SchemaReference, type SchemaRegistryStore, type StoredSchema, type SubjectVersion } from '../metadata/registry-types.js';
import {
  compatibilityNotConfigured,
  idDoesNotMatch,
  incompatibleSchema,
  invalidCompatibilityLevel,
  invalidMode,
  invalidSchema,
  invalidSubject,
  invalidVersion,
  modeNotConfigured,
  operationNotPermitted,
  referenceExists,
  schemaNotFound,
  subjectNotFound,
  subjectNotSoftDeleted,
  subjectSoftDeleted,
  versionNotFound,
  versionNotSoftDeleted,
  versionSoftDeleted,
} from './errors.js';
import { InvalidSchemaError, SCHEMA_TYPES, type ParsedSchema, type ResolvedReference, type SchemaFormat, type SchemaType } from './formats/format.js';

/**
 * The format modules (avsc, Ajv, protobufjs) load on first use: a broker
 * whose registry holds no schemas never pays for them in start-up or heap.
 */
let formats: Promise<Readonly<Record<SchemaType, SchemaFormat>>> | null = null;
const formatOf = async (type: SchemaType): Promise<SchemaFormat> => (await (formats ??= import('./formats/index.js').then((m) => m.FORMATS)))[type];

export const COMPATIBILITY_LEVELS = ['NONE', 'BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE'] as const;
export type CompatibilityLevel = (typeof COMPATIBILITY_LEVELS)[number];

export const MODES = ['READWRITE', 'READONLY', 'READONLY_OVERRIDE', 'IMPORT'] as const;
export type Mode = (typeof MODES)[number];

/** A schema as clients send it to register, look up or check. */
export interface SchemaInput {
  readonly schema: string;
  readonly schemaType?: string;
  readonly references?: readonly SchemaReference[];
  /** IMPORT mode only. */
  readonly id?: number;
  readonly version?: number;
}

/** A subject's version, as GET /subjects/{s}/versions/{v} returns it. */
export interface SubjectSchema {
  readonly subject: string;
  readonly version: number;
  readonly id: number;
  readonly schemaType: SchemaType;
  readonly schema: string;
  readonly references: readonly SchemaReference[];
}

export interface RegistryOptions {
  /** The compatibility level when neither the subject nor the registry sets one (Confluent's schema.compatibility.level). */
  readonly defaultCompatibility: CompatibilityLevel;
}

/** How many times a registration is re-checked when another one changed the subject in between. */
const MAX_REGISTER_ATTEMPTS = 16;
const PARSED_CACHE_ENTRIES = 1000;
/** Reference chains deeper than this are refused (a cycle or a hostile schema). */
const MAX_REFERENCE_DEPTH = 32;

export function parseVersion(raw: string): number | 'latest' {
  if (raw === 'latest' || raw === '-1') return 'latest';
  if (!/^\d{1,10}$/.test(raw)) throw invalidVersion(raw);
  const n = Number(raw);
  if (n < 1 || n > 2147483647) throw invalidVersion(raw);
  return n;
}

export function checkSubjectName(subject: string): void {
  // Confluent refuses empty subjects and control characters; the global settings live under ''.
  if (subject === '' || /[\u0000-\u001f]/.test(subject)) throw invalidSubject(subject);
}

function schemaTypeOf(raw: string | undefined): SchemaType {
  const t = (raw ?? 'AVRO').toUpperCase();
  if (!(SCHEMA_TYPES as readonly string[]).includes(t)) throw invalidSchema(`Invalid schema type ${raw}`);
  return t as SchemaType;
}

export class SchemaRegistry {
  /** Parsed stored schemas by id, oldest first (compatibility checks parse every version they compare with). */
  private readonly parsedById = new Map<number, ParsedSchema>();
  /** The last registration queued per subject. */
  private readonly registering = new Map<string, Promise<void>>();

  constructor(
    private readonly store: SchemaRegistryStore,
    private readonly options: RegistryOptions,
    private readonly log: Logger,
  ) {}

  /** The references of a schema, resolved transitively, dependencies first. */
  private async resolveReferences(references: readonly SchemaReference[], depth = 0, seen = new Set<string>()): Promise<ResolvedReference[]> {
    if (depth > MAX_REFERENCE_DEPTH) throw invalidSchema(`Invalid schema: references nest deeper than ${MAX_REFERENCE_DEPTH}`);
    const out: ResolvedReference[] = [];
    for (const ref of references) {
      if (typeof ref?.name !== 'string' || typeof ref.subject !== 'string' || !Number.isInteger(ref.version)) {
        throw invalidSchema('Invalid schema: a reference needs a name, a subject and a version');
      }
      const key = `${ref.subject}\u0000${ref.version}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const versions = await this.store.registryVersions(ref.subject);
      const target = ref.version === -1 ? versions.filter((v) => !v.deleted).at(-1) : versions.find((v) => v.version === ref.version);
      const stored = target === undefined ? null : await this.store.registrySchemaById(target.schemaId);
      if (stored === null) throw invalidSchema(`Invalid schema: reference ${ref.name} names subject '${ref.subject}' version ${ref.version}, which does not exist`);
      out.push(...(await this.resolveReferences(stored.references, depth + 1, seen)));
      out.push({ name: ref.name, schemaType: stored.schemaType as SchemaType, schema: stored.schema });
    }
    return out;
  }

  private async parse(input: SchemaInput): Promise<{ parsed: ParsedSchema; references: SchemaReference[] }> {
    if (typeof input.schema !== 'string') throw invalidSchema('Invalid schema: the request has no schema string');
    const schemaType = schemaTypeOf(input.schemaType);
    const references = (input.references ?? []).map((r) => ({ name: r?.name, subject: r?.subject, version: r?.version }));
    const resolved = await this.resolveReferences(references);
    try {
      const format = await formatOf(schemaType);
      return { parsed: format.parse(input.schema, resolved), references };
    } catch (err) {
      if (err instanceof InvalidSchemaError) throw invalidSchema(err.message);
      throw err;
    }
  }

  private async parseStored(stored: StoredSchema): Promise<ParsedSchema> {
    // An id's schema and references never change, so its parse can be kept.
    const cached = this.parsedById.get(stored.id);
    if (cached !== undefined) return cached;
    const references = await this.resolveReferences(stored.references);
    const parsed = (await formatOf(stored.schemaType as SchemaType)).parse(stored.schema, references);
    if (this.parsedById.size >= PARSED_CACHE_ENTRIES) this.parsedById.delete(this.parsedById.keys().next().value as number);
    this.parsedById.set(stored.id, parsed);
    return parsed;
  }

  // ---- settings

  /** A setting in force for a subject (or, for null, globally): the subject's own, else the global one, else the default. */
  private async effective(subject: string | null, key: RegistrySettingKey, fallback: string): Promise<string> {
    const own = subject === null ? null : await this.store.registryGetSetting(subject, key);
    return own ?? (await this.store.registryGetSetting('', key)) ?? fallback;
  }

  /** GET /config/{s} and /mode/{s}: the subject's own setting, or with defaultToGlobal the one in force. */
  private async subjectSetting(subject: string | null, key: RegistrySettingKey, fallback: string, defaultToGlobal: boolean, notConfigured: (s: string) => Error): Promise<string> {
    if (subject === null) return this.effective(null, key, fallback);
    const own = await this.store.registryGetSetting(subject, key);
    if (own !== null) return own;
    if (!defaultToGlobal) throw notConfigured(subject);
    return this.effective(null, key, fallback);
  }

  async compatibility(subject: string | null): Promise<CompatibilityLevel> {
    return (await this.effective(subject, 'compatibility', this.options.defaultCompatibility)) as CompatibilityLevel;
  }

  async getConfig(subject: string | null, defaultToGlobal: boolean): Promise<CompatibilityLevel> {
    return (await this.subjectSetting(subject, 'compatibility', this.options.defaultCompatibility, defaultToGlobal, compatibilityNotConfigured)) as CompatibilityLevel;
  }

  async setConfig(subject: string | null, level: unknown): Promise<CompatibilityLevel> {
    const l = typeof level === 'string' ? level.toUpperCase() : '';
    if (!(COMPATIBILITY_LEVELS as readonly string[]).includes(l)) throw invalidCompatibilityLevel(String(level));
    if (subject !== null) checkSubjectName(subject);
    await this.store.registrySetSetting(subject ?? '', 'compatibility', l);
    return l as CompatibilityLevel;
  }

  /** Clears a setting and returns the level that was in force. */
  /** Clears a setting and returns the one that was in force; a subject with neither a setting nor versions is unknown. */
  private async deleteSetting(subject: string | null, key: RegistrySettingKey, fallback: string): Promise<string> {
    if (subject !== null && (await this.store.registryGetSetting(subject, key)) === null && (await this.store.registryVersions(subject)).length === 0) {
      throw subjectNotFound(subject);
    }
    const before = await this.effective(subject, key, fallback);
    await this.store.registrySetSetting(subject ?? '', key, null);
    return before;
  }

  async deleteConfig(subject: string | null): Promise<CompatibilityLevel> {
    return (await this.deleteSetting(subject, 'compatibility', this.options.defaultCompatibility)) as CompatibilityLevel;
  }

  async mode(subject: string | null): Promise<Mode> {
    return (await this.effective(subject, 'mode', 'READWRITE')) as Mode;
  }

  async getMode(subject: string | null, defaultToGlobal: boolean): Promise<Mode> {
    return (await this.subjectSetting(subject, 'mode', 'READWRITE', defaultToGlobal, modeNotConfigured)) as Mode;
  }

  async setMode(subject: string | null, mode: unknown, force: boolean): Promise<Mode> {
    const m = typeof mode === 'string' ? mode.toUpperCase() : '';
    if (!(MODES as readonly string[]).includes(m)) throw invalidMode(String(mode));
    if (subject !== null) checkSubjectName(subject);
    if (m === 'IMPORT' && !force) {
      // Importing next to existing schemas could collide with their ids.
      const existing = subject === null ? await this.store.registrySubjectVersions('') : await this.store.registryVersions(subject);
      if (existing.some((v) => !v.deleted)) throw operationNotPermitted('Cannot import since found existing subjects');
    }
    await this.store.registrySetSetting(subject ?? '', 'mode', m);
    return m as Mode;
  }

  async deleteMode(subject: string): Promise<Mode> {
    return (await this.deleteSetting(subject, 'mode', 'READWRITE')) as Mode;
  }

  // ---- schemas by id

  /** The schema and the subject versions using it; an id no version (even soft-deleted) uses is not found. */
  private async schemaInUse(id: number): Promise<{ stored: StoredSchema; versions: SubjectVersion[] }> {
    const stored = Number.isSafeInteger(id) ? await this.store.registrySchemaById(id) : null;
    const versions = stored === null ? [] : await this.store.registryVersionsOfSchema(id);
    if (stored === null || versions.length === 0) throw schemaNotFound(id);
    return { stored, versions };
  }

  async schemaById(id: number): Promise<StoredSchema> {
    return (await this.schemaInUse(id)).stored;
  }

  async subjectsOfSchema(id: number, deleted: boolean): Promise<string[]> {
    const { versions } = await this.schemaInUse(id);
    return [...new Set(versions.filter((v) => deleted || !v.deleted).map((v) => v.subject))];
  }

  async versionsOfSchema(id: number, deleted: boolean): Promise<{ subject: string; version: number }[]> {
    const { versions } = await this.schemaInUse(id);
    return versions.filter((v) => deleted || !v.deleted).map((v) => ({ subject: v.subject, version: v.version }));
  }

  // ---- subjects

  async subjects(prefix: string, deleted: boolean): Promise<string[]> {
    const versions = await this.store.registrySubjectVersions(prefix);
    return [...new Set(versions.filter((v) => deleted || !v.deleted).map((v) => v.subject))];
  }

  async versions(subject: string, deleted: boolean): Promise<number[]> {
    const versions = (await this.store.registryVersions(subject)).filter((v) => deleted || !v.deleted);
    if (versions.length === 0) throw subjectNotFound(subject);
    return versions.map((v) => v.version);
  }

  /** Resolves a version ('latest' is the newest live one, or the newest of all with deleted=true). */
  private async findVersion(subject: string, rawVersion: string, deleted: boolean): Promise<SubjectVersion> {
    const wanted = parseVersion(rawVersion);
    const all = await this.store.registryVersions(subject);
    const visible = all.filter((v) => deleted || !v.deleted);
    if (visible.length === 0) throw subjectNotFound(subject);
    const found = wanted === 'latest' ? visible.at(-1) : visible.find((v) => v.version === wanted);
    if (found === undefined) throw versionNotFound(wanted === 'latest' ? rawVersion : wanted);
    return found;
  }

  private async subjectSchema(v: SubjectVersion): Promise<SubjectSchema> {
    const stored = await this.store.registrySchemaById(v.schemaId);
    if (stored === null) throw schemaNotFound(v.schemaId);
    return { subject: v.subject, version: v.version, id: stored.id, schemaType: stored.schemaType as SchemaType, schema: stored.schema, references: stored.references };
  }

  async version(subject: string, rawVersion: string, deleted: boolean): Promise<SubjectSchema> {
    return this.subjectSchema(await this.findVersion(subject, rawVersion, deleted));
  }

  /**
   * A schema by id with the texts of everything it references, dependencies
   * first (what a decoder needs), or null when no such id is registered.
   */
  async schemaWithReferences(id: number): Promise<{ schemaType: string; schema: string; references: string[] } | null> {
    const stored = await this.store.registrySchemaById(id);
    if (stored === null) return null;
    const refs = await this.resolveReferences(stored.references);
    return { schemaType: stored.schemaType, schema: stored.schema, references: refs.map((r) => r.schema) };
  }

  async referencedBy(subject: string, rawVersion: string): Promise<number[]> {
    const v = await this.findVersion(subject, rawVersion, false);
    return this.store.registryReferencedBy(subject, v.version);
  }

  /** POST /subjects/{subject}: the version of the subject that holds this schema. */
  async lookup(subject: string, input: SchemaInput, normalize: boolean, deleted: boolean): Promise<SubjectSchema> {
    const all = (await this.store.registryVersions(subject)).filter((v) => deleted || !v.deleted);
    if (all.length === 0) throw subjectNotFound(subject);
    const { parsed, references } = await this.parse(input);
    const id = await this.store.registryFindSchema(parsed.schemaType, parsed.canonical(normalize), references);
    const match = id === null ? undefined : all.filter((v) => v.schemaId === id).at(-1);
    if (match === undefined) throw schemaNotFound();
    return this.subjectSchema(match);
  }

  async register(subject: string, input: SchemaInput, normalize: boolean): Promise<{ id: number; version: number }> {
    checkSubjectName(subject);
    // One registration per subject at a time in this process: the others would only lose the
    // optimistic check and retry. The check still guards against other brokers.
    const before = this.registering.get(subject) ?? Promise.resolve();
    const mine = before.then(() => this.registerNow(subject, input, normalize));
    const tail = mine.then(
      () => undefined,
      () => undefined,
    );
    this.registering.set(subject, tail);
    void tail.then(() => {
      if (this.registering.get(subject) === tail) this.registering.delete(subject);
    });
    return mine;
  }

  private async registerNow(subject: string, input: SchemaInput, normalize: boolean): Promise<{ id: number; version: number }> {
    const mode = await this.mode(subject);
    if (mode === 'READONLY' || mode === 'READONLY_OVERRIDE') throw operationNotPermitted(`Subject ${subject} is in read-only mode`);
    const importing = mode === 'IMPORT';
    if (input.id !== undefined && input.id !== null && input.id >= 0 && !importing) throw operationNotPermitted(`Subject ${subject} is not in import mode`);
    if (importing && input.id !== undefined && (!Number.isSafeInteger(input.id) || input.id < 1)) throw invalidSchema(`Invalid id ${input.id}`);
    const { parsed, references } = await this.parse(input);
    const canonical = parsed.canonical(normalize);
    for (let attempt = 1; ; attempt++) {
      const versions = await this.store.registryVersions(subject);
      const latest = versions.at(-1)?.version ?? 0;
      const live = versions.filter((v) => !v.deleted);
      const existingId = await this.store.registryFindSchema(parsed.schemaType, canonical, references);
      const existing = existingId === null ? undefined : live.find((v) => v.schemaId === existingId);
      if (existing !== undefined) {
        if (importing && input.id !== undefined && input.id !== existingId) throw idDoesNotMatch(`Schema already registered with id ${existingId} instead of input id ${input.id}`);
        return { id: existing.schemaId, version: existing.version };
      }
      if (!importing) {
        const problems = await this.compatibilityProblems(subject, parsed, live, await this.compatibility(subject));
        if (problems.length > 0) {
          throw incompatibleSchema(`Schema being registered is incompatible with an earlier schema for subject "${subject}", details: [${problems.join(', ')}]`);
        }
      }
      try {
        const done = await this.store.registryRegister({
          subject,
          schemaType: parsed.schemaType,
          schema: canonical,
          references,
          expectedLatestVersion: latest,
          ...(importing && input.id !== undefined ? { id: input.id } : {}),
          ...(importing && input.version !== undefined ? { version: input.version } : {}),
        });
        this.log.info({ subject, id: done.id, version: done.version, schemaType: parsed.schemaType }, 'schema registered');
        return done;
      } catch (err) {
        if (err instanceof SchemaIdTakenError) throw idDoesNotMatch(err.message);
        if (!(err instanceof RegistryConflictError) || attempt >= MAX_REGISTER_ATTEMPTS) throw err;
      }
    }
  }

  /**
   * Messages saying why `parsed` may not follow the subject's live versions
   * under `level`; against the latest version, or every one for _TRANSITIVE.
   */
  private async compatibilityProblems(subject: string, parsed: ParsedSchema, live: readonly SubjectVersion[], level: CompatibilityLevel): Promise<string[]> {
    if (level === 'NONE' || live.length === 0) return [];
    const against = level.endsWith('_TRANSITIVE') ? [...live].reverse() : [live[live.length - 1]];
    const problems: string[] = [];
    for (const v of against) {
      const stored = await this.store.registrySchemaById(v.schemaId);
      if (stored === null) continue;
      problems.push(...(await this.checkPair(parsed, stored, v.version, level)));
    }
    return problems;
  }

  private async checkPair(parsed: ParsedSchema, stored: StoredSchema, version: number, level: CompatibilityLevel): Promise<string[]> {
    if (stored.schemaType !== parsed.schemaType) {
      return [`{errorType:'TYPE_MISMATCH', description:'The schema type changed from ${stored.schemaType} to ${parsed.schemaType}', additionalInfo:'version ${version}'}`];
    }
    const old = await this.parseStored(stored);
    const format = await formatOf(parsed.schemaType);
    const problems: string[] = [];
    // BACKWARD: the new schema reads old data; FORWARD: old readers read new data.
    if (level.startsWith('BACKWARD') || level.startsWith('FULL')) problems.push(...format.readErrors(parsed, old));
    if (level.startsWith('FORWARD') || level.startsWith('FULL')) problems.push(...format.readErrors(old, parsed));
    if (problems.length > 0) problems.push(`{oldSchemaVersion: ${version}}`, `{oldSchema: '${stored.schema}'}`, `{compatibility: '${level}'}`);
    return problems;
  }

  /** POST /compatibility/subjects/{s}/versions[/{v}]. */
  async checkCompatibility(subject: string, rawVersion: string | null, input: SchemaInput): Promise<string[]> {
    const { parsed } = await this.parse(input);
    const level = await this.compatibility(subject);
    const live = (await this.store.registryVersions(subject)).filter((v) => !v.deleted);
    if (rawVersion === null) return this.compatibilityProblems(subject, parsed, live, level);
    const v = await this.findVersion(subject, rawVersion, false);
    if (level === 'NONE') return [];
    const stored = await this.store.registrySchemaById(v.schemaId);
    return stored === null ? [] : this.checkPair(parsed, stored, v.version, level);
  }

  // ---- deletes

  async deleteSubject(subject: string, permanent: boolean): Promise<number[]> {
    await this.assertWritable(subject);
    const all = await this.store.registryVersions(subject);
    if (all.length === 0) throw subjectNotFound(subject);
    const live = all.filter((v) => !v.deleted);
    if (permanent) {
      if (live.length > 0) throw subjectNotSoftDeleted(subject);
      await this.store.registryDeleteVersions(subject, all.map((v) => v.version), true);
      return all.map((v) => v.version);
    }
    if (live.length === 0) throw subjectSoftDeleted(subject);
    for (const v of live) await this.assertNotReferenced(subject, v.version);
    await this.store.registryDeleteVersions(subject, live.map((v) => v.version), false);
    return live.map((v) => v.version);
  }

  async deleteVersion(subject: string, rawVersion: string, permanent: boolean): Promise<number> {
    await this.assertWritable(subject);
    // A numbered version is found even when soft-deleted, so a second soft delete gets 40406;
    // 'latest' is the newest live version (for a permanent delete, the newest of all).
    const v = await this.findVersion(subject, rawVersion, permanent || parseVersion(rawVersion) !== 'latest');
    if (permanent) {
      if (!v.deleted) throw versionNotSoftDeleted(subject, v.version);
    } else {
      if (v.deleted) throw versionSoftDeleted(subject, v.version);
      await this.assertNotReferenced(subject, v.version);
    }
    await this.store.registryDeleteVersions(subject, [v.version], permanent);
    return v.version;
  }

  private async assertNotReferenced(subject: string, version: number): Promise<void> {
    const by = await this.store.registryReferencedBy(subject, version);
    if (by.length > 0) throw referenceExists(`One or more references exist to the schema {subject=${subject}, version=${version}}: schema ids ${by.join(', ')}`);
  }

  private async assertWritable(subject: string): Promise<void> {
    const mode = await this.mode(subject);
    if (mode === 'READONLY' || mode === 'READONLY_OVERRIDE') throw operationNotPermitted(`Subject ${subject} is in read-only mode`);
  }

  /** Live schema ids of a subject (for broker-side validation). */
  async liveSchemaIds(subject: string): Promise<Set<number>> {
    return new Set((await this.store.registryVersions(subject)).filter((v) => !v.deleted).map((v) => v.schemaId));
  }
}
