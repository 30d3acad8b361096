// The floe command line:
//   floe start [--data-dir DIR] [--host H] [--port N] [--config server.properties] [--override key=value ...]
//   floe config --help       every setting with its type, default and doc
//   floe config --markdown   the same as the README's tables

import { BrokerConfig, BROKER_CONFIGS, envName, parseListener } from '../config/broker-config.js';
import { ConfigError, defaultText, formatValue } from '../config/registry.js';
import { TOPIC_CONFIGS } from '../config/topic-config.js';
import { startBroker } from '../broker/broker.js';
import { missingNodeFlags } from './node-flags.js';
import { createLogger } from '../observability/logger.js';

const USAGE = `Usage:
  floe start [--data-dir DIR] [--host H] [--port N] [--config server.properties] [--override key=value ...]
  floe config --help | --markdown

Every broker setting can also be set with an environment variable FLOE_<NAME>
(upper case, dots as underscores), e.g. FLOE_NUM_PARTITIONS=3.
Precedence: defaults < --config file < environment < flags and --override.`;

interface StartArgs {
  configFile?: string;
  overrides: Record<string, string>;
}

/**
 * `currentListener(configFile, overrides)` is the listener the other settings
 * give (defaults, file, environment, overrides), which --host/--port amend.
 */
export function parseStartArgs(argv: readonly string[], currentListener: (configFile: string | undefined, overrides: Record<string, string>) => string): StartArgs {
  const overrides: Record<string, string> = {};
  let configFile: string | undefined;
  let host: string | undefined;
  let port: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new ConfigError(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--data-dir':
        overrides['data.dir'] = value();
        break;
      case '--host':
        host = value();
        break;
      case '--port':
        port = value();
        break;
      case '--config':
        configFile = value();
        break;
      case '--override': {
        const kv = value();
        const eq = kv.indexOf('=');
        if (eq <= 0) throw new ConfigError(`--override expects key=value, got ${kv}`);
        overrides[kv.slice(0, eq)] = kv.slice(eq + 1);
        break;
      }
      default:
        throw new ConfigError(`unknown argument ${a}\n\n${USAGE}`);
    }
  }
  if (host !== undefined || port !== undefined) {
    const base = parseListener(overrides.listeners ?? currentListener(configFile, overrides));
    overrides.listeners = `PLAINTEXT://${host ?? base.host}:${port ?? base.port}`;
  }
  return { configFile, overrides };
}

function printConfigHelp(): void {
  const rows = (defs: typeof BROKER_CONFIGS, env: boolean) =>
    defs
      .map((d) => `  ${d.name}\n      ${d.type}, default ${defaultText(d)}${env ? `, env ${envName(d.name)}` : ''}\n      ${d.doc}`)
      .join('\n');
  process.stdout.write(`Broker settings (server.properties, FLOE_<NAME>, --override):\n${rows(BROKER_CONFIGS, true)}\n\n`);
  process.stdout.write(`Topic settings (CreateTopics / IncrementalAlterConfigs; defaults from the broker setting named):\n${rows(TOPIC_CONFIGS.map((t) => ({ ...t, doc: `${t.doc}${t.brokerSynonym ? ` (broker default: ${t.brokerSynonym})` : ''}` })), false)}\n`);
}

/** The README's configuration tables, generated so that they cannot drift from the registry. */
export function configMarkdown(): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const broker = BROKER_CONFIGS.map((d) => `| \`${d.name}\` | ${d.type} | \`${defaultText(d)}\` | \`${envName(d.name)}\` | ${esc(d.doc)} |`);
  const topic = TOPIC_CONFIGS.map((d) => `| \`${d.name}\` | ${d.type} | \`${formatValue(d.default)}\` | \`${d.brokerSynonym}\` | ${esc(d.doc)} |`);
  return [
    '| broker setting | type | default | environment | what it does |',
    '|---|---|---|---|---|',
    ...broker,
    '',
    '| topic setting | type | default | broker default from | what it does |',
    '|---|---|---|---|---|',
    ...topic,
    '',
  ].join('\n');
}

async function start(argv: readonly string[]): Promise<void> {
  const warnings: string[] = [];
  const args = parseStartArgs(argv, (file, overrides) => BrokerConfig.load({ file, env: process.env, overrides }).list('listeners')[0]);
  const config = BrokerConfig.load({ file: args.configFile, env: process.env, overrides: args.overrides, onWarning: (w) => warnings.push(w) });
  const log = createLogger(config.string('log.level'));
  for (const w of warnings) log.warn(w);
  const missing = missingNodeFlags();
  if (missing.length > 0) log.info({ missing }, 'started without the V8 flags of `npm start`: garbage collection will cost more CPU under load');
  const broker = await startBroker(config, log);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    broker.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

export async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  try {
    if (command === 'start') return await start(rest);
    if (command === 'config' && rest[0] === '--markdown') {
      process.stdout.write(configMarkdown());
      return;
    }
    if (command === 'config' && (rest[0] === '--help' || rest.length === 0)) return printConfigHelp();
    if (command === '--help' || command === '-h' || command === 'help' || command === undefined) {
      process.stdout.write(`${USAGE}\n`);
      return;
    }
    throw new ConfigError(`unknown command ${command}\n\n${USAGE}`);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`floe: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
