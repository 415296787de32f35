import { describe, expect, it } from 'vitest';
import type { AdminResponse } from '../../../functions/admin/commands.ts';
import { addRetryingTransient } from '../../../local/mailbox-setup.ts';

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
