// Declarative message specs, in the vocabulary of Apache Kafka's message JSON
// files (clients/src/main/resources/common/message/*.json): every field has a
// name, a type, the versions it exists in, and optionally the versions in which
// it is nullable or tagged. One spec per message drives the generic codec in
// codec.ts, and the TypeScript types below are inferred from the same spec, so
// there is no hand-written per-version code anywhere.

export type PrimitiveType =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'float64'
  | 'string'
  | 'bytes'
  | 'records'
  | 'uuid';

export interface FieldSpec {
  readonly name: string;
  /** A primitive, `[]primitive`, `[]StructName` or `StructName` (with `fields`). */
  readonly type: string;
  readonly versions: string;
  readonly nullableVersions?: string;
  readonly taggedVersions?: string;
  readonly tag?: number;
  /** Overrides the message's flexible versions for this field (RequestHeader.ClientId). */
  readonly flexibleVersions?: string;
  readonly default?: string | number | boolean | null;
  readonly fields?: readonly FieldSpec[];
}

export interface MessageSpec {
  readonly apiKey: number;
  readonly type: 'request' | 'response' | 'header' | 'data';
  readonly name: string;
  readonly validVersions: string;
  readonly flexibleVersions: string;
  readonly fields: readonly FieldSpec[];
}

/** The pair of specs for one API key, plus the range Floe advertises. */
export interface ApiSpec<Req extends MessageSpec = MessageSpec, Res extends MessageSpec = MessageSpec> {
  readonly apiKey: number;
  readonly name: string;
  readonly request: Req;
  readonly response: Res;
  /** Versions we accept; defaults to the request's validVersions. */
  readonly minVersion: number;
  readonly maxVersion: number;
  /** What ApiVersions advertises, when it differs from what we accept (Produce, KAFKA-18659). */
  readonly advertisedMinVersion?: number;
}

// ---------------------------------------------------------------------------
// Types inferred from specs

interface DecodedPrimitives {
  bool: boolean;
  int8: number;
  int16: number;
  uint16: number;
  int32: number;
  uint32: number;
  int64: number;
  float64: number;
  string: string;
  bytes: Buffer;
  records: Buffer;
  uuid: string;
}

interface EncodablePrimitives extends Omit<DecodedPrimitives, 'records'> {
  /** Record batches to send: one buffer or several, written back to back without copying. */
  records: Buffer | readonly Buffer[];
}

type ValueOf<F extends FieldSpec, P> =
  | (F extends { readonly fields: infer Sub extends readonly FieldSpec[] }
      ? F['type'] extends `[]${string}`
        ? StructOf<Sub, P>[]
        : StructOf<Sub, P>
      : F['type'] extends `[]${infer E}`
        ? (E extends keyof P ? P[E] : never)[]
        : F['type'] extends keyof P
          ? P[F['type']]
          : never)
  | (F extends { readonly nullableVersions: string } ? null : never);

export type StructOf<Fs extends readonly FieldSpec[], P> = {
  [F in Fs[number] as Uncapitalize<F['name']>]: ValueOf<F, P>;
};

type DeepPartial<T> = T extends Buffer
  ? T
  : T extends readonly (infer E)[]
    ? readonly DeepPartial<E>[]
    : T extends object
      ? { [K in keyof T]?: DeepPartial<T[K]> }
      : T;

/** A decoded message: every field present, absent-in-this-version fields at their defaults. */
export type Decoded<M extends MessageSpec> = StructOf<M['fields'], DecodedPrimitives>;

/** What the encoder accepts: any field may be omitted and takes its default. */
export type Encodable<M extends MessageSpec> = DeepPartial<StructOf<M['fields'], EncodablePrimitives>>;

export type RequestOf<A extends ApiSpec> = Decoded<A['request']>;
export type ResponseOf<A extends ApiSpec> = Encodable<A['response']>;

// ---------------------------------------------------------------------------
// Version ranges: "0+", "3-5", "7", "none"

export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

const NONE: VersionRange = { min: 1, max: 0 };

export function parseVersions(s: string | undefined): VersionRange {
  if (s === undefined || s === 'none' || s === '') return NONE;
  if (s.endsWith('+')) return { min: Number(s.slice(0, -1)), max: Number.MAX_SAFE_INTEGER };
  const dash = s.indexOf('-');
  if (dash > 0) return { min: Number(s.slice(0, dash)), max: Number(s.slice(dash + 1)) };
  const v = Number(s);
  return { min: v, max: v };
}

export function inRange(r: VersionRange, v: number): boolean {
  return v >= r.min && v <= r.max;
}

export function defineApi<Req extends MessageSpec, Res extends MessageSpec>(
  request: Req,
  response: Res,
  opts: { advertisedMinVersion?: number } = {},
): ApiSpec<Req, Res> {
  const range = parseVersions(request.validVersions);
  return {
    apiKey: request.apiKey,
    name: request.name.replace(/Request$/, ''),
    request,
    response,
    minVersion: range.min,
    maxVersion: range.max,
    ...opts,
  };
}
