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
import { callbackKeyFrom } from '../../functions/domain/callback.ts';
import { mailboxKeyOf } from '../../functions/domain/mailbox-key.ts';
import { serveAdmin } from '../../local/admin-endpoint.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';

const root = join(import.meta.dirname, '..', '..');
let aws: LocalAws;
let server: Server;
let endpoint: string;
let store: DynamoSubscriptionStore;
let syncStates: DynamoSyncStateStore;

beforeAll(async () => {
  aws = await startLocalAws();
  const env = aws.environment('admin');
  const doc = documentClient(aws.emulators.dynamodb);
  store = new DynamoSubscriptionStore(doc, env.TABLE_NAME ?? '');
  syncStates = new DynamoSyncStateStore(doc, env.SYNC_STATE_TABLE_NAME ?? '');
  const handler = createAdminHandler({
    records: store,
    syncStates,
    publisher: new SqsEventPublisher(aws.emulators.sqs, env.INGEST_QUEUE_URL ?? ''),
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

interface Run {
  readonly stderr: () => string;
  readonly done: Promise<{ status: number | null; stdout: string; stderr: string }>;
}

function start(...args: string[]): Run {
  const child = spawn(process.execPath, [join(root, 'cli', 'mailboxes.ts'), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return {
    stderr: () => stderr,
    done: new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr }))),
  };
}

const cli = (...args: string[]) => start(...args).done;

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The lifecycle's part, played by the test: a page of the baseline, then the first subscription. */
const lifecycle = {
  async baselinePage(mailbox: string) {
    await syncStates.put(mailboxKeyOf(mailbox), {
      folder: { distinguishedFolderId: 'inbox' },
      syncState: 'S1',
      complete: false,
      itemsSeen: 512,
      updatedAt: Date.now(),
    });
  },
  subscribed: (mailbox: string) =>
    store.completeRenewal({
      mailboxKey: mailboxKeyOf(mailbox),
      generation: 1,
      subscriptionId: `S-${mailbox}`,
      watermark: 'W0',
      now: Date.now(),
      syncWork: undefined,
      syncReason: undefined,
    }),
};

describe('npm run mailboxes', () => {
  it('adds a mailbox, waiting until it is watched and showing the baseline as it is taken, and shows and lists it', async () => {
    const adding = start(
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
      '--enrich',
      'full',
      '--enrich-fields',
      'calendar:MyResponseType',
      '--endpoint',
      endpoint,
    );
    await until('add waiting', () => adding.stderr().includes('waiting until it is watched'));
    await lifecycle.baselinePage('ada@contoso.test');
    await until('the baseline shown', () =>
      adding.stderr().includes('taking the baseline: 0 of 1 folder(s) done, 512 item(s) read'),
    );
    await lifecycle.subscribed('ada@contoso.test');
    const added = await adding.done;
    expect(added.stderr).toMatch(/registering ada@contoso.test/);
    expect(added.status).toBe(0);
    expect(added.stdout).toMatch(/^mailbox\s+ada@contoso.test$/m);
    expect(added.stdout).toMatch(/^state\s+active$/m);
    expect(added.stdout).toMatch(/^folders\s+calendar, inbox, id:AAMkAG=$/m);
    expect(added.stdout).toMatch(/^subscription id\s+S-ada@contoso.test$/m);
    expect(added.stdout).toMatch(/^enrichment\s+full, plus calendar:MyResponseType$/m);
    const shown = await cli('show', 'ada@contoso.test', '--endpoint', endpoint, '--json');
    expect(JSON.parse(shown.stdout)).toMatchObject({
      ok: true,
      result: {
        state: 'active',
        eventTypes: ['CreatedEvent', 'DeletedEvent'],
        statusFrequency: 2,
        enrich: 'full',
        enrichFields: ['calendar:MyResponseType'],
      },
    });
    const listed = await cli('list', '--endpoint', endpoint);
    expect(listed.stdout).toMatch(/^MAILBOX\s+STATE\s+LAST CONTACT\s+GEN\s+SOURCE\s+CONNECTION\s+EXPIRES$/m);
    expect(listed.stdout).toMatch(/^ada@contoso.test\s+active\s+\d+ s ago\s+1\s+ews\s+local\s+-$/m);
    expect(added.stdout).toMatch(/^source\s+EWS$/m);
  });

  it('says why a mailbox is not watched yet when the first attempt fails (exit code 1), or returns at once with --no-wait', async () => {
    const adding = start('add', 'full@contoso.test', '--connection', 'local', '--endpoint', endpoint);
    await until('add waiting', () => adding.stderr().includes('waiting until it is watched'));
    await store.recordFailure({
      mailboxKey: mailboxKeyOf('full@contoso.test'),
      generation: 1,
      state: 'subscribing',
      error: 'needs attention: Subscribe failed with ErrorExceededSubscriptionCount',
      attempts: 1,
      nextAttemptAt: Date.now() + 60_000,
      firstFailureAt: Date.now(),
      lost: false,
      now: Date.now(),
    });
    const failed = await adding.done;
    expect(failed).toMatchObject({ status: 1, stdout: '' });
    expect(failed.stderr).toMatch(
      /MailboxSetupFailedError: full@contoso.test is registered but not watched yet: Subscribe failed with ErrorExceededSubscriptionCount\. This needs a fix on your side/,
    );

    const queued = await cli(
      'add',
      'later@contoso.test',
      '--connection',
      'local',
      '--no-wait',
      '--endpoint',
      endpoint,
    );
    expect(queued.status).toBe(0);
    expect(queued.stdout).toMatch(/^state\s+subscribing$/m);
    expect(queued.stdout).toMatch(/^enrichment\s+the deployment's default \(ENRICH_DEFAULT\)$/m);
  });

  it('reports refusals on stderr with exit code 1, and usage errors with exit code 2, before sending anything', async () => {
    const unknown = await cli('add', 'bob@contoso.test', '--connection', 'nope', '--endpoint', endpoint);
    expect(unknown).toMatchObject({ status: 1, stdout: '' });
    expect(unknown.stderr).toMatch(
      /InvalidMailboxSpecError: no Exchange connection named "nope"; configured: local/,
    );
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
    expect(await store.get(mailboxKeyOf('x@y.test'))).toBeUndefined();
  });

  it('says when the target cannot be reached (exit code 3)', async () => {
    const result = await cli('list', '--endpoint', 'http://127.0.0.1:9/');
    expect(result.status).toBe(3);
    expect(result.stderr).toMatch(/cannot reach the local run's admin endpoint .* is `npm start` running\?/);
  });
});
