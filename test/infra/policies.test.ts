/**
 * What only a real account enforces, checked on the synthesized template with AWS's evaluation
 * rules (test/infra/policies.ts): each function may do exactly what its code does, alarms can
 * reach the alarm topic, the events topic can deliver to its queues, the scheduler can start the
 * sweeper and nothing else, and no deploy depends on spare account concurrency.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FunctionAccess } from '../../functions/core/access.ts';
import { ExchangePushBridgeStack } from '../../infra/stack.ts';
// The code's own list for each function, found by the description the template gives it.
import { ACCESS_BY_FUNCTION } from '../support/function-access.ts';
import {
  ACCOUNT,
  actionsOn,
  type Decision,
  decide,
  isRecord,
  OTHER_ACCOUNT,
  PolicyWorld,
  REGION,
  type Target,
} from './policies.ts';
import { synthesize } from './synth.ts';

let world: PolicyWorld;
beforeAll(() => {
  world = new PolicyWorld(synthesize().template.toJSON());
});

const TLS = { 'aws:SecureTransport': 'true' } as const;

/**
 * What Lambda's poller must be able to do with the function's role for an SQS event source, as
 * AWS documents it (whatever else CDK's SqsEventSource grants is its business).
 */
const EVENT_SOURCE_ACTIONS = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'];
/** What the Lambda service writes with the function's role: its log streams. */
const LOG_STREAM_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents'];

function roleOf(fnId: string): string {
  const role = world.referenced(world.get(fnId).properties.Role);
  if (role === undefined) throw new Error(`function ${fnId} has no role in the template`);
  return role;
}

function functionNamed(name: string): string {
  const found = world
    .ofType('AWS::Lambda::Function')
    .filter((f) => String(f.properties.Description).startsWith(`exchange-push-bridge ${name}`))
    .map((f) => f.id);
  expect(found, `functions described "exchange-push-bridge ${name}…"`).toHaveLength(1);
  return found[0] ?? '';
}

function environmentOf(fnId: string): Record<string, unknown> {
  const fn = world.get(fnId).properties;
  return isRecord(fn.Environment) && isRecord(fn.Environment.Variables) ? fn.Environment.Variables : {};
}

/** `${action} ${arn}` for every request the function's code makes (its environment.ts) and Lambda makes for it. */
function requiredGrants(fnId: string, access: FunctionAccess): Set<string> {
  const required = new Set<string>();
  const environment = environmentOf(fnId);
  for (const [variable, actions] of Object.entries(access)) {
    const target = world.referenced(environment[variable]);
    if (target === undefined)
      throw new Error(`${fnId}: ${variable} does not name a resource of the template`);
    for (const action of actions) required.add(`${action} ${world.arn(target)}`);
  }
  const fn = world.get(fnId).properties;
  const logGroup = isRecord(fn.LoggingConfig) ? world.referenced(fn.LoggingConfig.LogGroup) : undefined;
  if (logGroup === undefined) throw new Error(`${fnId} logs to no log group of the template`);
  for (const action of LOG_STREAM_ACTIONS) required.add(`${action} ${logStreamOf(logGroup)}`);
  for (const queue of eventSourcesOf(fnId))
    for (const action of EVENT_SOURCE_ACTIONS) required.add(`${action} ${world.arn(queue)}`);
  return required;
}

function logStreamOf(logGroup: string): string {
  return `${world.attribute(logGroup, 'Arn').replace(/:\*$/, '')}:log-stream:2026/11/30/[$LATEST]0123456789abcdef`;
}

function eventSourcesOf(fnId: string): string[] {
  return world
    .ofType('AWS::Lambda::EventSourceMapping')
    .filter((m) => world.referenced(m.properties.FunctionName) === fnId)
    .map((m) => {
      const queue = world.referenced(m.properties.EventSourceArn);
      if (queue === undefined) throw new Error(`event source of ${fnId} is not a queue of the template`);
      return queue;
    });
}

async function allowedGrants(roleId: string, targets: readonly Target[]): Promise<Set<string>> {
  const principal = world.attribute(roleId, 'Arn');
  const identityPolicies = world.identityPolicies(roleId);
  const allowed = new Set<string>();
  for (const target of targets) {
    const resourcePolicy = world.resourcePolicy(target.id);
    for (const action of await actionsOn(target.service, target.iamType)) {
      const decision = await decide({
        principal,
        action,
        resource: target.arn,
        identityPolicies,
        resourcePolicy,
        context: TLS,
      });
      if (decision === 'Allowed') allowed.add(`${action} ${target.arn}`);
    }
  }
  return allowed;
}

