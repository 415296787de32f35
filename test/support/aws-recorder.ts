/**
 * A loopback proxy in front of an emulator that writes down every AWS call passing through it, as
 * the IAM action AWS would authorize and the resource it names, so a test can compare what a
 * function's code really calls with what its environment.ts declares. And a Secrets Manager stand-in
 * (no emulator exists for it) answering GetSecretValue from a map, recording the same way.
 */
import { createServer, type IncomingMessage, request, type Server } from 'node:http';

export interface RecordedCall {
  /** `service:Action` as IAM names it (SendMessageBatch is authorized as sqs:SendMessage). */
  readonly action: string;
  /** The table name, queue URL, topic ARN or secret id the call names. */
  readonly resource: string;
}

export interface Recorder {
  readonly url: string;
  readonly calls: RecordedCall[];
  stop(): Promise<void>;
}

/** API operations whose IAM action has another name. */
const AUTHORIZED_AS: Readonly<Record<string, string>> = {
  'sqs:SendMessageBatch': 'sqs:SendMessage',
  'sqs:DeleteMessageBatch': 'sqs:DeleteMessage',
  'sqs:ChangeMessageVisibilityBatch': 'sqs:ChangeMessageVisibility',
  'sns:PublishBatch': 'sns:Publish',
};

const SERVICE_OF_TARGET: Readonly<Record<string, string>> = {
  DynamoDB_20120810: 'dynamodb',
  AmazonSQS: 'sqs',
  secretsmanager: 'secretsmanager',
};

export class UnrecognizedCallError extends Error {
  override readonly name = 'UnrecognizedCallError';
  constructor(detail: string) {
    super(`the recorder cannot tell which AWS call this is (${detail}); teach test/support/aws-recorder.ts`);
  }
}

/** What a request calls: JSON protocols name it in X-Amz-Target, the query protocol (SNS) in Action. */
export function recognize(headers: IncomingMessage['headers'], body: string): RecordedCall[] {
  const target = headers['x-amz-target'];
  if (typeof target === 'string') {
    const [prefix = '', operation = ''] = target.split('.');
    const service = SERVICE_OF_TARGET[prefix];
    if (service === undefined) throw new UnrecognizedCallError(target);
    const api = `${service}:${operation}`;
    const parsed: unknown = body === '' ? {} : JSON.parse(body);
    const field = (name: string) =>
      typeof parsed === 'object' && parsed !== null ? Reflect.get(parsed, name) : undefined;
    const requestItems = field('RequestItems');
    const resources =
      typeof requestItems === 'object' && requestItems !== null
        ? Object.keys(requestItems)
        : [field('TableName') ?? field('QueueUrl') ?? field('SecretId')];
    return resources.map((resource) => ({ action: AUTHORIZED_AS[api] ?? api, resource: String(resource) }));
  }
  const form = new URLSearchParams(body);
  const operation = form.get('Action');
  if (operation === null) throw new UnrecognizedCallError(`no X-Amz-Target, body ${body.slice(0, 80)}`);
  const api = `sns:${operation}`;
  return [{ action: AUTHORIZED_AS[api] ?? api, resource: form.get('TopicArn') ?? '' }];
}

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('recorder is not on a TCP port');
  return `http://127.0.0.1:${address.port}`;
}

function closing(server: Server): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
}

/** Forwards everything to `upstream` (an emulator's base URL), recording each call. */
export async function recordingProxy(upstream: string): Promise<Recorder> {
  const calls: RecordedCall[] = [];
  const target = new URL(upstream);
  const server = createServer(async (req, res) => {
    const body = await bodyOf(req);
    calls.push(...recognize(req.headers, body.toString('utf8')));
    const forwarded = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    forwarded.on('error', (error) => {
      res.writeHead(502).end(String(error));
    });
    forwarded.end(body);
  });
  const url = await listen(server);
  return { url, calls, stop: closing(server) };
}

/** Secrets Manager's GetSecretValue for the given secret strings, by secret id. */
export async function secretsStandIn(secrets: ReadonlyMap<string, string>): Promise<Recorder> {
  const calls: RecordedCall[] = [];
  const server = createServer(async (req, res) => {
    const body = (await bodyOf(req)).toString('utf8');
    const [call] = recognize(req.headers, body);
    if (call !== undefined) calls.push(call);
    const value = call === undefined ? undefined : secrets.get(call.resource);
    const json = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(payload));
    };
    if (call?.action !== 'secretsmanager:GetSecretValue' || value === undefined)
      return json(400, { __type: 'ResourceNotFoundException', message: `no secret ${call?.resource}` });
    json(200, {
      ARN: call.resource,
      Name: call.resource,
      SecretString: value,
      VersionId: 'v1',
      CreatedDate: 0,
    });
  });
  const url = await listen(server);
  return { url, calls, stop: closing(server) };
}
