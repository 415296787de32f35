/**
 * The emulators run in a child process of their own (local/emulator-host.ts): a Ctrl-C meant for
 * the run (the terminal signals the whole process group) must leave them up for the drain, and
 * stopping must end the process, with a --data-dir's files whole for the next run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  GetItemCommand,
  PutItemCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { type Emulators, startEmulators } from '../../local/emulators.ts';

const running: Emulators[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const emulators of running.splice(0)) await emulators.stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function start(dataDir?: string): Promise<Emulators & { readonly pid: number }> {
  const emulators = await startEmulators(dataDir ? { dataDir } : {});
  running.push(emulators);
  const { pid } = emulators;
  if (pid === undefined) throw new Error('the emulators have no process id');
  return Object.assign(emulators, { pid });
}

describe('the emulators’ process', () => {
  it('is not this one, outlives a SIGINT or SIGTERM, and ends when stopped', async () => {
    const emulators = await start();
    expect(emulators.pid).not.toBe(process.pid);
    process.kill(emulators.pid, 'SIGINT');
    process.kill(emulators.pid, 'SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await emulators.dynamodb.send(
      new CreateTableCommand({
        TableName: 'after-signals',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await emulators.stop();
    expect(alive(emulators.pid)).toBe(false);
  });

  it('keeps a --data-dir table for the next process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'emulators-'));
    dirs.push(dir);
    const first = await start(dir);
    await first.dynamodb.send(
      new CreateTableCommand({
        TableName: 'kept',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    // dynalite makes a table ACTIVE on a timer, even at createTableMs 0: on a busy machine a write
    // straight after CreateTable can find it still CREATING (as in AWS, where provision.ts waits too).
    await waitUntilTableExists({ client: first.dynamodb, maxWaitTime: 30 }, { TableName: 'kept' });
    await first.dynamodb.send(
      new PutItemCommand({ TableName: 'kept', Item: { pk: { S: 'a' }, n: { N: '1' } } }),
    );
    await first.stop();
    const second = await start(dir);
    const { Item } = await second.dynamodb.send(
      new GetItemCommand({ TableName: 'kept', Key: { pk: { S: 'a' } } }),
    );
    expect(Item?.n).toEqual({ N: '1' });
  });
});
