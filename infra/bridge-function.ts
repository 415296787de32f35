import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, Grant, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { FunctionAccess, FunctionEnvironment } from '../functions/core/access.ts';

const FUNCTIONS_DIR = join(import.meta.dirname, '..', 'functions');

/**
 * How every function is bundled (esbuild settings `cdk synth` uses); `npm run bench` builds its
 * bare baselines the same way so their sizes and load times compare.
 */
export const BUNDLE_SETTINGS = {
  target: 'node24',
  platform: 'node',
  mainFields: ['module', 'main'],
  minify: true,
  // Some dependencies still call require(); give the ESM bundle one.
  banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
} as const;

/** What Lambda itself writes with the function's role: its log streams, in its own group only. */
export const LOG_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents'] as const;

/** A resource a function's code names by an environment variable. */
export type AccessedResource = TableV2 | Queue | Topic | Secret;

export type BridgeFunctionProps<
  A extends FunctionAccess,
  S extends string,
  O extends string = never,
> = BridgeFunctionBaseProps<A, S, O> &
  ([S] extends [never]
    ? { readonly settings?: undefined }
    : {
        /** The value of each setting the function's `environment.ts` names. */
        readonly settings: { readonly [K in S]: string };
      });

interface BridgeFunctionBaseProps<A extends FunctionAccess, S extends string, O extends string> {
  /** Folder under `functions/` holding `handler.ts`. */
  readonly folder: string;
  readonly description: string;
  /** @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  readonly logRetention: RetentionDays;
  /** Powertools service name for logs and metrics. */
  readonly serviceName: string;
  /**
   * Concurrency reserved for this function alone. Lambda refuses a reservation that leaves fewer
   * than 100 unreserved executions, which new accounts (a quota of 10 or 50) cannot give.
   * @default - none
   */
  readonly reservedConcurrentExecutions?: number;
  /** What the function reads, and does in AWS, by environment variable (its `environment.ts`). */
  readonly environment: FunctionEnvironment<A, S, O>;
  /** The resource behind each of those variables: its name, URL or ARN goes in the variable. */
  readonly resources: { readonly [K in keyof A]: AccessedResource };
  /**
   * Values for the optional variables the `environment.ts` names (the lifecycle policy's numbers);
   * one left out is not set, and the code's default applies.
   */
  readonly optional?: { readonly [K in O]?: string | undefined };
}

/**
 * Every Lambda of the bridge is built the same way: Node.js 24 on arm64, one ESM bundle with the
 * dependencies the tests ran against (the AWS SDK included, rather than whatever version the
 * runtime happens to ship), JSON logs in a log group with a retention, and a role that may write
 * only to that log group until the construct that needs more grants it.
 */
export class BridgeFunction<
  A extends FunctionAccess = FunctionAccess,
  S extends string = never,
  O extends string = never,
> extends Construct {
  readonly fn: NodejsFunction;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: BridgeFunctionProps<A, S, O>) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (logs only unless granted more)`,
    });
    // Instead of AWSLambdaBasicExecutionRole (logs:* on every log group): this function's group only.
    role.addToPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: [...LOG_ACTIONS],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    this.fn = new NodejsFunction(this, 'Function', {
      entry: join(FUNCTIONS_DIR, props.folder, 'handler.ts'),
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
      role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      ...(props.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: 'ExchangePushBridge',
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        format: OutputFormat.ESM,
        ...BUNDLE_SETTINGS,
        mainFields: [...BUNDLE_SETTINGS.mainFields],
        bundleAwsSDK: true,
        sourceMap: true,
      },
    });
    // The one place a variable is set: a resource's together with its grant, a setting as given.
    for (const [variable, actions] of Object.entries(props.environment.access)) {
      const resource = props.resources[variable];
      if (resource === undefined) throw new MissingResourceError(props.folder, variable);
      this.fn.addEnvironment(variable, grantAccess(this.fn, resource, actions));
    }
    for (const variable of props.environment.settings) {
      const value = props.settings?.[variable];
      if (value === undefined) throw new MissingResourceError(props.folder, variable);
      this.fn.addEnvironment(variable, value);
    }
    for (const variable of props.environment.optional) {
      const value = props.optional?.[variable];
      if (value !== undefined) this.fn.addEnvironment(variable, value);
    }
  }
}

class MissingResourceError extends Error {
  override readonly name = 'MissingResourceError';
  constructor(folder: string, variable: string) {
    super(
      `functions/${folder}/environment.ts names ${variable}, but no value was given for it; pass it in the BridgeFunction's resources or settings`,
    );
  }
}

/**
 * Grants exactly `actions` on `resource` and returns what the environment variable holds: the
 * table's name, the queue's URL, the topic's or secret's ARN. No KMS grant for the topic: it uses
 * the AWS managed key (topic.grantPublish would add kms actions on every key).
 */
function grantAccess(fn: NodejsFunction, resource: AccessedResource, actions: readonly string[]): string {
  if (actions.length === 0) throw new RangeError('an access entry without actions grants nothing; remove it');
  if (resource instanceof TableV2) {
    resource.grant(fn, ...actions);
    return resource.tableName;
  }
  if (resource instanceof Queue) {
    resource.grant(fn, ...actions);
    return resource.queueUrl;
  }
  const arn = resource instanceof Topic ? resource.topicArn : resource.secretArn;
  Grant.addToPrincipal({ grantee: fn, actions: [...actions], resourceArns: [arn] });
  return arn;
}
