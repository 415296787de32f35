/**
 * Creates, in the local emulators, the tables, queues and topics the CDK app defines: the
 * synthesized CloudFormation template is the one source of truth for names, keys, FIFO settings,
 * dead-letter queues and the functions' environment, so the local run cannot drift from what
 * `cdk deploy` creates.
 */
import {
  type AttributeDefinition,
  CreateTableCommand,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
  type Projection,
  ResourceInUseException,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import {
  CreateTopicCommand,
  ListSubscriptionsByTopicCommand,
  type SNSClient,
  SubscribeCommand,
} from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** The parts of a CloudFormation template this module reads. */
export interface CloudFormationTemplate {
  readonly Resources: Readonly<
    Record<string, { readonly Type: string; readonly Properties?: Record<string, unknown> }>
  >;
}

export interface ProvisionedQueue {
  readonly name: string;
  readonly url: string;
  readonly arn: string;
}

export interface LocalResources {
  /** Logical id → local table name. */
  readonly tables: ReadonlyMap<string, string>;
  /** Logical id → local queue. */
  readonly queues: ReadonlyMap<string, ProvisionedQueue>;
  /** Logical id → local topic ARN. */
  readonly topics: ReadonlyMap<string, string>;
  /** Values for `Ref`s to resources that exist only in AWS (secrets, …), by logical id. */
  readonly others: ReadonlyMap<string, string>;
  /** A function's environment as the template sets it, with every reference resolved locally. */
  environmentOf(functionLogicalId: string): Record<string, string>;
  /** The logical id of the one function whose Description starts with `prefix`. */
  functionId(descriptionPrefix: string): string;
  /**
   * The logical id of the one resource of `type` whose construct path (logical id without CDK's
   * 8-character hash) ends with `pathEnd`, e.g. `QueuesIngest` (not `QueuesIngestDeadLetters`).
   */
  resourceId(type: string, pathEnd: string): string;
}

/** Reads a synthesized template (untrusted JSON as far as types go) into the shape used here. */
export function parseTemplate(json: unknown): CloudFormationTemplate {
  const resources = isRecord(json) ? json.Resources : undefined;
  if (!isRecord(resources)) throw new UnsupportedTemplateError('a template without Resources', json);
  const parsed: Record<string, { Type: string; Properties?: Record<string, unknown> }> = {};
  for (const [id, resource] of Object.entries(resources)) {
    const type = isRecord(resource) ? resource.Type : undefined;
    const properties = isRecord(resource) ? resource.Properties : undefined;
    if (typeof type !== 'string') throw new UnsupportedTemplateError(`resource ${id}`, resource);
    parsed[id] = isRecord(properties) ? { Type: type, Properties: properties } : { Type: type };
  }
  return { Resources: parsed };
}

export class UnsupportedTemplateError extends Error {
  override readonly name = 'UnsupportedTemplateError';
  constructor(what: string, value: unknown) {
    super(
      `the local run cannot reproduce ${what} (${JSON.stringify(value)?.slice(0, 200)}); extend local/provision.ts alongside the CDK change that introduced it`,
    );
  }
}

export async function provisionFromTemplate(
  template: CloudFormationTemplate,
  clients: {
    dynamodb: DynamoDBClient;
    sqs: SQSClient;
    sns: SNSClient;
    /** When given, queue URLs are rewritten onto it (fauxqs answers with hosts that do not resolve). */
    sqsEndpoint?: string;
  },
  options: {
    prefix: string;
    /** What `Fn::GetAtt [<HttpApi>, ApiEndpoint]` means locally: the local receiver's base URL. */
    apiEndpoint?: string;
  },
): Promise<LocalResources> {
  const resources = Object.entries(template.Resources);
  const tables = new Map<string, string>();
  const queues = new Map<string, ProvisionedQueue>();
  const others = new Map<string, string>();
  const topics = new Map<string, string>();

  for (const [id, resource] of resources) {
    if (resource.Type !== 'AWS::DynamoDB::GlobalTable' && resource.Type !== 'AWS::DynamoDB::Table') continue;
    const props = resource.Properties ?? {};
    const name = `${options.prefix}-${id}`.slice(0, 255);
    const indexes = props.GlobalSecondaryIndexes;
    try {
      await clients.dynamodb.send(
        new CreateTableCommand({
          TableName: name,
          KeySchema: keySchema(props.KeySchema, `${id}.KeySchema`),
          AttributeDefinitions: attributeDefinitions(
            props.AttributeDefinitions,
            `${id}.AttributeDefinitions`,
          ),
          BillingMode: 'PAY_PER_REQUEST',
          ...(indexes === undefined
            ? {}
            : { GlobalSecondaryIndexes: globalSecondaryIndexes(indexes, `${id}.GlobalSecondaryIndexes`) }),
        }),
      );
    } catch (e) {
      // A persisted local run (--data-dir) finds its tables from last time.
      if (!(e instanceof ResourceInUseException)) throw e;
    }
    await waitUntilTableExists(
      { client: clients.dynamodb, maxWaitTime: 10, minDelay: 0.05, maxDelay: 0.2 },
      { TableName: name },
    );
    tables.set(id, name);
  }

  // Dead-letter queues first: a queue's RedrivePolicy names its DLQ by ARN.
  const queueIds = resources.filter(([, r]) => r.Type === 'AWS::SQS::Queue').map(([id]) => id);
  const ordered = [...queueIds].sort(
    (a, b) => Number(hasRedrive(template, a)) - Number(hasRedrive(template, b)),
  );
  for (const id of ordered) {
    const props = template.Resources[id]?.Properties ?? {};
    const fifo = props.FifoQueue === true;
    const name = `${options.prefix}-${id}`.slice(0, fifo ? 75 : 80) + (fifo ? '.fifo' : '');
    const attributes: Record<string, string> = {};
    for (const key of [
      'FifoQueue',
      'ContentBasedDeduplication',
      'DeduplicationScope',
      'FifoThroughputLimit',
      'VisibilityTimeout',
      'MessageRetentionPeriod',
      'DelaySeconds',
      'ReceiveMessageWaitTimeSeconds',
      'MaximumMessageSize',
    ]) {
      const value = props[key];
      if (value !== undefined) attributes[key] = String(value);
    }
    const redrive = props.RedrivePolicy;
    if (redrive !== undefined) {
      const target = isRecord(redrive) ? redrive.deadLetterTargetArn : undefined;
      const dlqId = getAttTarget(target, 'Arn');
      const dlq = dlqId === undefined ? undefined : queues.get(dlqId);
      if (!isRecord(redrive) || dlq === undefined)
        throw new UnsupportedTemplateError(`the RedrivePolicy of ${id}`, redrive);
      attributes.RedrivePolicy = JSON.stringify({
        deadLetterTargetArn: dlq.arn,
        maxReceiveCount: redrive.maxReceiveCount,
      });
    }
    const created = await clients.sqs.send(
      new CreateQueueCommand({ QueueName: name, Attributes: attributes }),
    );
    if (created.QueueUrl === undefined)
      throw new UnsupportedTemplateError(`queue ${id}`, 'no QueueUrl returned');
    const QueueUrl =
      clients.sqsEndpoint === undefined
        ? created.QueueUrl
        : onEndpoint(created.QueueUrl, clients.sqsEndpoint);
    const { Attributes } = await clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    queues.set(id, {
      name,
      url: QueueUrl,
      arn: Attributes?.QueueArn ?? `arn:aws:sqs:local:000000000000:${name}`,
    });
  }

  for (const [id, resource] of resources) {
    if (resource.Type !== 'AWS::SNS::Topic') continue;
    const props = resource.Properties ?? {};
    const fifo = props.FifoTopic === true;
    const name = `${options.prefix}-${id}`.slice(0, fifo ? 250 : 256) + (fifo ? '.fifo' : '');
    const attributes: Record<string, string> = {};
    if (fifo) attributes.FifoTopic = 'true';
    if (props.ContentBasedDeduplication !== undefined)
      attributes.ContentBasedDeduplication = String(props.ContentBasedDeduplication);
    const { TopicArn } = await clients.sns.send(
      new CreateTopicCommand({ Name: name, Attributes: attributes }),
    );
    if (TopicArn === undefined) throw new UnsupportedTemplateError(`topic ${id}`, 'no TopicArn returned');
    topics.set(id, TopicArn);
  }
  for (const [id, resource] of resources) {
    if (resource.Type !== 'AWS::SNS::Subscription') continue;
    const props = resource.Properties ?? {};
    const topicRef = isRecord(props.TopicArn) ? props.TopicArn.Ref : undefined;
    const topicArn = typeof topicRef === 'string' ? topics.get(topicRef) : undefined;
    const queueId = getAttTarget(props.Endpoint, 'Arn');
    const queue = queueId === undefined ? undefined : queues.get(queueId);
    if (props.Protocol !== 'sqs' || topicArn === undefined || queue === undefined) {
      throw new UnsupportedTemplateError(`subscription ${id}`, props);
    }
    const attributes: Record<string, string> = {};
    if (props.RawMessageDelivery !== undefined)
      attributes.RawMessageDelivery = String(props.RawMessageDelivery);
    if (props.FilterPolicy !== undefined) attributes.FilterPolicy = JSON.stringify(props.FilterPolicy);
    await subscribeOnce(clients.sns, topicArn, queue.arn, attributes);
  }

  for (const [id, resource] of resources) {
    if (resource.Type === 'AWS::SecretsManager::Secret')
      others.set(id, `arn:aws:secretsmanager:local:000000000000:secret:${id}`);
  }

  const resolve = (value: unknown, where: string): string => {
    if (typeof value === 'string') return value;
    if (isRecord(value)) {
      const ref = value.Ref;
      if (typeof ref === 'string') {
        const table = tables.get(ref);
        if (table !== undefined) return table;
        const queue = queues.get(ref);
        if (queue !== undefined) return queue.url;
        const topic = topics.get(ref);
        if (topic !== undefined) return topic;
        const other = others.get(ref);
        if (other !== undefined) return other;
      }
      const apiId = getAttTarget(value, 'ApiEndpoint');
      if (
        apiId !== undefined &&
        template.Resources[apiId]?.Type === 'AWS::ApiGatewayV2::Api' &&
        options.apiEndpoint !== undefined
      ) {
        return options.apiEndpoint;
      }
      for (const attribute of ['Arn', 'QueueName', 'QueueUrl']) {
        const target = getAttTarget(value, attribute);
        const queue = target === undefined ? undefined : queues.get(target);
        if (queue !== undefined)
          return attribute === 'Arn' ? queue.arn : attribute === 'QueueName' ? queue.name : queue.url;
      }
      const join = value['Fn::Join'];
      if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
        return join[1].map((part: unknown) => resolve(part, where)).join(join[0]);
      }
    }
    throw new UnsupportedTemplateError(where, value);
  };

  return {
    tables,
    queues,
    topics,
    others,
    environmentOf(functionId) {
      const props = template.Resources[functionId]?.Properties;
      const environment = props?.Environment;
      const variables = isRecord(environment) ? environment.Variables : undefined;
      const resolved: Record<string, string> = {};
      if (isRecord(variables)) {
        for (const [name, value] of Object.entries(variables))
          resolved[name] = resolve(value, `${functionId}.${name}`);
      }
      return resolved;
    },
    functionId(descriptionPrefix) {
      const matches = resources.filter(
        ([, r]) =>
          r.Type === 'AWS::Lambda::Function' &&
          typeof r.Properties?.Description === 'string' &&
          r.Properties.Description.startsWith(descriptionPrefix),
      );
      const [match] = matches;
      if (match === undefined || matches.length !== 1) {
        throw new UnsupportedTemplateError(`one function described "${descriptionPrefix}…"`, matches.length);
      }
      return match[0];
    },
    resourceId(type, pathEnd) {
      const matches = resources.filter(
        ([id, r]) => r.Type === type && id.replace(/[0-9A-F]{8}$/, '').endsWith(pathEnd),
      );
      const [match] = matches;
      if (match === undefined || matches.length !== 1)
        throw new UnsupportedTemplateError(`one ${type} named *${pathEnd}`, matches.length);
      return match[0];
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function records(value: unknown, what: string): Record<string, unknown>[] {
  if (!Array.isArray(value) || !value.every(isRecord)) throw new UnsupportedTemplateError(what, value);
  return value;
}

function text(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new UnsupportedTemplateError(what, value);
  return value;
}

function keySchema(value: unknown, what: string): KeySchemaElement[] {
  return records(value, what).map((e) => {
    const type = e.KeyType;
    if (type !== 'HASH' && type !== 'RANGE') throw new UnsupportedTemplateError(what, e);
    return { AttributeName: text(e.AttributeName, what), KeyType: type };
  });
}

function attributeDefinitions(value: unknown, what: string): AttributeDefinition[] {
  return records(value, what).map((e) => {
    const type = e.AttributeType;
    if (type !== 'S' && type !== 'N' && type !== 'B') throw new UnsupportedTemplateError(what, e);
    return { AttributeName: text(e.AttributeName, what), AttributeType: type };
  });
}

function globalSecondaryIndexes(value: unknown, what: string): GlobalSecondaryIndex[] {
  return records(value, what).map((index) => {
    const projection = index.Projection;
    const type = isRecord(projection) ? projection.ProjectionType : undefined;
    if (type !== 'ALL' && type !== 'KEYS_ONLY' && type !== 'INCLUDE')
      throw new UnsupportedTemplateError(what, index);
    const nonKey = isRecord(projection) ? projection.NonKeyAttributes : undefined;
    const Projection: Projection = {
      ProjectionType: type,
      ...(Array.isArray(nonKey) ? { NonKeyAttributes: nonKey.map((a) => text(a, what)) } : {}),
    };
    return {
      IndexName: text(index.IndexName, what),
      KeySchema: keySchema(index.KeySchema, what),
      Projection,
    };
  });
}

function getAttTarget(value: unknown, attribute: string): string | undefined {
  if (!isRecord(value)) return undefined;
  const getAtt = value['Fn::GetAtt'];
  return Array.isArray(getAtt) && getAtt[1] === attribute && typeof getAtt[0] === 'string'
    ? getAtt[0]
    : undefined;
}

function hasRedrive(template: CloudFormationTemplate, id: string): boolean {
  return template.Resources[id]?.Properties?.RedrivePolicy !== undefined;
}

/**
 * Subscribes a queue to a topic unless it already is (a persisted local run starts again with its
 * topics and subscriptions in place; a second subscription would deliver every event twice).
 */
export async function subscribeOnce(
  sns: SNSClient,
  topicArn: string,
  queueArn: string,
  attributes: Record<string, string>,
): Promise<void> {
  let token: string | undefined;
  do {
    const page = await sns.send(
      new ListSubscriptionsByTopicCommand({ TopicArn: topicArn, NextToken: token }),
    );
    if ((page.Subscriptions ?? []).some((s) => s.Endpoint === queueArn)) return;
    token = page.NextToken;
  } while (token !== undefined);
  await sns.send(
    new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queueArn, Attributes: attributes }),
  );
}

/**
 * A queue URL on the emulator's own address: fauxqs names queues `http://sqs.<region>.<host>:<port>/…`,
 * which other tools (the AWS CLI, a consumer in another terminal) cannot resolve; it accepts the
 * same path on its plain address.
 */
export function onEndpoint(queueUrl: string, endpoint: string): string {
  return `${endpoint.replace(/\/+$/, '')}${queueUrl.replace(/^https?:\/\/[^/]+/, '')}`;
}
