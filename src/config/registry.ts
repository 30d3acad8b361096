// One registry for every setting: name, type, default, validation and a
// one-line doc. Broker and topic settings are both declared with `define`;
// `floe config --help` prints the registry, and DescribeConfigs reads it.

export type ConfigType = 'int' | 'long' | 'double' | 'boolean' | 'string' | 'list' | 'password';

/** Kafka's DescribeConfigs ConfigType enum (KIP-569). */
export const KAFKA_CONFIG_TYPE: Record<ConfigType, number> = {
  boolean: 1,
  string: 2,
  int: 3,
  long: 5,
  double: 6,
  list: 7,
  password: 9,
};

export type ConfigValue = string | number | boolean | readonly string[];

export interface ConfigDef {
  readonly name: string;
  readonly type: ConfigType;
  /** Default value; null when the setting is unset unless configured (e.g. advertised.listeners). */
  readonly default: ConfigValue | null;
  readonly doc: string;
  /** Returns an error message for an invalid value. */
  readonly validate?: (v: ConfigValue) => string | undefined;
  /**
   * Broker settings whose best default depends on the object store: used
   * instead of `default` when object.store names a key here and the setting
   * is not given.
   */
  readonly storeDefaults?: Readonly<Record<string, ConfigValue>>;
  /** For topic configs: the broker setting that supplies the default (Kafka's "server default property"). */
  readonly brokerSynonym?: string;
  readonly sensitive?: boolean;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function define(def: ConfigDef): ConfigDef {
  return def;
}

/** The default as help and the README show it: one value, or one per object store. */
export function defaultText(def: ConfigDef): string {
  const plain = formatValue(def.default) ?? '(unset)';
  if (def.storeDefaults === undefined) return plain;
  return [plain, ...Object.entries(def.storeDefaults).map(([store, v]) => `${formatValue(v)} with ${store}`)].join(', ');
}

/** Kafka's long range; parsed values beyond 2^53 are kept as the nearest double. */
const LONG_MAX = 9223372036854775807;

export function parseValue(def: ConfigDef, raw: string): ConfigValue {
  const s = raw.trim();
  let v: ConfigValue;
  switch (def.type) {
    case 'int':
    case 'long': {
      if (!/^-?\d+$/.test(s)) throw new ConfigError(`Invalid value ${raw} for configuration ${def.name}: Not a number of type ${def.type.toUpperCase()}`);
      const n = Number(s);
      const [min, max] = def.type === 'int' ? [-2147483648, 2147483647] : [-LONG_MAX - 1, LONG_MAX];
      if (n < min || n > max) throw new ConfigError(`Invalid value ${raw} for configuration ${def.name}: Not a number of type ${def.type.toUpperCase()}`);
      v = n;
      break;
    }
    case 'double': {
      const n = Number(s);
      if (s === '' || Number.isNaN(n)) throw new ConfigError(`Invalid value ${raw} for configuration ${def.name}: Not a number of type DOUBLE`);
      v = n;
      break;
    }
    case 'boolean': {
      const l = s.toLowerCase();
      if (l !== 'true' && l !== 'false') throw new ConfigError(`Invalid value ${raw} for configuration ${def.name}: Expected value to be either true or false`);
      v = l === 'true';
      break;
    }
    case 'list':
      v = s === '' ? [] : s.split(',').map((x) => x.trim());
      break;
    default:
      v = raw;
  }
  const problem = def.validate?.(v);
  if (problem !== undefined) throw new ConfigError(`Invalid value ${raw} for configuration ${def.name}: ${problem}`);
  return v;
}

export function formatValue(v: ConfigValue | null): string | null {
  if (v === null) return null;
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

// Validators shared by broker and topic settings.
export const atLeast =
  (min: number) =>
  (v: ConfigValue): string | undefined =>
    typeof v === 'number' && v < min ? `Value must be at least ${min}` : undefined;

export const between =
  (min: number, max: number) =>
  (v: ConfigValue): string | undefined =>
    typeof v === 'number' && (v < min || v > max) ? `Value must be between ${min} and ${max}` : undefined;

export const oneOf =
  (...allowed: string[]) =>
  (v: ConfigValue): string | undefined => {
    const values = Array.isArray(v) ? v : [String(v)];
    for (const x of values) if (!allowed.includes(x)) return `String must be one of: ${allowed.join(', ')}`;
    return undefined;
  };