describe('each function may make every call its code makes, talks to no resource its code does not name, and to nothing outside the stack', () => {
  for (const [name, access] of Object.entries(ACCESS_BY_FUNCTION)) {
    it(`${name}: every action of DynamoDB, SQS, SNS, Secrets Manager, Lambda and Logs on every resource of the stack`, async () => {
      const fnId = functionNamed(name);
      const roleId = roleOf(fnId);
      const required = requiredGrants(fnId, access);
      const allowed = await allowedGrants(roleId, world.targets());
      const missing = [...required].filter((grant) => !allowed.has(grant));
      expect(missing, `${name} is denied calls its code makes`).toEqual([]);
      // Which actions CDK's grant* adds on a resource is its business; which resources are
      // reachable is the design's: exactly those the code names, its log group and its event source.
      const resourceOf = (grant: string) => grant.split(' ')[1] ?? '';
      const reachable = new Set([...allowed].map(resourceOf));
      const named = new Set([...required].map(resourceOf));
      expect([...reachable].sort()).toEqual([...named].sort());

      // Nothing outside the stack either: the same actions on another table, queue, topic, secret.
      const principal = world.attribute(roleId, 'Arn');
      const identityPolicies = world.identityPolicies(roleId);
      for (const grant of required) {
        const [action = '', arn = ''] = grant.split(' ');
        const elsewhere = arn.replace(
          /(table\/|:secret:|function:|log-group:|:)([^:/]+)(.*)$/,
          '$1SomeoneElses$3',
        );
        expect(elsewhere).not.toBe(arn);
        expect(
          await decide({ principal, action, resource: elsewhere, identityPolicies, context: TLS }),
        ).not.toBe('Allowed');
      }
    });
  }
});

/**
 * What may talk to what, in the design's words (docs/architecture.md, "Shape"): the receiver only
 * hands events to the ingest queue and writes state, never holds Exchange credentials; only the
 * processor publishes to consumers; only the sweeper scans; nothing deletes a subscription record.
 */
type Resource =
  | 'subscriptions'
  | 'syncStates'
  | 'ingest'
  | 'renewals'
  | 'eventsTopic'
  | 'callbackKey'
  | 'connections';
const INTENT: Record<string, { may: [string, Resource][]; mayNot: [string, Resource][] }> = {
  receiver: {
    may: [
      ['sqs:SendMessage', 'ingest'],
      ['dynamodb:UpdateItem', 'subscriptions'],
      ['dynamodb:BatchWriteItem', 'syncStates'],
      ['secretsmanager:GetSecretValue', 'callbackKey'],
    ],
    mayNot: [
      ['sns:Publish', 'eventsTopic'],
      ['sqs:SendMessage', 'renewals'],
      ['secretsmanager:GetSecretValue', 'connections'],
      ['dynamodb:Scan', 'subscriptions'],
      ['dynamodb:PutItem', 'subscriptions'],
      ['dynamodb:DeleteItem', 'subscriptions'],
      ['dynamodb:Query', 'syncStates'],
    ],
  },
  processor: {
    may: [
      ['sns:Publish', 'eventsTopic'],
      ['sqs:ReceiveMessage', 'ingest'],
    ],
    mayNot: [
      ['sqs:SendMessage', 'ingest'],
      ['sqs:SendMessage', 'renewals'],
      ['dynamodb:UpdateItem', 'subscriptions'],
      ['secretsmanager:GetSecretValue', 'callbackKey'],
    ],
  },
  sweeper: {
    may: [
      ['dynamodb:Scan', 'subscriptions'],
      ['sqs:SendMessage', 'renewals'],
    ],
    mayNot: [
      ['sqs:SendMessage', 'ingest'],
      ['sns:Publish', 'eventsTopic'],
      ['secretsmanager:GetSecretValue', 'connections'],
      ['secretsmanager:GetSecretValue', 'callbackKey'],
      ['dynamodb:PutItem', 'subscriptions'],
      ['dynamodb:DeleteItem', 'subscriptions'],
      ['dynamodb:GetItem', 'syncStates'],
    ],
  },
  renewer: {
    may: [
      ['sqs:ReceiveMessage', 'renewals'],
      ['sqs:SendMessage', 'renewals'],
      ['sqs:SendMessage', 'ingest'],
      ['dynamodb:UpdateItem', 'subscriptions'],
      ['dynamodb:PutItem', 'syncStates'],
      ['secretsmanager:GetSecretValue', 'connections'],
      ['secretsmanager:GetSecretValue', 'callbackKey'],
    ],
    mayNot: [
      ['sns:Publish', 'eventsTopic'],
      ['dynamodb:Scan', 'subscriptions'],
      ['dynamodb:PutItem', 'subscriptions'],
      ['dynamodb:DeleteItem', 'subscriptions'],
    ],
  },
  admin: {
    may: [
      ['dynamodb:PutItem', 'subscriptions'],
      ['sqs:SendMessage', 'ingest'],
    ],
    mayNot: [
      ['sns:Publish', 'eventsTopic'],
      ['sqs:SendMessage', 'renewals'],
      ['dynamodb:DeleteItem', 'subscriptions'],
    ],
  },
};

