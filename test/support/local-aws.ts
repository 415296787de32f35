/**
 * Emulated AWS for integration tests: dynalite and fauxqs (in their child process), with the tables and
 * queues the CDK app defines (provisioned from the synthesized template), and helpers to count
 * SDK calls or make them fail.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { type Emulators, startEmulators } from '../../local/emulators.ts';
import {
  type CloudFormationTemplate,
  type LocalResources,
  parseTemplate,
  provisionFromTemplate,
} from '../../local/provision.ts';
import { synthesize } from '../infra/synth.ts';

let template: CloudFormationTemplate | undefined;

export interface LocalAws {
  readonly emulators: Emulators;
  readonly resources: LocalResources;
  /** The environment of the function described "exchange-push-bridge <name>…", resolved locally. */
  environment(functionName: string): Record<string, string>;
  stop(): Promise<void>;
}

export async function startLocalAws(options: { apiEndpoint?: string } = {}): Promise<LocalAws> {
  template ??= parseTemplate(synthesize().template.toJSON());
  const emulators = await startEmulators();
  const resources = await provisionFromTemplate(template, emulators, {
    prefix: `t${randomBytes(3).toString('hex')}`,
    apiEndpoint: options.apiEndpoint ?? 'http://127.0.0.1:1',
  });
  return {
    emulators,
    resources,
    environment: (name) => resources.environmentOf(resources.functionId(`exchange-push-bridge ${name}`)),
    stop: () => emulators.stop(),
  };
}

/** Records the name of every command a client sends, and can make the next ones fail. */
export interface CallTap {
  readonly calls: string[];
  /** Fail every command whose name matches, until `heal()`. */
  failOn(pattern: RegExp, error?: () => Error): void;
  heal(): void;
}

export function tap(client: DynamoDBClient | SQSClient): CallTap {
  const calls: string[] = [];
  let failing: { pattern: RegExp; error: () => Error } | undefined;
  const observe = (commandName: unknown) => {
    const name = String(commandName ?? 'unknown');
    calls.push(name);
    if (failing?.pattern.test(name)) throw failing.error();
  };
  const options = { step: 'initialize', name: `tap-${randomBytes(4).toString('hex')}` } as const;
  // Two branches so each stack is called with its own client's types.
  if (client instanceof DynamoDBClient) {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        observe(context.commandName);
        return next(args);
      },
      options,
    );
  } else {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        observe(context.commandName);
        return next(args);
      },
      options,
    );
  }
  return {
    calls,
    failOn(
      pattern,
      error = () => Object.assign(new Error('injected failure'), { name: 'ServiceUnavailable' }),
    ) {
      failing = { pattern, error };
    },
    heal() {
      failing = undefined;
    },
  };
}

/** Receives and deletes every message currently in a queue, in the order SQS hands them out. */
export async function drain(sqs: SQSClient, queueUrl: string): Promise<Message[]> {
  const messages: Message[] = [];
  for (let emptyPolls = 0; emptyPolls < 2; ) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['MessageGroupId', 'MessageDeduplicationId'],
      }),
    );
    if (Messages.length === 0) emptyPolls++;
    for (const message of Messages) {
      messages.push(message);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
  }
  return messages;
}
