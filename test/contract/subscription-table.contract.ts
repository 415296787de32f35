/**
 * What every implementation of the subscription table's ports must do: the conditions the
 * receiver, the renewer, the sweeper and mailbox management rely on. Run against the fake
 * (fakes.test.ts) and DynamoSubscriptionStore on the DynamoDB emulator (emulators.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { MailboxRecords } from '../../functions/admin/manage.ts';
import { mailboxKeyOf } from '../../functions/domain/mailbox-key.ts';
import type { SubscriptionRecord } from '../../functions/domain/subscription.ts';
import type { GraphWorkStore } from '../../functions/receiver/graph-receive.ts';
import type { SubscriptionStore } from '../../functions/receiver/receive.ts';
import type { GraphLifecycleStore } from '../../functions/renewer/graph-lifecycle.ts';
import type { LifecycleStore } from '../../functions/renewer/job.ts';
import type { RecordScan } from '../../functions/sweeper/sweep.ts';

export type SubscriptionTable = SubscriptionStore &
  MailboxRecords &
  LifecycleStore &
  RecordScan &
  GraphWorkStore &
  GraphLifecycleStore;

let counter = 0;
/** A fresh active record (unique mailbox per call: the real table is shared by the tests). */
export function activeRecord(overrides: Partial<SubscriptionRecord> = {}): SubscriptionRecord {
  const mailbox = `contract${++counter}-${Math.random().toString(36).slice(2, 8)}@contoso.test`;
  return {
    mailboxKey: mailboxKeyOf(mailbox),
    mailbox,
    connection: 'default',
    folders: [{ distinguishedFolderId: 'inbox' }],
    eventTypes: ['CreatedEvent', 'DeletedEvent'],
    statusFrequency: 1,
    state: 'active',
    generation: 3,
    subscriptionId: 'S3',
    watermark: 'W1',
    lastContactAt: 1_000,
    attempts: 0,
    createdAt: 500,
    updatedAt: 1_000,
    ...overrides,
  };
}

