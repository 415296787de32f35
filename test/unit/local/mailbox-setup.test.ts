import { describe, expect, it } from 'vitest';
import type { AdminResponse } from '../../../functions/admin/commands.ts';
import { mailboxKeyOf } from '../../../functions/domain/mailbox-key.ts';
import type { SubscriptionRecord } from '../../../functions/domain/subscription.ts';
import { addMailboxes, addRetryingTransient } from '../../../local/mailbox-setup.ts';

const failure = (name: string): AdminResponse => ({
  ok: false,
  error: { name, message: `PutItem: ${name}` },
  progress: [],
});
const success: AdminResponse = { ok: true, result: [], progress: [] };

function answers(...responses: AdminResponse[]) {
  const calls: number[] = [];
  const pauses: number[] = [];
  const add = async () => {
    calls.push(calls.length);
    return responses[Math.min(calls.length - 1, responses.length - 1)] ?? success;
  };
  const pause = async (ms: number) => {
    pauses.push(ms);
  };
  return { add, pause, calls, pauses };
}

describe('adding the local run mailboxes', () => {
  it('tries an add again that failed with a transient AWS error (an injected fault), until it goes through', async () => {
    const a = answers(failure('ThrottlingException'), failure('InternalServerError'), success);
    expect(await addRetryingTransient(a.add, a.pause)).toEqual(success);
    expect(a.calls).toHaveLength(3);
    expect(a.pauses).toHaveLength(2);
  });

  it('does not retry other failures', async () => {
    const a = answers(failure('MailboxAlreadyWatchedError'));
    expect(await addRetryingTransient(a.add, a.pause)).toEqual(failure('MailboxAlreadyWatchedError'));
    expect(a.calls).toHaveLength(1);
  });

  it('gives up after five attempts, with the last failure', async () => {
    const a = answers(failure('TimeoutError'));
    expect(await addRetryingTransient(a.add, a.pause)).toEqual(failure('TimeoutError'));
    expect(a.calls).toHaveLength(5);
  });
});

describe('setting up the local run mailboxes', () => {
  const record = (mailbox: string, state: SubscriptionRecord['state']): SubscriptionRecord => ({
    mailboxKey: mailboxKeyOf(mailbox),
    mailbox,
    connection: 'local',
    folders: 'all',
    eventTypes: ['CreatedEvent'],
    statusFrequency: 1,
    state,
    generation: 1,
    ...(state === 'active' ? {} : { syncWork: 'baseline' as const }),
    attempts: 0,
    createdAt: 0,
    updatedAt: 0,
  });
  const mailboxes = Array.from({ length: 20 }, (_, i) => `m${i}@contoso.test`);

  it('adds several mailboxes at once, every one of them, then waits until each is watched', async () => {
    let running = 0;
    let most = 0;
    const added: string[] = [];
    const watched: string[] = [];
    let sweeps = 0;
    await addMailboxes({
      mailboxes,
      connectionOf: () => 'local',
      watched,
      admin: async (command) => {
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 1));
        running--;
        added.push(String(command.mailbox));
        return success;
      },
      sweep: async () => {
        sweeps++;
      },
      records: async () => added.map((mailbox) => record(mailbox, 'active')),
      options: {},
    });
    expect([...added].sort()).toEqual([...mailboxes].sort());
    expect([...watched].sort()).toEqual([...mailboxes].sort());
    expect(most).toBeGreaterThan(1);
    expect(sweeps).toBe(1);
  });

  it('stops adding and waiting when its signal is aborted (Ctrl-C during setup)', async () => {
    const setup = new AbortController();
    const added: string[] = [];
    const watched: string[] = [];
    await addMailboxes({
      mailboxes,
      connectionOf: () => 'local',
      watched,
      admin: async (command) => {
        added.push(String(command.mailbox));
        if (added.length === 3) setup.abort();
        return success;
      },
      sweep: async () => {},
      // Never watched: only the signal ends the wait.
      records: async () => added.map((mailbox) => record(mailbox, 'subscribing')),
      options: {},
      signal: setup.signal,
    });
    expect(added.length).toBeLessThan(mailboxes.length);
    expect(watched).toEqual(added);
  });

  it('ends the wait for mailboxes not yet watched when the signal is aborted then', async () => {
    const setup = new AbortController();
    let looks = 0;
    await addMailboxes({
      mailboxes: mailboxes.slice(0, 2),
      connectionOf: () => 'local',
      watched: [],
      admin: async () => success,
      sweep: async () => {},
      records: async () => {
        if (++looks === 2) setup.abort();
        return mailboxes.slice(0, 2).map((mailbox) => record(mailbox, 'subscribing'));
      },
      options: {},
      signal: setup.signal,
    });
    expect(looks).toBe(2);
  });

  it('goes on when its head-start sweep fails (an AWS fault): the scheduled sweep hands the mailboxes on', async () => {
    const logged: string[] = [];
    const watched: string[] = [];
    await addMailboxes({
      mailboxes: mailboxes.slice(0, 2),
      connectionOf: () => 'local',
      watched,
      admin: async () => success,
      sweep: async () => {
        throw new Error('SendMessageBatch: injected throttling');
      },
      records: async () => mailboxes.slice(0, 2).map((mailbox) => record(mailbox, 'active')),
      options: { log: (entry) => logged.push(`${entry.level}: ${entry.message}`) },
    });
    expect(watched).toEqual(mailboxes.slice(0, 2));
    expect(logged).toContain(
      'warn: the sweep after adding the mailboxes failed; the next scheduled sweep hands them on',
    );
  });
});
