// DescribeConfigs, AlterConfigs and IncrementalAlterConfigs for topics and
// brokers. Broker settings are static (read-only), as Floe has no dynamic
// broker configs yet; altering them is refused the way Kafka refuses
// read-only settings.
import { BROKER_CONFIGS } from '../../config/broker-config.js';
import { ConfigError, formatValue, KAFKA_CONFIG_TYPE, parseValue } from '../../config/registry.js';
import { TOPIC_CONFIG_BY_NAME, validateTopicConfig } from '../../config/topic-config.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import type { AlterConfigs, DescribeConfigs, IncrementalAlterConfigs } from '../../protocol/messages/index.js';
import type { Handler, HandlerContext } from '../context.js';
import { toWireError } from '../errors.js';
import { topicNameProblem } from '../topic-name.js';
import { ConfigSource, type Topic } from '../topics.js';

export const ResourceType = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;
const OP = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

function topicFor(name: string, ctx: HandlerContext): Topic {
  const problem = topicNameProblem(name);
  if (problem !== undefined) throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, problem);
  const topic = ctx.broker.topics.get(name);
  if (topic === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${name} does not exist`);
  return topic;
}

function checkBrokerName(name: string, ctx: HandlerContext): void {
  if (name !== '' && name !== String(ctx.broker.membership.nodeId)) {
    throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${ctx.broker.membership.nodeId} or empty string, but received ${name}`);
  }
}

function wire(err: unknown, ctx: HandlerContext) {
  const e = toWireError(err);
  if (!e.expected) ctx.broker.log.error({ err }, 'config request failed');
  return { errorCode: e.code, errorMessage: e.message };
}

