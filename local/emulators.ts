/**
 * The AWS services the bridge uses, emulated on loopback ports: DynamoDB with dynalite (in memory,
 * or LevelDB files under `dataDir`), SQS/SNS with fauxqs. They run in a child process of their own
 * (local/emulator-host.ts), off the event loop the bridge's code runs on. Clients talk to them with
 * the real AWS SDK over real HTTP.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { HttpAuthScheme, HttpRequest, IdentityProviderConfig } from '@smithy/types';
import type { HostCommand, HostMessage, HostOptions } from './emulator-host.ts';

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
  /** The emulators' process (its CPU is the run's too: bench/load.ts counts it). */
  readonly pid: number | undefined;
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

export interface EmulatorOptions {
  /** Keep their state in files there (LevelDB, fauxqs's data dir); in memory when absent. */
  readonly dataDir?: string | undefined;
  /**
   * Sign requests with SigV4 as AWS needs. The emulators only check that an Authorization header
   * of the right shape is there, so by default the local clients send a fixed one and skip the
   * HMACs (bench/local-clients.ts measures what that saves). These clients never reach AWS: their
   * endpoints are the emulators'. @default false
   */
  readonly signed?: boolean;
}

export async function startEmulators(options: EmulatorOptions = {}): Promise<Emulators> {
  const host = await startHost(options.dataDir ? { dataDir: options.dataDir } : {});
  const dynamodbEndpoint = `http://127.0.0.1:${host.ports.dynamodbPort}`;
  // fauxqs hands out queue URLs on *.localhost hosts; with an explicit endpoint the SDK sends
  // every request to it instead of resolving those names (which would leave the machine).
  const sqsEndpoint = `http://127.0.0.1:${host.ports.sqsPort}`;
  const common = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 2 };
  const auth = (service: string) => (options.signed ? {} : { httpAuthSchemes: [unsignedAuth(service)] });
  const sets: EmulatorClients[] = [];
  const createClients = (): EmulatorClients => {
    const clients = {
      dynamodb: new DynamoDBClient({ ...common, ...auth('dynamodb'), endpoint: dynamodbEndpoint }),
      sqs: new SQSClient({ ...common, ...auth('sqs'), endpoint: sqsEndpoint }),
      sns: new SNSClient({ ...common, ...auth('sns'), endpoint: sqsEndpoint }),
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
    pid: host.child.pid,
    async stop() {
      for (const set of sets.splice(0))
        for (const client of [set.dynamodb, set.sqs, set.sns]) client.destroy();
      await host.stop();
    },
  };
}

/**
 * SigV4's place in the client, with a signer that writes a fixed Authorization header of the
 * shape the emulators check (dynalite: AWS4-, Credential, SignedHeaders, Signature and a date;
 * fauxqs: the region in the credential scope) instead of computing one per request.
 */
function unsignedAuth(service: string): HttpAuthScheme {
  const date = '20260101T000000Z';
  const authorization = `AWS4-HMAC-SHA256 Credential=${LOCAL_CREDENTIALS.accessKeyId}/${date.slice(0, 8)}/${LOCAL_REGION}/${service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=0`;
  return {
    schemeId: 'aws.auth#sigv4',
    identityProvider: (config: IdentityProviderConfig) => config.getIdentityProvider('aws.auth#sigv4'),
    signer: {
      async sign(request: HttpRequest) {
        request.headers.authorization = authorization;
        request.headers['x-amz-date'] = date;
        return request;
      },
    },
  };
}

interface Host {
  readonly child: ChildProcess;
  readonly ports: { readonly dynamodbPort: number; readonly sqsPort: number };
  stop(): Promise<void>;
}

/** How long the emulators may take to start, and to close their database when asked to stop. */
const HOST_START_MS = 60_000;
const HOST_STOP_MS = 15_000;

async function startHost(options: HostOptions): Promise<Host> {
  const child = fork(new URL('./emulator-host.ts', import.meta.url), [JSON.stringify(options)], {
    // Not the parent's flags: a --cpu-prof or --inspect of the run is for the run.
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'json',
  });
  const ports = await new Promise<Host['ports']>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the emulators did not start within ${HOST_START_MS / 1000} s`));
    }, HOST_START_MS);
    child.on('message', (message: HostMessage) => {
      if (message.kind === 'ready') {
        clearTimeout(timer);
        resolve({ dynamodbPort: message.dynamodbPort, sqsPort: message.sqsPort });
      } else if (message.kind === 'failed') {
        clearTimeout(timer);
        reject(new Error(`the emulators could not start: ${message.message}`));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the emulators' process exited before it was ready (${signal ?? `code ${code}`})`));
    });
  });
  // Not what keeps a run alive: a test or script that forgets stop() still ends.
  child.unref();
  child.channel?.unref();
  let stopped: Promise<void> | undefined;
  return {
    child,
    ports,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), HOST_STOP_MS);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.on('message', (message: HostMessage) => {
          // Closed cleanly: the channel's end tells it to exit.
          if (message.kind === 'stopped') child.disconnect();
        });
        const command: HostCommand = { kind: 'stop' };
        if (child.connected) child.send(command);
        else child.kill('SIGKILL');
      });
      return stopped;
    },
  };
}