export function subscriptionTableContract(table: () => SubscriptionTable): void {
  const given = async (overrides: Partial<SubscriptionRecord> = {}) => {
    const record = activeRecord(overrides);
    expect(await table().create(record, undefined)).toBe(true);
    return record;
  };
  /** A renewal from generation 3 to 4 whose new subscription S4 pushed (and was adopted) before Subscribe answered. */
  const renewAndAdopt = async (mailboxKey: SubscriptionRecord['mailboxKey'], previousWatermark: string) => {
    await table().beginRenewal({
      mailboxKey,
      fromGeneration: 3,
      toGeneration: 4,
      state: 'renewing',
      now: 2_000,
    });
    await table().advance({
      mailboxKey,
      generation: 4,
      subscriptionId: 'S4',
      expect: { kind: 'adoption', previousWatermark, unconfirmedFallback: 'W6' },
      watermark: 'WPUSH',
      contactAt: 2_500,
    });
  };
  const at = (record: SubscriptionRecord) => ({
    mailboxKey: record.mailboxKey,
    generation: record.generation,
  });

  describe('create, get, markRemoved', () => {
    it('creates a record once; reads it back as written', async () => {
      const record = await given();
      expect(await table().get(record.mailboxKey)).toEqual(record);
      expect(await table().create(record, undefined)).toBe(false);
      expect(await table().get(mailboxKeyOf('nobody@contoso.test'))).toBeUndefined();
    });

    it('re-creates over a removed record only at the generation read', async () => {
      const record = await given({
        nextAttemptAt: 5,
        recovery: 'gap',
        recoveryWatermark: 'W0',
        syncWork: 'catchUp',
      });
      expect(await table().markRemoved(record.mailboxKey, 2_000)).toBe(true);
      expect(await table().markRemoved(record.mailboxKey, 2_001)).toBe(false);
      const removed = await table().get(record.mailboxKey);
      expect(removed).toMatchObject({ state: 'removed', updatedAt: 2_000, generation: 3 });
      for (const gone of ['nextAttemptAt', 'recovery', 'recoveryWatermark', 'syncWork'] as const)
        expect(removed?.[gone]).toBeUndefined();
      const again = { ...record, generation: 4, state: 'subscribing' as const };
      expect(await table().create(again, { ...record, generation: 2 })).toBe(false);
      expect(await table().create(again, record)).toBe(true);
      expect(await table().create(again, record)).toBe(false);
      expect(await table().markRemoved(mailboxKeyOf('nobody@contoso.test'), 1)).toBe(false);
    });
  });

  describe('advance (the receiver)', () => {
    it('applies at the expected watermark, counts drained pushes, and refuses any other watermark, id or generation', async () => {
      const record = await given();
      const base = { ...at(record), subscriptionId: 'S3', contactAt: 2_000 };
      expect(
        await table().advance({ ...base, expect: { kind: 'watermark', watermark: 'W0' }, watermark: 'W2' }),
      ).toBe(false);
      expect(
        await table().advance({
          ...base,
          subscriptionId: 'S9',
          expect: { kind: 'watermark', watermark: 'W1' },
          watermark: 'W2',
        }),
      ).toBe(false);
      expect(
        await table().advance({
          ...base,
          generation: 2,
          expect: { kind: 'watermark', watermark: 'W1' },
          watermark: 'W2',
        }),
      ).toBe(false);
      expect(
        await table().advance({
          ...base,
          expect: { kind: 'watermark', watermark: 'W1' },
          watermark: 'W2',
          drained: true,
        }),
      ).toBe(true);
      expect(
        await table().advance({
          ...base,
          contactAt: 3_000,
          expect: { kind: 'subscription' },
          watermark: null,
          drained: true,
        }),
      ).toBe(true);
      expect(await table().get(record.mailboxKey)).toEqual({
        ...record,
        watermark: 'W2',
        lastContactAt: 3_000,
        updatedAt: 3_000,
        // The latest drained push's arrival, not a count (domain/subscription.ts).
        drainedAt: 3_000,
      });
    });

    it('keeps the first recovery request and its watermark', async () => {
      const record = await given();
      const base = { ...at(record), subscriptionId: 'S3', expect: { kind: 'subscription' } as const };
      await table().advance({
        ...base,
        contactAt: 2_000,
        watermark: 'W5',
        recovery: { reason: 'gap', watermark: 'W1' },
      });
      await table().advance({
        ...base,
        contactAt: 3_000,
        watermark: 'W6',
        recovery: { reason: 'dead', watermark: 'W5' },
      });
      expect(await table().get(record.mailboxKey)).toMatchObject({
        recovery: 'gap',
        recoveryWatermark: 'W1',
        recoveryAt: 2_000,
        recoveryGeneration: 3,
        watermark: 'W6',
      });
    });

    it('adopts a SubscriptionId only while none is stored', async () => {
      const { subscriptionId: _none, watermark: _w, ...record } = activeRecord({ state: 'renewing' });
      expect(await table().create(record, undefined)).toBe(true);
      const adopt = (id: string) =>
        table().advance({
          ...at(record),
          subscriptionId: id,
          expect: { kind: 'adoption', previousWatermark: 'W0', unconfirmedFallback: 'WBEFORE' },
          watermark: 'WA',
          contactAt: 2_000,
        });
      expect(await adopt('NEW')).toBe(true);
      expect(await adopt('OTHER')).toBe(false);
      expect(await table().get(record.mailboxKey)).toMatchObject({
        subscriptionId: 'NEW',
        watermark: 'WA',
        adoptedFrom: 'W0',
        recoveryWatermark: 'WBEFORE',
      });
    });

    it('never advances a removed record or a missing one', async () => {
      const record = await given();
      await table().markRemoved(record.mailboxKey, 2_000);
      const update = {
        ...at(record),
        subscriptionId: 'S3',
        expect: { kind: 'subscription' } as const,
        watermark: 'W2',
        contactAt: 3_000,
      };
      expect(await table().advance(update)).toBe(false);
      expect(await table().advance({ ...update, mailboxKey: mailboxKeyOf('nobody@contoso.test') })).toBe(
        false,
      );
    });
  });

  describe('the lifecycle', () => {
    it('begins a renewal once per generation, dropping the SubscriptionId and the retry time', async () => {
      const record = await given({ nextAttemptAt: 1, renewalQueuedAt: 1 });
      const begin = {
        mailboxKey: record.mailboxKey,
        fromGeneration: 3,
        toGeneration: 4,
        state: 'renewing' as const,
        now: 2_000,
      };
      expect(await table().beginRenewal(begin)).toBe(true);
      expect(await table().beginRenewal(begin)).toBe(false);
      const renewing = await table().get(record.mailboxKey);
      expect(renewing).toMatchObject({ generation: 4, state: 'renewing', updatedAt: 2_000, watermark: 'W1' });
      expect(renewing?.subscriptionId).toBeUndefined();
      expect(renewing?.nextAttemptAt).toBeUndefined();
      expect(renewing?.renewalQueuedAt).toBeUndefined();
      expect(await table().holdClaim({ mailboxKey: record.mailboxKey, generation: 3, now: 3_000 })).toBe(
        false,
      );
      expect(await table().holdClaim({ mailboxKey: record.mailboxKey, generation: 4, now: 3_000 })).toBe(
        true,
      );
    });

    it('completes a renewal with the answer, or keeps the watermark of an adopted subscription', async () => {
      const fresh = await given({
        lastError: 'x',
        attempts: 2,
        firstFailureAt: 1,
        recovery: 'gap',
        recoveryWatermark: 'W0',
      });
      await table().beginRenewal({
        mailboxKey: fresh.mailboxKey,
        fromGeneration: 3,
        toGeneration: 4,
        state: 'renewing',
        now: 2_000,
      });
      const complete = {
        mailboxKey: fresh.mailboxKey,
        generation: 4,
        subscriptionId: 'S4',
        watermark: 'WS',
        now: 3_000,
        syncWork: 'catchUp' as const,
        syncReason: 'watermarkRejected' as const,
      };
      expect(await table().completeRenewal({ ...complete, generation: 3 })).toBe(false);
      expect(await table().completeRenewal(complete)).toBe(true);
      const done = await table().get(fresh.mailboxKey);
      expect(done).toMatchObject({
        state: 'active',
        subscriptionId: 'S4',
        watermark: 'WS',
        lastContactAt: 3_000,
        attempts: 0,
        syncWork: 'catchUp',
        syncReason: 'watermarkRejected',
      });
      for (const gone of ['lastError', 'firstFailureAt', 'recovery', 'recoveryWatermark'] as const)
        expect(done?.[gone]).toBeUndefined();
      // Another subscription completing on the same generation is refused.
      expect(await table().completeRenewal({ ...complete, subscriptionId: 'S5' })).toBe(false);

      const adopted = await given();
      await renewAndAdopt(adopted.mailboxKey, 'WS');
      expect(
        await table().completeRenewal({
          ...complete,
          mailboxKey: adopted.mailboxKey,
          syncWork: undefined,
          syncReason: undefined,
        }),
      ).toBe(true);
      const settled = await table().get(adopted.mailboxKey);
      expect(settled).toMatchObject({
        state: 'active',
        subscriptionId: 'S4',
        watermark: 'WPUSH',
        lastContactAt: 2_500,
      });
      for (const gone of ['adoptedFrom', 'recovery', 'recoveryWatermark'] as const)
        expect(settled?.[gone]).toBeUndefined();
    });

    it("completes a renewal adopted from a PreviousWatermark past the answer's as a gap: recovery from the answer's watermark", async () => {
      const adopted = await given({ recovery: 'dead', recoveryWatermark: 'WOLD', recoveryAt: 1_500 });
      await renewAndAdopt(adopted.mailboxKey, 'WSKIPPED');
      expect(
        await table().completeRenewal({
          mailboxKey: adopted.mailboxKey,
          generation: 4,
          subscriptionId: 'S4',
          watermark: 'WS',
          now: 3_000,
          syncWork: undefined,
          syncReason: undefined,
        }),
      ).toBe(true);
      const done = await table().get(adopted.mailboxKey);
      expect(done).toMatchObject({
        state: 'active',
        subscriptionId: 'S4',
        watermark: 'WPUSH',
        recovery: 'gap',
        recoveryWatermark: 'WS',
        recoveryAt: 3_000,
      });
      expect(done?.adoptedFrom).toBeUndefined();
    });

    describe('a recovery request made on the new generation (after the renewal began) survives completing it', () => {
      /** The adopted S4 (at WPUSH) asks for recovery, as the receiver does for a gap or an error push. */
      const requestOnS4 = async (
        mailboxKey: SubscriptionRecord['mailboxKey'],
        reason: 'gap' | 'dead',
      ): Promise<void> => {
        expect(
          await table().advance({
            mailboxKey,
            generation: 4,
            subscriptionId: 'S4',
            expect: { kind: 'watermark', watermark: 'WPUSH' },
            watermark: 'WLATER',
            contactAt: 2_700,
            recovery: { reason, watermark: 'WPUSH' },
          }),
        ).toBe(true);
      };
      const complete = (mailboxKey: SubscriptionRecord['mailboxKey']) =>
        table().completeRenewal({
          mailboxKey,
          generation: 4,
          subscriptionId: 'S4',
          watermark: 'WS',
          now: 3_000,
          syncWork: undefined,
          syncReason: undefined,
        });

      it('in order after a gap led to the renewal: the first request is kept, marked with the new generation', async () => {
        const record = await given({
          recovery: 'gap',
          recoveryWatermark: 'W0',
          recoveryAt: 1_500,
          recoveryGeneration: 3,
        });
        await renewAndAdopt(record.mailboxKey, 'WS');
        await requestOnS4(record.mailboxKey, 'gap');
        expect(await complete(record.mailboxKey)).toBe(true);
        const done = await table().get(record.mailboxKey);
        expect(done).toMatchObject({
          state: 'active',
          subscriptionId: 'S4',
          watermark: 'WLATER',
          recovery: 'gap',
          recoveryWatermark: 'W0',
          recoveryAt: 1_500,
          recoveryGeneration: 4,
        });
        expect(done?.adoptedFrom).toBeUndefined();
      });

      it('in order after a silent subscription: an error push on the new one is kept, from the watermark before the adoption', async () => {
        const record = await given();
        await renewAndAdopt(record.mailboxKey, 'WS');
        await requestOnS4(record.mailboxKey, 'dead');
        expect(await complete(record.mailboxKey)).toBe(true);
        expect(await table().get(record.mailboxKey)).toMatchObject({
          state: 'active',
          recovery: 'dead',
          recoveryWatermark: 'W6',
          recoveryAt: 2_700,
          recoveryGeneration: 4,
        });
      });

      it("adopted past the answer's watermark as well: one gap, from the answer's watermark", async () => {
        const record = await given({ recovery: 'gap', recoveryWatermark: 'W0', recoveryGeneration: 3 });
        await renewAndAdopt(record.mailboxKey, 'WSKIPPED');
        await requestOnS4(record.mailboxKey, 'gap');
        expect(await complete(record.mailboxKey)).toBe(true);
        expect(await table().get(record.mailboxKey)).toMatchObject({
          state: 'active',
          recovery: 'gap',
          recoveryWatermark: 'WS',
          recoveryAt: 3_000,
          recoveryGeneration: 4,
        });
      });

      it('a request made before the renewal is cleared, with or without its generation (records of older code)', async () => {
        for (const recoveryGeneration of [3, undefined]) {
          const record = await given({
            recovery: 'gap',
            recoveryWatermark: 'W0',
            recoveryAt: 1_500,
            ...(recoveryGeneration === undefined ? {} : { recoveryGeneration }),
          });
          await renewAndAdopt(record.mailboxKey, 'WS');
          expect(await complete(record.mailboxKey)).toBe(true);
          const done = await table().get(record.mailboxKey);
          expect(done?.state).toBe('active');
          for (const gone of ['recovery', 'recoveryWatermark', 'recoveryAt', 'recoveryGeneration'] as const)
            expect(done?.[gone]).toBeUndefined();
        }
      });
    });

    it('records failures: the first failure time and the lost time are kept from the first time', async () => {
      const record = await given({ renewalQueuedAt: 5 });
      const failure = {
        ...at(record),
        state: 'renewing' as const,
        error: 'e'.repeat(1_500),
        attempts: 1,
        nextAttemptAt: 9_000,
        firstFailureAt: 2_000,
        lost: false,
        now: 2_000,
      };
      expect(await table().recordFailure(failure)).toBe(true);
      expect(
        await table().recordFailure({
          ...failure,
          attempts: 5,
          firstFailureAt: 4_000,
          lost: true,
          state: 'lost',
          now: 4_000,
        }),
      ).toBe(true);
      expect(
        await table().recordFailure({ ...failure, attempts: 6, lost: true, state: 'lost', now: 5_000 }),
      ).toBe(true);
      const stored = await table().get(record.mailboxKey);
      expect(stored).toMatchObject({
        state: 'lost',
        attempts: 6,
        firstFailureAt: 2_000,
        lostAt: 4_000,
        updatedAt: 5_000,
      });
      expect(stored?.lastError).toHaveLength(1_000);
      expect(stored?.renewalQueuedAt).toBeUndefined();
      expect(await table().recordFailure({ ...failure, generation: 2 })).toBe(false);
    });

    it('finishes or defers an owed synchronization at its generation', async () => {
      const record = await given({
        syncWork: 'catchUp',
        syncReason: 'watermarkExpired',
        nextAttemptAt: 1,
        renewalQueuedAt: 1,
      });
      expect(
        await table().deferSync({ ...at(record), error: 'busy', nextAttemptAt: 7_000, now: 2_000 }),
      ).toBe(true);
      expect(await table().get(record.mailboxKey)).toMatchObject({
        lastError: 'busy',
        nextAttemptAt: 7_000,
        syncWork: 'catchUp',
      });
      expect(await table().finishSync({ ...at(record), generation: 2, checkpointDueAt: 9, now: 3_000 })).toBe(
        false,
      );
      expect(await table().finishSync({ ...at(record), checkpointDueAt: 99_000, now: 3_000 })).toBe(true);
      const done = await table().get(record.mailboxKey);
      expect(done).toMatchObject({ checkpointDueAt: 99_000, updatedAt: 3_000 });
      for (const gone of ['syncWork', 'syncReason', 'nextAttemptAt', 'lastError', 'renewalQueuedAt'] as const)
        expect(done?.[gone]).toBeUndefined();
    });

    it('claims a checkpoint once per due time, only while active', async () => {
      const record = await given({ checkpointDueAt: 5_000 });
      const claim = { ...at(record), dueAt: 5_000, leaseUntil: 20_000, now: 6_000 };
      expect(await table().claimCheckpoint({ ...claim, dueAt: 4_000 })).toBe(false);
      expect(await table().claimCheckpoint(claim)).toBe(true);
      expect(await table().claimCheckpoint(claim)).toBe(false);
      expect((await table().get(record.mailboxKey))?.checkpointDueAt).toBe(20_000);
      expect(await table().scheduleCheckpoint({ ...at(record), dueAt: 30_000, now: 7_000 })).toBe(true);
      expect(await table().claimCheckpoint({ ...claim, dueAt: 30_000 })).toBe(true);

      const never = await given();
      expect(await table().claimCheckpoint({ ...at(never), dueAt: undefined, leaseUntil: 1, now: 1 })).toBe(
        true,
      );
      const renewing = await given({ state: 'renewing', checkpointDueAt: 1 });
      expect(await table().claimCheckpoint({ ...at(renewing), dueAt: 1, leaseUntil: 2, now: 1 })).toBe(false);
    });
  });

  describe('the sweep', () => {
    it('scans every record and marks work queued at its generation', async () => {
      const a = await given();
      const b = await given({ state: 'lost' });
      const seen = new Map<string, SubscriptionRecord>();
      for await (const record of table().scan()) seen.set(record.mailboxKey, record);
      expect(seen.get(a.mailboxKey)).toEqual(a);
      expect(seen.get(b.mailboxKey)).toEqual(b);
      const listed: string[] = [];
      for await (const record of table().list()) listed.push(record.mailboxKey);
      expect(listed).toEqual(expect.arrayContaining([a.mailboxKey, b.mailboxKey]));
      expect(await table().markQueued(a.mailboxKey, 2, 5_000)).toBe(false);
      expect(await table().markQueued(a.mailboxKey, 3, 5_000)).toBe(true);
      expect((await table().get(a.mailboxKey))?.renewalQueuedAt).toBe(5_000);
      expect(await table().clearQueued(a.mailboxKey, 3)).toBe(true);
      expect((await table().get(a.mailboxKey))?.renewalQueuedAt).toBeUndefined();
    });
  });

  describe('Graph mailboxes', () => {
    const graphRecord = (): Partial<SubscriptionRecord> => ({
      source: 'graph',
      graph: {
        userId: 'ada@contoso.com',
        messages: { generation: 2, subscriptionId: 'SM2', expiresAt: 9_000 },
      },
      statusFrequency: 0,
    });
    const graphGiven = async () => {
      const record = activeRecord(graphRecord());
      const { subscriptionId: _s, watermark: _w, lastContactAt: _l, ...rest } = record;
      expect(await table().create(rest, undefined)).toBe(true);
      return rest;
    };

    it('adds lifecycle work as sets (repeats add nothing), and not to a removed or missing record', async () => {
      const record = await graphGiven();
      const request = {
        work: [
          { resource: 'messages' as const, work: 'recreate' as const },
          { resource: 'events' as const, work: 'catchUp' as const },
        ],
        obsolete: ['SM1'],
      };
      await table().requestGraphWork(record.mailboxKey, request);
      await table().requestGraphWork(record.mailboxKey, request);
      await table().requestGraphWork(record.mailboxKey, {
        work: [{ resource: 'messages', work: 'catchUp' }],
        obsolete: [],
      });
      const stored = await table().get(record.mailboxKey);
      expect(stored?.graphWork?.messages ? [...stored.graphWork.messages].sort() : []).toEqual([
        'catchUp',
        'recreate',
      ]);
      expect(stored?.graphWork?.events).toEqual(['catchUp']);
      expect(stored?.graphObsolete).toEqual(['SM1']);
      const nobody = mailboxKeyOf(`nobody-${Math.random()}@contoso.test`);
      await table().requestGraphWork(nobody, request);
      expect(await table().get(nobody)).toBeUndefined();
    });

    it("pins the Graph user's object id once: a repeat passes, another id does not, nor a removed or EWS record", async () => {
      const record = await graphGiven();
      expect(await table().pinGraphUser(record.mailboxKey, 'U-1')).toBe(true);
      expect(await table().pinGraphUser(record.mailboxKey, 'U-1')).toBe(true);
      expect(await table().pinGraphUser(record.mailboxKey, 'U-2')).toBe(false);
      const stored = await table().get(record.mailboxKey);
      expect(stored?.graph).toMatchObject({ userId: 'ada@contoso.com', objectId: 'U-1' });
      expect(stored?.graph?.messages).toMatchObject({ subscriptionId: 'SM2' });

      const removed = await graphGiven();
      expect(await table().markRemoved(removed.mailboxKey, 5)).toBe(true);
      expect(await table().pinGraphUser(removed.mailboxKey, 'U-1')).toBe(false);
      const ews = activeRecord();
      expect(await table().create(ews, undefined)).toBe(true);
      expect(await table().pinGraphUser(ews.mailboxKey, 'U-1')).toBe(false);
      const nobody = mailboxKeyOf(`nobody-${Math.random()}@contoso.test`);
      expect(await table().pinGraphUser(nobody, 'U-1')).toBe(false);
      expect(await table().get(nobody)).toBeUndefined();
    });

    it('writes a subscription at the generation read (moving it on), and settles removing only the work done', async () => {
      const record = await graphGiven();
      await table().requestGraphWork(record.mailboxKey, {
        work: [
          { resource: 'messages', work: 'recreate' },
          { resource: 'events', work: 'reauthorize' },
        ],
        obsolete: ['OLD'],
      });
      const put = (generation: number, toGeneration?: number) =>
        table().putGraphSubscription({
          mailboxKey: record.mailboxKey,
          generation,
          ...(toGeneration === undefined ? {} : { toGeneration }),
          resource: 'messages',
          subscription: { generation: 4, subscriptionId: 'SM4', expiresAt: 20_000, lastRenewedAt: 7 },
          now: 8,
        });
      expect(await put(2, 4)).toBe(false);
      expect(await put(3, 4)).toBe(true);
      const moved = await table().get(record.mailboxKey);
      expect(moved?.generation).toBe(4);
      expect(moved?.graph?.messages).toEqual({
        generation: 4,
        subscriptionId: 'SM4',
        expiresAt: 20_000,
        lastRenewedAt: 7,
      });
      expect(moved?.graph?.userId).toBe('ada@contoso.com');
      expect(
        await table().settleGraph({
          mailboxKey: record.mailboxKey,
          generation: 3,
          now: 9,
          doneWork: { messages: ['recreate'] },
          doneObsolete: ['OLD'],
          workRequestsSeen: 1,
        }),
      ).toBe(false);
      expect(
        await table().settleGraph({
          mailboxKey: record.mailboxKey,
          generation: 4,
          now: 9,
          doneWork: { messages: ['recreate'] },
          doneObsolete: ['OLD'],
          workRequestsSeen: 1,
        }),
      ).toBe(true);
      const settled = await table().get(record.mailboxKey);
      expect(settled).toMatchObject({ state: 'active', attempts: 0, updatedAt: 9 });
      expect(settled?.graphWork).toEqual({ events: ['reauthorize'] });
      expect(settled?.graphObsolete).toBeUndefined();
    });

    it('settles leaving the work owed when a request came after the job read the record (the set alone would hide a repeat)', async () => {
      const record = await graphGiven();
      const request = () =>
        table().requestGraphWork(record.mailboxKey, {
          work: [{ resource: 'messages', work: 'recreate' }],
          obsolete: [],
        });
      await request();
      const read = await table().get(record.mailboxKey);
      expect(read?.graphWorkRequests).toBe(1);
      // The job recreates; meanwhile the new subscription is removed too: the same work, again.
      await request();
      const settle = (seen: number | undefined) =>
        table().settleGraph({
          mailboxKey: record.mailboxKey,
          generation: record.generation,
          now: 9,
          doneWork: { messages: ['recreate'] },
          doneObsolete: [],
          workRequestsSeen: seen,
        });
      expect(await settle(read?.graphWorkRequests)).toBe(true);
      const settled = await table().get(record.mailboxKey);
      expect(settled).toMatchObject({ state: 'active', graphWorkRequests: 2 });
      expect(settled?.graphWork).toEqual({ messages: ['recreate'] });
      // The next job read it all: its settle removes it.
      expect(await settle(settled?.graphWorkRequests)).toBe(true);
      expect((await table().get(record.mailboxKey))?.graphWork).toBeUndefined();
    });

    it('migrates an EWS record to Graph at the generation read, once, keeping its EWS subscription', async () => {
      const record = await given();
      const args = {
        mailboxKey: record.mailboxKey,
        connection: 'contoso-graph',
        graph: { userId: record.mailbox },
        now: 7_000,
      };
      expect(await table().migrateToGraph({ ...args, generation: 2 })).toBe(false);
      expect(await table().migrateToGraph({ ...args, generation: 3 })).toBe(true);
      expect(await table().migrateToGraph({ ...args, generation: 3 })).toBe(false);
      expect(await table().get(record.mailboxKey)).toMatchObject({
        source: 'graph',
        connection: 'contoso-graph',
        graph: { userId: record.mailbox },
        eventTypes: ['CreatedEvent', 'ModifiedEvent', 'DeletedEvent'],
        syncWork: 'baseline',
        nextAttemptAt: 7_000,
        subscriptionId: 'S3',
        watermark: 'W1',
        generation: 3,
      });
    });
  });
}
