/**
 * What the local run's clients save by not signing (local/emulators.ts: a fixed Authorization
 * header of the shape the emulators check, no SigV4): the calls a push costs (DynamoDB GetItem
 * and UpdateItem, SQS SendMessageBatch) and a processor publish (SNS PublishBatch), made by the
 * unsigned clients against the same calls made by SigV4-signing clients on the same emulators.
 * Two measures: wall time per round, and this process's CPU per round, the part that matters
 * for the run (the emulators' own CPU is in their process).
 */
import { randomBytes } from 'node:crypto';
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateTopicCommand, PublishBatchCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  PurgeQueueCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startEmulators } from '../local/emulators.ts';
import { type Comparison, compare, compareSamples, type Effort } from './harness.ts';

interface Clients {
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly sns: SNSClient;
}

export async function benchLocalClients(
  onProgress: (line: string) => void,
  effort: Effort = 'full',
): Promise<Comparison[]> {
  const emulators = await startEmulators();
  const common = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 2 };
  // What every local client was before: the SDK's default auth scheme, SigV4.
  const signed: Clients = {
    dynamodb: new DynamoDBClient({ ...common, endpoint: emulators.dynamodbEndpoint }),
    sqs: new SQSClient({ ...common, endpoint: emulators.sqsEndpoint }),
    sns: new SNSClient({ ...common, endpoint: emulators.sqsEndpoint }),
  };
  const unsigned: Clients = emulators;
  try {
    const table = `bench-${randomBytes(3).toString('hex')}`;
    await emulators.dynamodb.send(
      new CreateTableCommand({
        TableName: table,
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const { QueueUrl: queueUrl = '' } = await emulators.sqs.send(
      new CreateQueueCommand({ QueueName: `${table}-q` }),
    );
    const { TopicArn: topicArn = '' } = await emulators.sns.send(
      new CreateTopicCommand({ Name: `${table}-t` }),
    );

    // One push's AWS calls as the receiver makes them, and one processor publish.
    let n = 0;
    const round = async (clients: Clients) => {
      n++;
      const pk = `mailbox-${n % 50}`;
      await clients.dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: pk } } }));
      await clients.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Array.from({ length: 5 }, (_, i) => ({ Id: `m${i}`, MessageBody: `{"n":${n},"i":${i}}` })),
        }),
      );
      await clients.dynamodb.send(
        new UpdateItemCommand({
          TableName: table,
          Key: { pk: { S: pk } },
          UpdateExpression: 'SET n = :n',
          ExpressionAttributeValues: { ':n': { N: String(n) } },
        }),
      );
      await clients.sns.send(
        new PublishBatchCommand({
          TopicArn: topicArn,
          PublishBatchRequestEntries: Array.from({ length: 5 }, (_, i) => ({
            Id: `e${i}`,
            Message: `{"n":${n},"i":${i}}`,
          })),
        }),
      );
      // The queue would only grow: emptied now and then, alike for both.
      if (n % 500 === 0) await emulators.sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
    };
    const iterations = 200;
    const rounds = 8;
    const progress = (what: string) => (r: number, of: number) =>
      onProgress(`local-clients ${what}: round ${r}/${of}`);
    const wall = await compare({
      name: 'unsigned local clients, wall time of one push’s calls + a publish',
      baseline: 'the same calls by SigV4-signing clients on the same emulators',
      target: null,
      baselineWork: () => round(signed),
      candidateWork: () => round(unsigned),
      iterationsPerRound: iterations,
      rounds,
      effort,
      onProgress: progress('wall'),
    });
    const smoke = effort === 'smoke';
    const cpuSample = (clients: Clients) => async () => {
      const count = smoke ? 2 : iterations;
      const before = process.cpuUsage();
      for (let i = 0; i < count; i++) await round(clients);
      const used = process.cpuUsage(before);
      return (used.user + used.system) / count;
    };
    const cpu = await compareSamples({
      name: 'unsigned local clients, this process’s CPU for one push’s calls + a publish',
      baseline: 'the same calls by SigV4-signing clients on the same emulators',
      target: null,
      baselineSample: cpuSample(signed),
      candidateSample: cpuSample(unsigned),
      rounds: smoke ? 1 : rounds,
      iterationsPerRound: smoke ? 2 : iterations,
      onProgress: progress('cpu'),
    });
    return [wall, cpu];
  } finally {
    for (const client of [signed.dynamodb, signed.sqs, signed.sns]) client.destroy();
    await emulators.stop();
  }
}
