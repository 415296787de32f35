/**
 * Reading the two secrets: the Exchange connections, and the callback signing key (its caching
 * guarantees; docs/development.md, "Secrets"). No Secrets Manager emulator ships with the project's toolchain
 * (none on the npm registry the project installs from; dynalite and fauxqs cover only DynamoDB,
 * SQS and SNS), so the real SDK client talks to a small loopback HTTP server that speaks the
 * Secrets Manager JSON protocol for GetSecretValue, which is all the adapter calls.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { secretsManagerCallbackKey } from '../../functions/adapters/callback-key-source.ts';
import {
  type ConnectionsSource,
  ConnectionsUnavailableError,
  fileConnections,
  objectConnections,
  secretsManagerConnections,
  UnknownConnectionError,
} from '../../functions/adapters/connections-source.ts';
import type { Result } from '../../functions/core/result.ts';
import { InvalidConnectionConfigError } from '../../functions/ews/connection.ts';
import { closedPort, type RecordingServer, startRecordingServer } from '../support/recording-server.ts';
import { steppedClock } from '../support/stepped-clock.ts';

const PASSWORD = 'Sup3r-Secret-Passw0rd';
const SECRET_ID = 'exchange-push-bridge/exchange-connections';
const config = {
  onprem: {
    ewsUrl: 'https://mail.example.com/EWS/Exchange.asmx',
    auth: { kind: 'basic', username: 'svc-ews@example.com', password: PASSWORD },
  },
  sim: { ewsUrl: 'http://127.0.0.1:8085/EWS/Exchange.asmx', auth: { kind: 'none' } },
};

let server: RecordingServer;
beforeAll(async () => {
  server = await startRecordingServer();
});
beforeEach(() => server.reset());
afterAll(() => server.close());

const client = (endpoint = server.origin) =>
  new SecretsManagerClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    // One attempt: the SDK's own retries (with real back-off sleeps) are not what is under test.
    maxAttempts: 1,
  });

function secretsManager(answer: (response: ServerResponse) => void) {
  server.route('/', (_request, response) => answer(response));
}

function secretValue(secretString: string | undefined) {
  return (response: ServerResponse) =>
    response.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.1' }).end(
      JSON.stringify({
        ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${SECRET_ID}-AbCdEf`,
        Name: SECRET_ID,
        VersionId: '6f7e8d9c-0000-4000-8000-000000000001',
        ...(secretString === undefined ? {} : { SecretString: secretString }),
        VersionStages: ['AWSCURRENT'],
        CreatedDate: 1_763_700_000,
      }),
    );
}

function awsError(status: number, type: string, message: string) {
  return (response: ServerResponse) =>
    response
      .writeHead(status, { 'Content-Type': 'application/x-amz-json-1.1', 'x-amzn-ErrorType': type })
      .end(JSON.stringify({ __type: type, message }));
}

function value<T, E extends Error>(result: Result<T, E>): T {
  if (!result.ok) throw new Error(`expected success, got ${result.error.message}`);
  return result.value;
}

function failure<T, E extends Error>(result: Result<T, E>): E {
  if (result.ok) throw new Error('expected a failure');
  expect(`${result.error.message}\n${inspect(result.error, { depth: 20, showHidden: true })}`).not.toContain(
    PASSWORD,
  );
  return result.error;
}

describe('secretsManagerConnections', () => {
  it('reads the secret with GetSecretValue and parses it', async () => {
    secretsManager(secretValue(JSON.stringify(config)));
    const source = secretsManagerConnections({ secretId: SECRET_ID, client: client() });
    const connections = value(await source.all());
    expect([...connections.keys()]).toEqual(['onprem', 'sim']);
    expect(value(await source.get('onprem')).auth).toEqual({
      kind: 'basic',
      username: 'svc-ews@example.com',
      password: PASSWORD,
    });
    const [request] = server.requests;
    expect(request?.headers['x-amz-target']).toBe('secretsmanager.GetSecretValue');
    expect(JSON.parse(request?.body ?? '')).toEqual({ SecretId: SECRET_ID });
    expect(source.origin).toBe(`secret "${SECRET_ID}"`);
  });

  it('reads the secret once per TTL, and concurrent callers share one read', async () => {
    secretsManager(secretValue(JSON.stringify(config)));
    const clock = steppedClock();
    const source = secretsManagerConnections({ secretId: SECRET_ID, client: client(), ttlMs: 60_000, clock });
    const results = await Promise.all(Array.from({ length: 5 }, () => source.get('onprem')));
    for (const result of results) value(result);
    clock.advance(59_999);
    value(await source.all());
    expect(server.requests).toHaveLength(1);
    clock.advance(1);
    value(await source.all());
    expect(server.requests).toHaveLength(2);
  });

  it('refresh() makes the next call read the secret again', async () => {
    secretsManager(secretValue(JSON.stringify(config)));
    const source = secretsManagerConnections({ secretId: SECRET_ID, client: client() });
    value(await source.all());
    secretsManager(secretValue(JSON.stringify({ onprem: config.onprem })));
    expect([...value(await source.all()).keys()]).toEqual(['onprem', 'sim']);
    source.refresh();
    expect([...value(await source.all()).keys()]).toEqual(['onprem']);
    expect(server.requests).toHaveLength(2);
  });

  it('refresh() while a read is under way: that read answers its callers but is not kept, the next call reads again', async () => {
    let held: ServerResponse | undefined;
    server.route('/', (_request, response) => {
      held = response;
    });
    const source = secretsManagerConnections({ secretId: SECRET_ID, client: client() });
    const before = source.all();
    await server.waitFor('/', 1);
    source.refresh();
    secretsManager(secretValue(JSON.stringify({ onprem: config.onprem })));
    if (held === undefined) throw new Error('the first read never arrived');
    secretValue(JSON.stringify(config))(held);
    expect([...value(await before).keys()]).toEqual(['onprem', 'sim']);
    expect([...value(await source.all()).keys()]).toEqual(['onprem']);
    expect(server.requests).toHaveLength(2);
  });

  it.each([
    [
      'ResourceNotFoundException',
      "Secrets Manager can't find the specified secret.",
      false,
      /create the secret/,
    ],
    ['AccessDeniedException', 'User is not authorized to perform GetSecretValue', false, /GetSecretValue/],
    ['DecryptionFailure', 'KMS denied', false, /kms:Decrypt/],
    ['InternalServiceError', 'try again', true, /retry/],
  ])(
    '%s is a ConnectionsUnavailableError naming the secret (retryable: %s)',
    async (type, message, retryable, advice) => {
      secretsManager(awsError(type === 'InternalServiceError' ? 500 : 400, type, message));
      const source = secretsManagerConnections({ secretId: SECRET_ID, client: client() });
      const error = failure(await source.get('onprem'));
      expect(error).toBeInstanceOf(ConnectionsUnavailableError);
      if (!(error instanceof ConnectionsUnavailableError)) return;
      expect(error).toMatchObject({ code: type, retryable, origin: `secret "${SECRET_ID}"` });
      expect(error.message).toContain(SECRET_ID);
      expect(error.message).toMatch(advice);
    },
  );

  it('does not cache a read failure: the next call tries again', async () => {
    secretsManager(awsError(400, 'ResourceNotFoundException', 'not found'));
    const source = secretsManagerConnections({ secretId: SECRET_ID, client: client() });
    failure(await source.all());
    secretsManager(secretValue(JSON.stringify(config)));
    value(await source.all());
    expect(server.requests).toHaveLength(2);
  });

  it('an unreachable Secrets Manager is a retryable ConnectionsUnavailableError', async () => {
    const port = await closedPort();
    const source = secretsManagerConnections({
      secretId: SECRET_ID,
      client: client(`http://127.0.0.1:${port}`),
    });
    const error = failure(await source.all());
    expect(error).toBeInstanceOf(ConnectionsUnavailableError);
    expect(error).toMatchObject({ code: 'ECONNREFUSED', retryable: true });
  });

  it('a secret that is not JSON is refused by position, never by quoting it', async () => {
    secretsManager(secretValue(`{"onprem": {"auth": {"kind": "basic", "password": "${PASSWORD}" "x": 1}}}`));
    const source = secretsManagerConnections({ secretId: SECRET_ID, client: client() });
    const error = failure(await source.all());
    expect(error).toBeInstanceOf(InvalidConnectionConfigError);
    expect(error.message).toMatch(
      /^Exchange connection config in secret ".*" is invalid: is not valid JSON at (line 1, column \d+|character \d+); fix the syntax/,
    );
  });

  it.each([
    ['an empty string', '', /not valid JSON \(it is empty\)/],
    ['binary data', undefined, /has no value/],
  ])('a secret holding %s is an InvalidConnectionConfigError', async (_label, secretString, problem) => {
    secretsManager(secretValue(secretString));
    const error = failure(await secretsManagerConnections({ secretId: SECRET_ID, client: client() }).all());
    expect(error).toBeInstanceOf(InvalidConnectionConfigError);
    expect(error.message).toMatch(problem);
  });

  it('an invalid configuration names the secret, the connection and the field', async () => {
    secretsManager(
      secretValue(JSON.stringify({ onprem: { ...config.onprem, ewsUrl: 'http://mail.example.com/EWS' } })),
    );
    const error = failure(await secretsManagerConnections({ secretId: SECRET_ID, client: client() }).all());
    expect(error).toBeInstanceOf(InvalidConnectionConfigError);
    expect(error.message).toContain(`in secret "${SECRET_ID}"`);
    expect(error.message).toContain('connection "onprem", field ewsUrl');
  });
});

describe('secretsManagerCallbackKey', () => {
  const KEY = 'k'.repeat(32);

  it('reads the secret once for the container: concurrent callers share the read, later ones the key', async () => {
    secretsManager(secretValue(KEY));
    const key = secretsManagerCallbackKey(client(), SECRET_ID);
    const keys = await Promise.all(Array.from({ length: 5 }, () => key()));
    expect(keys.map((k) => Buffer.from(k.bytes).toString('utf8'))).toEqual(Array(5).fill(KEY));
    await key();
    expect(server.requests).toHaveLength(1);
    expect(JSON.parse(server.requests[0]?.body ?? '')).toEqual({ SecretId: SECRET_ID });
  });

  it('does not keep a failed read: the next call tries again', async () => {
    secretsManager(
      awsError(400, 'AccessDeniedException', 'User is not authorized to perform GetSecretValue'),
    );
    const key = secretsManagerCallbackKey(client(), SECRET_ID);
    await expect(key()).rejects.toMatchObject({ name: 'AccessDeniedException' });
    secretsManager(secretValue(KEY));
    expect(Buffer.from((await key()).bytes).toString('utf8')).toBe(KEY);
    expect(server.requests).toHaveLength(2);
  });

  it('refuses a secret without a value, naming the secret', async () => {
    secretsManager(secretValue(undefined));
    const key = secretsManagerCallbackKey(client(), SECRET_ID);
    await expect(key()).rejects.toThrow(`cannot read the callback signing key from secret ${SECRET_ID}`);
  });
});

describe('fileConnections and objectConnections', () => {
  const dir = mkdtempSync(join(tmpdir(), 'exchange-connections-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a local file and sees edits on the next call', async () => {
    const path = join(dir, 'connections.json');
    writeFileSync(path, `\uFEFF${JSON.stringify(config, null, 2)}`);
    const source = fileConnections(path);
    expect(value(await source.get('sim')).ewsUrl).toBe('http://127.0.0.1:8085/EWS/Exchange.asmx');
    writeFileSync(path, JSON.stringify({ sim: { ...config.sim, timeoutMs: 5000 } }));
    expect(value(await source.get('sim')).timeoutMs).toBe(5000);
  });

  it('a missing file is a ConnectionsUnavailableError naming the path', async () => {
    const path = join(dir, 'absent.json');
    const error = failure(await fileConnections(path).all());
    expect(error).toBeInstanceOf(ConnectionsUnavailableError);
    expect(error).toMatchObject({ code: 'ENOENT', retryable: false });
    expect(error.message).toContain(path);
  });

  it('a file with a syntax error is refused by line and column, without quoting it', async () => {
    const path = join(dir, 'broken.json');
    writeFileSync(path, `{\n  "onprem": {\n    "auth": {"password": "${PASSWORD}",}\n  }\n}\n`);
    const error = failure(await fileConnections(path).all());
    expect(error).toBeInstanceOf(InvalidConnectionConfigError);
    expect(error.message).toContain(`file ${path}`);
  });

  it('serves an in-memory object, and names the known connections for an unknown one', async () => {
    const source: ConnectionsSource = objectConnections(config);
    expect(value(await source.get('onprem')).name).toBe('onprem');
    const error = failure(await source.get('exchange-online'));
    expect(error).toBeInstanceOf(UnknownConnectionError);
    expect(error.message).toBe(
      'EWS connection "exchange-online" is not in the in-memory connection config (known: "onprem", "sim"); add it there or use one of the configured names',
    );
  });

  it('an in-memory object with problems fails every call with the same error', async () => {
    const source = objectConnections({ bad: { auth: { kind: 'none' } } }, 'the local run config');
    const error = failure(await source.get('bad'));
    expect(error).toBeInstanceOf(InvalidConnectionConfigError);
    expect(error.message).toContain('in the local run config');
  });
});
