/**
 * What `cdk deploy` uploads, run as Lambda runs it: each esbuild bundle from one synth, loaded in a
 * fresh Node process with the environment the template gives the function, its AWS endpoints
 * pointed at the emulators (dynalite, fauxqs; a stand-in for Secrets Manager, which has none), and
 * invoked with a realistic event. Every AWS call a bundle makes passes a recorder and must be one
 * its function's environment.ts declares, on the resource that variable names: the code's calls, the
 * declared lists and the template's grants (test/infra/policies.test.ts) are one and the same.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureBundles } from '../../bench/bundles.ts';
import {
  DynamoSubscriptionStore,
  documentClient,
  SUBSCRIPTION_SK,
} from '../../functions/adapters/subscription-table.ts';
import { callbackKeyFrom, callbackPath } from '../../functions/domain/callback.ts';
import { type MailboxKey, mailboxKeyOf } from '../../functions/domain/mailbox-key.ts';
import { type Emulators, LOCAL_REGION, startEmulators } from '../../local/emulators.ts';
import { type LocalResources, parseTemplate, provisionFromTemplate } from '../../local/provision.ts';
import { type Simulator, startSimulator } from '../../simulator/server.ts';
import { type RecordedCall, type Recorder, recordingProxy, secretsStandIn } from '../support/aws-recorder.ts';
import { type Bundle, synthesizeBundles } from '../support/bundles.ts';
import { callbackPush } from '../support/callback-push.ts';
import { ACCESS_BY_FUNCTION } from '../support/function-access.ts';
import { drain } from '../support/local-aws.ts';
import { created, sendNotification } from '../support/pushes.ts';

const INVOKER = join(import.meta.dirname, '..', 'support', 'invoke-bundle.ts');
const CALLBACK_KEY = randomBytes(32).toString('hex');
const key = callbackKeyFrom(Buffer.from(CALLBACK_KEY, 'utf8'));

let outdir: string;
let bundles: readonly Bundle[];
let emulators: Emulators;
let resources: LocalResources;
let simulator: Simulator;
let dynamoProxy: Recorder;
let sqsProxy: Recorder;
let secrets: Recorder;

beforeAll(async () => {
  outdir = mkdtempSync(join(tmpdir(), 'bundles-'));
  const synth = synthesizeBundles(outdir);
  bundles = synth.bundles;
  emulators = await startEmulators();
  simulator = await startSimulator({
    mailboxes: ['ada@contoso.test', 'bob@contoso.test', 'carol@contoso.test'],
  });
  dynamoProxy = await recordingProxy(emulators.dynamodbEndpoint);
  sqsProxy = await recordingProxy(emulators.sqsEndpoint);
  resources = await provisionFromTemplate(
    parseTemplate(synth.template),
    { ...emulators, sqsEndpoint: sqsProxy.url },
    // Where Exchange would push: nothing listens there, and these tests push by hand.
    { prefix: `b${randomBytes(3).toString('hex')}`, apiEndpoint: 'http://127.0.0.1:9' },
  );
  const secretValues = new Map<string, string>();
  for (const [id, arn] of resources.others) {
    if (id.includes('CallbackKey')) secretValues.set(arn, CALLBACK_KEY);
    if (id.includes('ExchangeConnections'))
      secretValues.set(
        arn,
        JSON.stringify({ sim: { ewsUrl: simulator.ewsUrl, auth: { kind: 'none' }, impersonation: true } }),
      );
  }
  expect(secretValues.size).toBe(2);
  secrets = await secretsStandIn(secretValues);
}, 180_000);

afterAll(async () => {
  await Promise.all([dynamoProxy?.stop(), sqsProxy?.stop(), secrets?.stop(), simulator?.stop()]);
  await emulators?.stop();
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

function bundle(name: string): Bundle {
  const found = bundles.find((b) => b.name === name);
  if (found === undefined) throw new Error(`no bundle for ${name}: ${bundles.map((b) => b.name).join(', ')}`);
  return found;
}

function environment(b: Bundle): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    ...resources.environmentOf(b.functionId),
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: dynamoProxy.url,
    AWS_ENDPOINT_URL_SQS: sqsProxy.url,
    AWS_ENDPOINT_URL_SNS: sqsProxy.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
    AWS_LAMBDA_FUNCTION_NAME: b.name,
  };
}

interface Invocation {
  readonly result: unknown;
  readonly calls: readonly RecordedCall[];
  readonly output: string;
}

/** One cold invocation of the bundle in a new Node process; the AWS calls it made. */
async function invoke(name: string, event: unknown): Promise<Invocation> {
  const b = bundle(name);
  const recorders = [dynamoProxy, sqsProxy, secrets];
  const before = recorders.map((r) => r.calls.length);
  const output = await new Promise<string>((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [INVOKER, b.dir],
      { env: environment(b), maxBuffer: 16 * 1024 * 1024, timeout: 120_000 },
      (error, stdout, stderr) => {
        if (error && !stdout.includes('@@'))
          reject(new Error(`${name} bundle did not run: ${error.message}\n${stderr}`));
        else resolve(`${stdout}\n${stderr}`);
      },
    );
    child.stdin?.end(JSON.stringify(event));
  });
  const line = output.split('\n').find((l) => l.startsWith('@@result ') || l.startsWith('@@error '));
  if (line === undefined || line.startsWith('@@error ')) throw new Error(`${name} bundle failed:\n${output}`);
  const calls = recorders.flatMap((r, i) => r.calls.slice(before[i]));
  return { result: JSON.parse(line.slice('@@result '.length)), calls, output };
}

