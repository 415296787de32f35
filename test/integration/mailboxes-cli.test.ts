/** The `mailboxes` CLI against an admin endpoint (as `npm start` serves it) over real HTTP. */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqsEventPublisher } from '../../functions/adapters/sqs-event-publisher.ts';
import { DynamoSubscriptionStore, documentClient } from '../../functions/adapters/subscription-table.ts';
import { DynamoSyncStateStore } from '../../functions/adapters/sync-state-table.ts';
import { createAdminHandler } from '../../functions/admin/invoke.ts';
import { systemClock } from '../../functions/core/clock.ts';
import { ok } from '../../functions/core/result.ts';
import { callbackKeyFrom } from '../../functions/domain/callback.ts';
import { serveAdmin } from '../../local/admin-endpoint.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';

const root = join(import.meta.dirname, '..', '..');
let aws: LocalAws;
let server: Server;
let endpoint: string;
const subscribed: string[] = [];

beforeAll(async () => {
  aws = await startLocalAws();
  const env = aws.environment('admin');
  const doc = documentClient(aws.emulators.dynamodb);
  const handler = createAdminHandler({
    records: new DynamoSubscriptionStore(doc, env.TABLE_NAME ?? ''),
    syncStates: new DynamoSyncStateStore(doc, env.SYNC_STATE_TABLE_NAME ?? ''),
    publisher: new SqsEventPublisher(aws.emulators.sqs, env.INGEST_QUEUE_URL ?? ''),
    connection: async (name) =>
      name === 'local'
        ? {
            subscribe: async (mailbox) => {
              subscribed.push(mailbox);
              return ok({ subscriptionId: `S-${mailbox}`, watermark: 'W0' });
            },
          }
        : undefined,
    connectionNames: async () => ['local'],
    callbackBaseUrl: 'http://127.0.0.1:1',
    callbackKey: async () => callbackKeyFrom(randomBytes(32)),
    clock: systemClock,
    logger: new Logger({ logLevel: 'SILENT' }),
  });
  server = createServer((req, res) => void serveAdmin(handler, req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  endpoint = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/`;
});
afterAll(async () => {
  if (server) await new Promise((resolve) => server.close(resolve));
  await aws?.stop();
});

function cli(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'cli', 'mailboxes.ts'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('npm run mailboxes', () => {
  it('adds a mailbox, showing progress, and shows and lists it', async () => {
    const added = await cli(
      'add',
      'ada@contoso.test',
      '--connection',
      'local',
      '--folders',
      'calendar,inbox,id:AAMkAG=',
      '--events',
      'CreatedEvent,DeletedEvent',
      '--status-frequency',
      '2',
      '--endpoint',
      endpoint,
    );
    expect(added.stderr).toMatch(/subscribing ada@contoso.test through connection local/);
    expect(added.status).toBe(0);
    expect(added.stdout).toMatch(/^mailbox\s+ada@contoso.test$/m);
    expect(added.stdout).toMatch(/^folders\s+calendar, inbox, id:AAMkAG=$/m);
    expect(added.stdout).toMatch(/^subscription id\s+S-ada@contoso.test$/m);
    const shown = await cli('show', 'ada@contoso.test', '--endpoint', endpoint, '--json');
    expect(JSON.parse(shown.stdout)).toMatchObject({
      ok: true,
      result: { state: 'active', eventTypes: ['CreatedEvent', 'DeletedEvent'], statusFrequency: 2 },
    });
    const listed = await cli('list', '--endpoint', endpoint);
    expect(listed.stdout).toMatch(/^MAILBOX\s+STATE\s+LAST CONTACT\s+GEN\s+CONNECTION$/m);
    expect(listed.stdout).toMatch(/^ada@contoso.test\s+active\s+\d+ s ago\s+1\s+local$/m);
  });

  it('reports refusals on stderr with exit code 1, and usage errors with exit code 2, before sending anything', async () => {
    const unknown = await cli('add', 'bob@contoso.test', '--connection', 'nope', '--endpoint', endpoint);
    expect(unknown).toMatchObject({ status: 1, stdout: '' });
    expect(unknown.stderr).toMatch(
      /InvalidMailboxSpecError: no Exchange connection named "nope"; configured: local/,
    );
    const before = subscribed.length;
    for (const args of [
      [],
      ['add', 'x@y.test'],
      ['add', 'x@y.test', '--connection', 'local', '--status-frequency', '0'],
      ['add', 'x@y.test', '--connection', 'local', '--events', 'StatusEvent'],
      ['show'],
      ['frobnicate'],
      ['list', '--stack', 'a', '--endpoint', 'b'],
    ]) {
      const result = await cli(...args, ...(args.includes('--endpoint') ? [] : ['--endpoint', endpoint]));
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr).toContain('usage: npm run --silent mailboxes');
    }
    expect(subscribed.length).toBe(before);
  });

  it('says when the target cannot be reached (exit code 3)', async () => {
    const result = await cli('list', '--endpoint', 'http://127.0.0.1:9/');
    expect(result.status).toBe(3);
    expect(result.stderr).toMatch(/cannot reach the local run's admin endpoint .* is `npm start` running\?/);
  });
});
