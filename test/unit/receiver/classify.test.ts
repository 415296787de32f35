import { describe, expect, it } from 'vitest';
import { mailboxKeyOf } from '../../../functions/domain/mailbox-key.ts';
import type { SubscriptionRecord } from '../../../functions/domain/subscription.ts';
import type { Notification } from '../../../functions/ews/notification.ts';
import { classify } from '../../../functions/receiver/receive.ts';

const mailboxKey = mailboxKeyOf('ada@contoso.test');
const record: SubscriptionRecord = {
  mailboxKey,
  mailbox: 'ada@contoso.test',
  connection: 'default',
  folders: [{ distinguishedFolderId: 'calendar' }],
  eventTypes: ['CreatedEvent'],
  statusFrequency: 5,
  state: 'active',
  generation: 3,
  subscriptionId: 'S3',
  watermark: 'W10',
  attempts: 0,
  createdAt: 1,
  updatedAt: 1,
};

function notification(previousWatermark: string | null): Notification {
  return {
    responseClass: 'Success',
    responseCode: 'NoError',
    subscriptionId: 'S3',
    previousWatermark,
    moreEvents: false,
    events: [],
    messageText: null,
  };
}

const at = (generation: number) => ({ mailboxKey, generation });

describe('classify: where a notification stands against the stored record', () => {
  it.each([
    ['no record', at(3), notification('W10'), 'S3', 'W11', undefined, 'unknownMailbox'],
    [
      'removed mailbox',
      at(3),
      notification('W10'),
      'S3',
      'W11',
      { ...record, state: 'removed' as const },
      'removed',
    ],
    ['older generation', at(2), notification('W10'), 'S2', 'W11', record, 'superseded'],
    ['generation never issued', at(4), notification('W10'), 'S4', 'W11', record, 'unknownMailbox'],
    [
      'another subscription on the current generation',
      at(3),
      notification('W10'),
      'S-other',
      'W11',
      record,
      'stray',
    ],
    ['a retry of what was taken', at(3), notification('W8'), 'S3', 'W10', record, 'duplicate'],
  ] as const)('%s → %s', (_name, target, n, sid, last, stored, decision) => {
    expect(classify(target, n, sid, last, stored)).toEqual({ kind: 'final', decision });
  });

  it('in order when PreviousWatermark matches, conditioned on the stored watermark', () => {
    expect(classify(at(3), notification('W10'), 'S3', 'W12', record)).toMatchObject({
      kind: 'apply',
      decision: 'accepted',
      update: { expect: { kind: 'watermark', watermark: 'W10' } },
    });
  });

  it('in order when Exchange sent no PreviousWatermark (nothing to compare)', () => {
    expect(classify(at(3), notification(null), 'S3', 'W12', record)).toMatchObject({ decision: 'accepted' });
  });

  it('a gap when PreviousWatermark differs: recovery resumes from the stored (last good) watermark', () => {
    expect(classify(at(3), notification('W11'), 'S3', 'W13', record)).toMatchObject({
      kind: 'apply',
      decision: 'gap',
      update: {
        expect: { kind: 'watermark', watermark: 'W10' },
        recovery: { reason: 'gap', watermark: 'W10' },
      },
    });
  });

  it('adopts an unknown subscription on the current generation while no SubscriptionId is stored (the renewal race)', () => {
    const { subscriptionId: _, ...renewing } = record;
    expect(
      classify(at(3), notification('W0-new'), 'S-new', 'W1-new', { ...renewing, state: 'renewing' }),
    ).toMatchObject({
      kind: 'apply',
      decision: 'adopted',
      update: {
        expect: { kind: 'adoption', previousWatermark: 'W0-new', unconfirmedFallback: renewing.watermark },
      },
    });
  });
});