/** Each call names a resource through one of the function's variables, with an action declared for it. */
function expectDeclared(name: string, calls: readonly RecordedCall[]): void {
  const access = ACCESS_BY_FUNCTION[name] ?? {};
  const env = environment(bundle(name));
  const undeclared = calls.filter(
    (call) =>
      !Object.entries(access).some(
        ([variable, actions]) => env[variable] === call.resource && actions.some((a) => a === call.action),
      ),
  );
  expect(undeclared, `${name} made calls its environment.ts does not declare`).toEqual([]);
}

const table = () => environment(bundle('receiver')).TABLE_NAME ?? '';
const queue = (variable: string, fn = 'renewer') => environment(bundle(fn))[variable] ?? '';

async function givenMailbox(mailbox: string, overrides: Record<string, unknown> = {}): Promise<MailboxKey> {
  const now = Date.now();
  const mailboxKey = mailboxKeyOf(mailbox);
  await documentClient(emulators.dynamodb).send(
    new PutCommand({
      TableName: table(),
      Item: {
        pk: mailboxKey,
        sk: SUBSCRIPTION_SK,
        mailbox,
        connection: 'sim',
        folders: [{ distinguishedFolderId: 'inbox' }],
        eventTypes: ['CreatedEvent', 'ModifiedEvent', 'DeletedEvent'],
        statusFrequency: 1,
        state: 'active',
        generation: 1,
        subscriptionId: 'S1',
        watermark: 'W1',
        lastContactAt: now - 30_000,
        attempts: 0,
        createdAt: now - 3_600_000,
        updatedAt: now - 30_000,
        ...overrides,
      },
    }),
  );
  return mailboxKey;
}

/** The event Lambda's SQS poller builds from received messages. */
function sqsEvent(queueArn: string, messages: readonly Message[]): SQSEvent {
  return {
    Records: messages.map((m, i) => ({
      messageId: m.MessageId ?? `m${i}`,
      receiptHandle: m.ReceiptHandle ?? '',
      body: m.Body ?? '',
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.now()),
        SenderId: 'AROAEXAMPLE',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
        ...(m.Attributes?.MessageGroupId === undefined
          ? {}
          : {
              MessageGroupId: m.Attributes.MessageGroupId,
              MessageDeduplicationId: m.Attributes.MessageDeduplicationId ?? '',
              SequenceNumber: String(i + 1),
            }),
      },
      messageAttributes: Object.fromEntries(
        Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [
          k,
          {
            dataType: v.DataType ?? 'String',
            stringValue: v.StringValue ?? '',
            stringListValues: [],
            binaryListValues: [],
          },
        ]),
      ),
      md5OfBody: m.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: LOCAL_REGION,
    })),
  };
}

const queueArnOf = (url: string) => [...resources.queues.values()].find((q) => q.url === url)?.arn ?? '';