describe('what may talk to what', () => {
  /** Each resource, found through the variable the function that uses it is configured with. */
  const resource = (which: Resource): string => {
    const [fn, variable] = {
      subscriptions: ['receiver', 'TABLE_NAME'],
      syncStates: ['renewer', 'SYNC_STATE_TABLE_NAME'],
      ingest: ['receiver', 'INGEST_QUEUE_URL'],
      renewals: ['renewer', 'RENEWALS_QUEUE_URL'],
      eventsTopic: ['processor', 'EVENTS_TOPIC_ARN'],
      callbackKey: ['receiver', 'CALLBACK_KEY_SECRET_ARN'],
      connections: ['renewer', 'CONNECTIONS_SECRET_ARN'],
    }[which];
    const id = world.referenced(environmentOf(functionNamed(fn ?? ''))[variable ?? '']);
    if (id === undefined) throw new Error(`${fn} has no ${variable} naming a resource`);
    return id;
  };

  for (const [name, { may, mayNot }] of Object.entries(INTENT)) {
    it(`${name}: ${may.map(([a, r]) => `${a} ${r}`).join(', ')}; never ${mayNot.map(([a, r]) => `${a} ${r}`).join(', ')}`, async () => {
      const roleId = roleOf(functionNamed(name));
      const ask = async (action: string, which: Resource) => {
        const id = resource(which);
        return decide({
          principal: world.attribute(roleId, 'Arn'),
          action,
          resource: world.arn(id),
          identityPolicies: world.identityPolicies(roleId),
          resourcePolicy: world.resourcePolicy(id),
          context: TLS,
        });
      };
      for (const [action, which] of may)
        expect(await ask(action, which), `${action} ${which}`).toBe('Allowed');
      for (const [action, which] of mayNot)
        expect(await ask(action, which), `${action} ${which}`).not.toBe('Allowed');
    });
  }
});

