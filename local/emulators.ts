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
  createClients(): EmulatorClients;
  /**
   * Every set of clients made so far, the first one's included: what measures every AWS call of
   * the run (bench/load.ts) hooks each of them, not only the run's own.
   */
  clientSets(): readonly EmulatorClients[];
  stop(): Promise<void>;
}

export interface EmulatorClients {
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly sns: SNSClient;
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
  const sets: EmulatorClients[] = [];
  const createClients = (): EmulatorClients => {
    const clients = {
      dynamodb: new DynamoDBClient({ ...common, endpoint: dynamodbEndpoint }),
      sqs: new SQSClient({ ...common, endpoint: sqsEndpoint }),
      sns: new SNSClient({ ...common, endpoint: sqsEndpoint }),
    };
    sets.push(clients);
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
    clientSets: () => [...sets],
    async stop() {
      for (const set of sets.splice(0))
        for (const client of [set.dynamodb, set.sqs, set.sns]) client.destroy();
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