describe('the bundles cdk deploy uploads, each in a fresh Node process', () => {
  it('synthesizes one bundle per function', () => {
    expect(bundles.map((b) => b.name).sort()).toEqual(Object.keys(ACCESS_BY_FUNCTION).sort());
  });

  it('receiver: a signed push is answered OK after its events are queued', async () => {
    const mailboxKey = await givenMailbox('ada@contoso.test');
    const body = sendNotification({
      subscriptionId: 'S1',
      previousWatermark: 'W1',
      events: [created('W2'), created('W3')],
    });
    const { result, calls } = await invoke('receiver', callbackPush(callbackPath(key, mailboxKey, 1), body));
    expect(result).toMatchObject({ statusCode: 200 });
    expect(JSON.stringify(result)).toMatch(/SubscriptionStatus>OK</);
    expect(calls.map((c) => c.action)).toEqual(
      expect.arrayContaining([
        'secretsmanager:GetSecretValue',
        'dynamodb:GetItem',
        'sqs:SendMessage',
        'dynamodb:UpdateItem',
      ]),
    );
    expectDeclared('receiver', calls);
  });

  it('receiver: a forged push gets 403 and touches no table or queue', async () => {
    const mailboxKey = mailboxKeyOf('ada@contoso.test');
    const forged = `/ews/${mailboxKey}/1/${'A'.repeat(43)}`;
    const body = sendNotification({ subscriptionId: 'S1', previousWatermark: 'W3', events: [created('W4')] });
    const { result, calls, output } = await invoke('receiver', callbackPush(forged, body));
    expect(result).toMatchObject({ statusCode: 403 });
    expect(calls.map((c) => c.action)).toEqual(['secretsmanager:GetSecretValue']);
    expect(output).not.toMatch(/No application metrics to publish/);
  });

  it('processor: forwards the queued events to the topic, which delivers them to the Events queue', async () => {
    const ingestUrl = queue('INGEST_QUEUE_URL');
    const messages = await drain(emulators.sqs, ingestUrl);
    expect(messages).toHaveLength(2);
    const { result, calls } = await invoke('processor', sqsEvent(queueArnOf(ingestUrl), messages));
    expect(result).toEqual({ batchItemFailures: [] });
    // Both events in one PublishBatch (authorized as sns:Publish); the receiver's hints make the
    // processor read the connections secret to enrich them.
    expect(calls.map((c) => c.action).sort()).toEqual(['secretsmanager:GetSecretValue', 'sns:Publish']);
    expectDeclared('processor', calls);
    const eventsUrl =
      resources.queues.get(resources.resourceId('AWS::SQS::Queue', 'FanoutEvents'))?.url ?? '';
    const delivered = await drain(emulators.sqs, eventsUrl);
    expect(delivered.map((m) => JSON.parse(m.Body ?? '{}').type)).toEqual([
      'exchange-push-bridge.notification.CreatedEvent',
      'exchange-push-bridge.notification.CreatedEvent',
    ]);
  });

  it('sweeper: a silent subscription gets a renewal job', async () => {
    await givenMailbox('bob@contoso.test', { lastContactAt: Date.now() - 3_600_000 });
    const { result, calls } = await invoke('sweeper', {});
    expect(result).toMatchObject({ stale: 1, enqueued: 1 });
    expectDeclared('sweeper', calls);
  });

  it('renewer: takes the job and subscribes again at Exchange (the EWS simulator)', async () => {
    const renewalsUrl = queue('RENEWALS_QUEUE_URL');
    const jobs = await drain(emulators.sqs, renewalsUrl);
    expect(jobs.map((j) => JSON.parse(j.Body ?? '{}').mailboxKey)).toEqual([
      mailboxKeyOf('bob@contoso.test'),
    ]);
    const { result, calls } = await invoke('renewer', sqsEvent(queueArnOf(renewalsUrl), jobs));
    expect(result).toEqual({ batchItemFailures: [] });
    expectDeclared('renewer', calls);
    const record = await new DynamoSubscriptionStore(documentClient(emulators.dynamodb), table()).get(
      mailboxKeyOf('bob@contoso.test'),
    );
    expect(record).toMatchObject({ state: 'active', generation: 2 });
    expect(simulator.subscriptions().some((s) => s.mailbox === 'bob@contoso.test')).toBe(true);
  });

  it('admin: adds a mailbox (Subscribe at the simulator) and lists it', async () => {
    const added = await invoke('admin', {
      command: 'add',
      mailbox: 'carol@contoso.test',
      connection: 'sim',
      folders: ['inbox'],
      statusFrequency: 5,
    });
    expect(added.result).toMatchObject({ ok: true });
    expectDeclared('admin', added.calls);
    const listed = await invoke('admin', { command: 'list', includeRemoved: false });
    expect(JSON.stringify(listed.result)).toContain('carol@contoso.test');
    expectDeclared('admin', listed.calls);
  });
});

describe('npm run bench -- bundles, one round on the same synth', () => {
  it('measures every bundle against a bare handler with its SDK clients', async () => {
    const report = await measureBundles(() => {}, 'smoke', bundles);
    expect(report.comparisons.map((c) => c.name).sort()).toEqual(
      Object.keys(ACCESS_BY_FUNCTION)
        .map((name) => `${name} bundle, cold import`)
        .sort(),
    );
    for (const c of report.comparisons) expect(c.baselineMicros).toBeGreaterThan(0);
    // Each bundle holds its SDK clients and more: the bridge's own code and libraries.
    for (const size of report.sizes) expect(size.bytes).toBeGreaterThan(size.bareBytes);
  });
});
