/**
 * AWS, emulated, with what the CDK app defines: the emulators started, the synthesized template's
 * tables, queues, topic and subscriptions created in them, and what each function's environment
 * says, as the template sets it.
 */
import { AwsFaults } from './aws-faults.ts';
import { type Emulators, startEmulators } from './emulators.ts';
import { type LocalResources, type ProvisionedQueue, provisionFromTemplate } from './provision.ts';
import type { Shutdown } from './shutdown.ts';
import { synthesizeTemplate } from './template.ts';

export interface EmulatedAws {
  /** The emulators, with the clients the run's own machinery uses (pollers, provisioning, its reads). */
  readonly emulators: Emulators;
  /**
   * The same emulators with the clients the functions use: the AWS faults (local/aws-faults.ts)
   * are injected there, so they hit the bridge's code and not the run's accounting.
   */
  readonly functionEmulators: Emulators;
  readonly awsFaults: AwsFaults;
  readonly resources: LocalResources;
  /** The environment the template gives each function. */
  readonly env: {
    readonly receiver: Readonly<Record<string, string>>;
    readonly renewer: Readonly<Record<string, string>>;
    readonly processor: Readonly<Record<string, string>>;
    readonly sweeper: Readonly<Record<string, string>>;
    readonly admin: Readonly<Record<string, string>>;
  };
  readonly queues: {
    readonly ingest: ProvisionedQueue;
    readonly renewals: ProvisionedQueue;
    /** The Events FIFO queue consumers read. */
    readonly events: ProvisionedQueue;
  };
}

/** `apiEndpoint`: the callback base URL the template's functions refer to. */
export async function startEmulatedAws(
  options: {
    readonly dataDir?: string | undefined;
    readonly apiEndpoint: string;
    /** Probability that a function's AWS call fails (see local/aws-faults.ts). @default 0 */
    readonly awsFaultRate?: number | undefined;
    readonly seed?: number | undefined;
  },
  shutdown: Shutdown,
): Promise<EmulatedAws> {
  const emulators = await startEmulators(options.dataDir ? { dataDir: options.dataDir } : {});
  shutdown.add(() => emulators.stop());
  const awsFaults = new AwsFaults({ rate: options.awsFaultRate ?? 0, seed: options.seed ?? 1 });
  const clients = emulators.createClients();
  awsFaults.attach(clients.dynamodb, 'dynamodb');
  awsFaults.attach(clients.sqs, 'sqs');
  awsFaults.attach(clients.sns, 'sns');
  const functionEmulators: Emulators = { ...emulators, ...clients };
  const resources = await provisionFromTemplate(synthesizeTemplate(), emulators, {
    prefix: 'local',
    apiEndpoint: options.apiEndpoint,
  });
  const env = (name: string) => resources.environmentOf(resources.functionId(`exchange-push-bridge ${name}`));
  const queueByPath = (pathEnd: string) => {
    const queue = resources.queues.get(resources.resourceId('AWS::SQS::Queue', pathEnd));
    if (queue === undefined) throw new Error(`no queue ${pathEnd} in the template`);
    return queue;
  };
  return {
    emulators,
    functionEmulators,
    awsFaults,
    resources,
    env: {
      receiver: env('receiver'),
      renewer: env('renewer'),
      processor: env('processor'),
      sweeper: env('sweeper'),
      admin: env('admin'),
    },
    queues: {
      ingest: queueByPath('QueuesIngest'),
      renewals: queueByPath('LifecycleRenewals'),
      events: queueByPath('FanoutEvents'),
    },
  };
}

/** A variable of a function's environment, which the local run needs the template to set. */
export function required(values: Readonly<Record<string, string>>, key: string): string {
  const value = values[key];
  if (value === undefined)
    throw new Error(`the template sets no ${key}; the local run (local/) and the CDK app disagree`);
  return value;
}