export const handleDescribeConfigs: Handler<typeof DescribeConfigs> = (req, ctx) => {
  const { topics, config } = ctx.broker;
  const docs = req.includeDocumentation;
  return {
    throttleTimeMs: 0,
    results: req.resources.map((r) => {
      const base = { resourceType: r.resourceType, resourceName: r.resourceName, errorCode: ErrorCode.NONE, errorMessage: null as string | null };
      const wanted = (name: string) => r.configurationKeys === null || r.configurationKeys.includes(name);
      try {
        if (r.resourceType === ResourceType.TOPIC) {
          const topic = topicFor(r.resourceName, ctx);
          return {
            ...base,
            configs: topics
              .describeConfigs(topic)
              .filter((c) => wanted(c.def.name))
              .map((c) => ({
                name: c.def.name,
                value: formatValue(c.value),
                readOnly: false,
                configSource: c.source,
                isSensitive: false,
                synonyms: req.includeSynonyms ? c.synonyms : [],
                configType: KAFKA_CONFIG_TYPE[c.def.type],
                documentation: docs ? c.def.doc : null,
              })),
          };
        }
        if (r.resourceType === ResourceType.BROKER) {
          checkBrokerName(r.resourceName, ctx);
          // The empty name asks for cluster-wide dynamic defaults, of which Floe has none.
          if (r.resourceName === '') return { ...base, configs: [] };
          return {
            ...base,
            configs: BROKER_CONFIGS.filter((d) => wanted(d.name)).map((d) => {
              const source = config.isExplicit(d.name) ? ConfigSource.STATIC_BROKER_CONFIG : ConfigSource.DEFAULT_CONFIG;
              const value = d.sensitive ? null : config.formatted(d.name);
              return {
                name: d.name,
                value,
                readOnly: true,
                configSource: source,
                isSensitive: d.sensitive ?? false,
                synonyms: req.includeSynonyms ? [{ name: d.name, value, source }] : [],
                configType: KAFKA_CONFIG_TYPE[d.type],
                documentation: docs ? d.doc : null,
              };
            }),
          };
        }
        throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unsupported resource type ${r.resourceType}`);
      } catch (err) {
        return { ...base, ...wire(err, ctx), configs: [] };
      }
    }),
  };
};

function validated(name: string, value: string | null): void {
  try {
    validateTopicConfig(name, value);
  } catch (err) {
    if (err instanceof ConfigError) throw new KafkaError(ErrorCode.INVALID_CONFIG, err.message);
    throw err;
  }
}

interface AlterableResource<C extends { name: string }> {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly configs: readonly C[];
}

/**
 * The part AlterConfigs and IncrementalAlterConfigs share: per resource,
 * refuse duplicates, apply `topicOverrides` to topics (it returns the new
 * overrides), refuse broker changes, answer one result per resource.
 */
async function alterResources<C extends { name: string }>(
  resources: readonly AlterableResource<C>[],
  validateOnly: boolean,
  ctx: HandlerContext,
  topicOverrides: (topic: Topic, configs: readonly C[]) => Record<string, string>,
) {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const r of resources) {
    const k = `${r.resourceType}:${r.resourceName}`;
    (seen.has(k) ? dup : seen).add(k);
  }
  const responses = [];
  for (const r of resources) {
    const base = { resourceType: r.resourceType, resourceName: r.resourceName };
    try {
      if (dup.has(`${r.resourceType}:${r.resourceName}`)) throw new KafkaError(ErrorCode.INVALID_REQUEST, 'Duplicate resource in request');
      const names = r.configs.map((c) => c.name);
      if (new Set(names).size !== names.length) throw new KafkaError(ErrorCode.INVALID_REQUEST, 'Error due to duplicate config keys');
      if (r.resourceType === ResourceType.TOPIC) {
        const topic = topicFor(r.resourceName, ctx);
        const overrides = topicOverrides(topic, r.configs);
        if (!validateOnly) await ctx.broker.topics.setConfigs(topic, overrides);
      } else if (r.resourceType === ResourceType.BROKER) {
        checkBrokerName(r.resourceName, ctx);
        if (names.length > 0) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Cannot update these configs dynamically: ${names.join(', ')}`);
      } else {
        throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unsupported resource type ${r.resourceType}`);
      }
      responses.push({ ...base, errorCode: ErrorCode.NONE, errorMessage: null });
    } catch (err) {
      responses.push({ ...base, ...wire(err, ctx) });
    }
  }
  return { throttleTimeMs: 0, responses };
}

const nullValue = (name: string) => new KafkaError(ErrorCode.INVALID_REQUEST, `Null value not supported for : ${name}`);

/** AlterConfigs replaces a topic's overrides with exactly the ones given. */
export const handleAlterConfigs: Handler<typeof AlterConfigs> = (req, ctx) =>
  alterResources(req.resources, req.validateOnly, ctx, (_topic, configs) => {
    const overrides: Record<string, string> = {};
    for (const c of configs) {
      if (c.value === null) throw nullValue(c.name);
      validated(c.name, c.value);
      overrides[c.name] = c.value;
    }
    return overrides;
  });

/** IncrementalAlterConfigs: SET, DELETE, and APPEND/SUBTRACT on list settings. */
export const handleIncrementalAlterConfigs: Handler<typeof IncrementalAlterConfigs> = (req, ctx) =>
  alterResources(req.resources, req.validateOnly, ctx, (topic, configs) => {
    const overrides: Record<string, string> = { ...topic.overrides };
    for (const c of configs) {
      const def = TOPIC_CONFIG_BY_NAME.get(c.name);
      if (def === undefined) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${c.name}`);
      switch (c.configOperation) {
        case OP.SET:
          if (c.value === null) throw nullValue(c.name);
          validated(c.name, c.value);
          overrides[c.name] = c.value;
          break;
        case OP.DELETE:
          delete overrides[c.name];
          break;
        case OP.APPEND:
        case OP.SUBTRACT: {
          if (def.type !== 'list') throw new KafkaError(ErrorCode.INVALID_CONFIG, `Config value append is not allowed for config key: ${c.name}`);
          const effective = ctx.broker.topics.describeConfigs(topic).find((x) => x.def.name === c.name)?.value ?? [];
          const current = overrides[c.name] !== undefined ? (parseValue(def, overrides[c.name]) as string[]) : [...(effective as readonly string[])];
          const items = (c.value ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '');
          const next = c.configOperation === OP.APPEND ? [...current, ...items.filter((x) => !current.includes(x))] : current.filter((x) => !items.includes(x));
          validated(c.name, next.join(','));
          overrides[c.name] = next.join(',');
          break;
        }
        default:
          throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unknown config operation ${c.configOperation}`);
      }
    }
    return overrides;
  });
