import { describe, expect, it } from 'vitest';
import { setupOf } from '../../../functions/admin/manage.ts';
import { mailboxKeyOf } from '../../../functions/domain/mailbox-key.ts';
import type { SubscriptionRecord } from '../../../functions/domain/subscription.ts';
import type { FolderRef } from '../../../functions/ews/request.ts';

/** Its baseline taken: waiting for Subscribe. */
const baselineTaken: SubscriptionRecord = {
  mailboxKey: mailboxKeyOf('ada@contoso.test'),
  mailbox: 'ada@contoso.test',
  connection: 'exo',
  folders: 'all',
  eventTypes: ['CreatedEvent'],
  statusFrequency: 5,
  state: 'subscribing',
  generation: 1,
  attempts: 0,
  nextAttemptAt: 0,
  createdAt: 0,
  updatedAt: 0,
};
const added: SubscriptionRecord = { ...baselineTaken, syncWork: 'baseline' };
const inbox: FolderRef = { distinguishedFolderId: 'inbox' };
const folder = (complete: boolean, itemsSeen: number) => ({
  folder: inbox,
  complete,
  itemsSeen,
  updatedAt: 0,
});

describe('setupOf: what adding a mailbox waits for', () => {
  it('waits for the baseline, saying how far it has come, then for Subscribe', () => {
    expect(setupOf(added)).toEqual({
      kind: 'settingUp',
      step: 'waiting for the lifecycle to take the baseline',
    });
    expect(setupOf(added, [folder(true, 30), folder(false, 1024)])).toEqual({
      kind: 'settingUp',
      step: 'taking the baseline: 1 of 2 folder(s) done, 1054 item(s) read',
    });
    expect(setupOf(baselineTaken)).toEqual({ kind: 'settingUp', step: 'subscribing' });
  });

  it('keeps waiting while Exchange throttles, saying so', () => {
    const throttled = {
      ...added,
      lastError: 'throttled by Exchange (ErrorServerBusy), retrying after 30000 ms',
    };
    expect(setupOf(throttled)).toEqual({
      kind: 'settingUp',
      step: 'waiting for the lifecycle to take the baseline (throttled by Exchange (ErrorServerBusy), retrying after 30000 ms)',
    });
  });

  it('is done once a subscription is current', () => {
    expect(setupOf({ ...baselineTaken, state: 'active', subscriptionId: 'S1' })).toEqual({
      kind: 'watched',
    });
  });

  it('says why it is not watched yet once an attempt failed, and whether the bridge can heal it alone', () => {
    const failed = {
      ...added,
      attempts: 1,
      nextAttemptAt: Date.UTC(2026, 10, 21, 10, 1),
      lastError: 'EWS is unreachable',
    };
    expect(setupOf(failed)).toEqual({
      kind: 'failed',
      message:
        'ada@contoso.test is registered but not watched yet: EWS is unreachable. The bridge retries with back-off (next attempt 2026-11-21T10:01:00.000Z). Changes reach consumers from the moment "show" says active; "remove" the mailbox to stop.',
    });
    const refused = {
      ...failed,
      state: 'lost' as const,
      lastError: 'needs attention: ErrorExceededSubscriptionCount',
    };
    expect(setupOf(refused)).toMatchObject({
      kind: 'failed',
      message: expect.stringMatching(
        /not watched yet: ErrorExceededSubscriptionCount\. This needs a fix on your side before a retry can work/,
      ),
    });
    expect(setupOf({ ...added, state: 'removed' })).toEqual({
      kind: 'failed',
      message: 'ada@contoso.test was removed before it was watched',
    });
  });
});