describe('alarms reach the alarm topic', () => {
  it('walks every alarm action to its topic and policy: CloudWatch may publish for this account, not for another, never without TLS', async () => {
    const alarms = world.ofType('AWS::CloudWatch::Alarm');
    expect(alarms.length).toBeGreaterThan(0);
    let walked = 0;
    for (const alarm of alarms) {
      const alarmArn = world.attribute(alarm.id, 'Arn');
      const actions = ['AlarmActions', 'OKActions', 'InsufficientDataActions'].flatMap((key) =>
        [alarm.properties[key] ?? []].flat(),
      );
      expect(actions.length, `${alarm.id} tells no one`).toBeGreaterThan(0);
      for (const action of actions) {
        const topicId = world.referenced(action);
        expect(topicId && world.get(topicId).type, `${alarm.id} acts on ${JSON.stringify(action)}`).toBe(
          'AWS::SNS::Topic',
        );
        const topic = world.get(topicId ?? '');
        // An encrypted topic needs a key CloudWatch may use; the AWS managed SNS key never lets it.
        expect(
          topic.properties.KmsMasterKeyId,
          `${topic.id} is encrypted with a key CloudWatch cannot use`,
        ).toBe(undefined);
        const publish = (sourceAccount: string, secure: string, principal = 'cloudwatch.amazonaws.com') =>
          decide({
            principal,
            action: 'sns:Publish',
            resource: world.arn(topic.id),
            resourcePolicy: world.resourcePolicy(topic.id),
            context: {
              'aws:SecureTransport': secure,
              'aws:SourceAccount': sourceAccount,
              'aws:SourceArn': alarmArn.replace(ACCOUNT, sourceAccount),
            },
          });
        expect(await publish(ACCOUNT, 'true'), `${alarm.id} → ${topic.id}`).toBe('Allowed');
        expect(await publish(OTHER_ACCOUNT, 'true')).not.toBe('Allowed');
        expect(await publish(ACCOUNT, 'false')).toBe('ExplicitlyDenied');
        walked++;
      }
    }
    expect(walked).toBeGreaterThanOrEqual(alarms.length * 2);
  });

  it('lets nobody publish to any topic of the stack without TLS', async () => {
    const topics = world.ofType('AWS::SNS::Topic');
    expect(topics.length).toBe(2);
    for (const topic of topics) {
      for (const principal of [`arn:aws:iam::${ACCOUNT}:root`, 'cloudwatch.amazonaws.com']) {
        const decision: Decision = await decide({
          principal,
          action: 'sns:Publish',
          resource: world.arn(topic.id),
          identityPolicies: [
            { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
          ],
          resourcePolicy: world.resourcePolicy(topic.id),
          context: { 'aws:SecureTransport': 'false', 'aws:SourceAccount': ACCOUNT },
        });
        expect(decision, `${principal} → ${topic.id}`).toBe('ExplicitlyDenied');
      }
    }
  });
});

describe('the events topic delivers to every subscribed queue', () => {
  it('each SQS subscription: the queue policy lets this topic send, and no other topic', async () => {
    const subscriptions = world
      .ofType('AWS::SNS::Subscription')
      .filter((s) => s.properties.Protocol === 'sqs');
    expect(subscriptions.length).toBeGreaterThan(0);
    for (const subscription of subscriptions) {
      const topicId = world.referenced(subscription.properties.TopicArn);
      const queueId = world.referenced(subscription.properties.Endpoint);
      expect(topicId && queueId, JSON.stringify(subscription.properties)).toBeTruthy();
      const send = (sourceArn: string) =>
        decide({
          principal: 'sns.amazonaws.com',
          action: 'sqs:SendMessage',
          resource: world.arn(queueId ?? ''),
          resourcePolicy: world.resourcePolicy(queueId ?? ''),
          context: { ...TLS, 'aws:SourceArn': sourceArn, 'aws:SourceAccount': ACCOUNT },
        });
      expect(await send(world.arn(topicId ?? ''))).toBe('Allowed');
      expect(await send(`arn:aws:sns:${REGION}:${ACCOUNT}:SomeoneElses.fifo`)).not.toBe('Allowed');
    }
  });
});

describe('EventBridge Scheduler starts the sweeper and nothing else', () => {
  it('its role trusts the scheduler of this account only, and may invoke the sweeper only', async () => {
    const [schedule, ...more] = world.ofType('AWS::Scheduler::Schedule');
    expect(more).toEqual([]);
    const target = isRecord(schedule?.properties.Target) ? schedule.properties.Target : {};
    const roleId = world.referenced(target.RoleArn);
    const sweeperId = world.referenced(target.Arn);
    expect(sweeperId && String(world.get(sweeperId).properties.Description)).toMatch(
      /^exchange-push-bridge sweeper/,
    );
    const role = world.get(roleId ?? '');
    const assume = (sourceAccount: string) =>
      decide({
        principal: 'scheduler.amazonaws.com',
        action: 'sts:AssumeRole',
        resource: world.attribute(role.id, 'Arn'),
        resourcePolicy: world.resolve(role.properties.AssumeRolePolicyDocument),
        context: { ...TLS, 'aws:SourceAccount': sourceAccount },
      });
    expect(await assume(ACCOUNT)).toBe('Allowed');
    expect(await assume(OTHER_ACCOUNT)).not.toBe('Allowed');

    const allowed = await allowedGrants(role.id, world.targets());
    const sweeperArn = world.arn(sweeperId ?? '');
    expect([...allowed]).toEqual([`lambda:InvokeFunction ${sweeperArn}`]);
    // Its versions and aliases too (what the scheduler target grants), of no other function.
    expect(
      await decide({
        principal: world.attribute(role.id, 'Arn'),
        action: 'lambda:InvokeFunction',
        resource: `${sweeperArn}:$LATEST`,
        identityPolicies: world.identityPolicies(role.id),
        context: TLS,
      }),
    ).toBe('Allowed');
    // The schedule waits for that grant, or its first invocations are denied.
    const grants = world
      .ofType('AWS::IAM::Policy')
      .filter((p) => [p.properties.Roles].flat().some((r) => world.referenced(r) === role.id));
    expect(grants.length).toBeGreaterThan(0);
    for (const grant of grants) expect(schedule?.dependsOn).toContain(grant.id);
  });
});

describe('concurrency', () => {
  it('reserves none for any function unless the construct is asked to', () => {
    const functions = world.ofType('AWS::Lambda::Function');
    expect(functions.length).toBe(5);
    for (const fn of functions) expect(fn.properties.ReservedConcurrentExecutions, fn.id).toBeUndefined();

    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const asked = Template.fromStack(
      new ExchangePushBridgeStack(app, 'Asked', { bridge: { sweeperReservedConcurrency: 1 } }),
    ).findResources('AWS::Lambda::Function');
    const reserving = Object.values(asked).filter(
      (f) => f.Properties.ReservedConcurrentExecutions !== undefined,
    );
    expect(
      reserving.map((f) => [
        String(f.Properties.Description).split(':')[0],
        f.Properties.ReservedConcurrentExecutions,
      ]),
    ).toEqual([['exchange-push-bridge sweeper', 1]]);
  });
});
