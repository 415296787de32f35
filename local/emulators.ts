/**
 * The AWS services the bridge uses, emulated in this process on loopback ports: DynamoDB with
 * dynalite (in memory, or LevelDB files under `dataDir`), SQS/SNS with fauxqs. Clients talk to them
 * with the real AWS SDK over real HTTP.
 */
import type { Server } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import dynalite from 'dynalite';
import { startFauxqs } from 'fauxqs';

export interface Emulators {
  readonly dynamodbEndpoint: string;
  readonly sqsEndpoint: string;
  readonly region: string;
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly sns: SNSClient;
  /** Another set of clients to the same emulators (destroyed by `stop`), e.g. for the functions. */
  createClients(): { readonly dynamodb: DynamoDBClient; readonly sqs: SQSClient; readonly sns: SNSClient };
  stop(): Promise<void>;
}

/** Dummy credentials: the emulators do not check them, and real ones must never be used here. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
export const LOCAL_REGION = 'us-east-1';

export async function startEmulators(options: { dataDir?: string } = {}): Promise<Emulators> {
  const dynamo: Server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.dataDir ? { path: `${options.dataDir}/dynamodb` } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    dynamo.once('error', reject);
    dynamo.listen(0, '127.0.0.1', () => resolve());
  });
  const dynamoPort = portOf(dynamo.address());
  const fauxqs = await startFauxqs({
    port: 0,
    host: '127.0.0.1',
    logger: false,
    ...(options.dataDir ? { dataDir: `${options.dataDir}/sqs` } : {}),
  });

  const dynamodbEndpoint = `http://127.0.0.1:${dynamoPort}`;
  // fauxqs hands out queue URLs on *.localhost hosts; with an explicit endpoint the SDK sends
  // every request to it instead of resolving those names (which would leave the machine).
  const sqsEndpoint = `http://127.0.0.1:${fauxqs.port}`;
  const common = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 2 };
  const all: Array<{ destroy(): void }> = [];
  const createClients = () => {
    const clients = {
      dynamodb: new DynamoDBClient({ ...common, endpoint: dynamodbEndpoint }),
      sqs: new SQSClient({ ...common, endpoint: sqsEndpoint }),
      sns: new SNSClient({ ...common, endpoint: sqsEndpoint }),
    };
    all.push(clients.dynamodb, clients.sqs, clients.sns);
    return clients;
  };
  const { dynamodb, sqs, sns } = createClients();
  return {
    dynamodbEndpoint,
    sqsEndpoint,
    region: LOCAL_REGION,
    dynamodb,
    sqs,
    sns,
    createClients,
    async stop() {
      for (const client of all.splice(0)) client.destroy();
      await fauxqs.stop();
      await new Promise<void>((resolve) => dynamo.close(() => resolve()));
    },
  };
}

function portOf(address: ReturnType<Server['address']>): number {
  if (address === null || typeof address === 'string')
    throw new Error(`dynalite is not listening on a TCP port (${address})`);
  return address.port;
}
