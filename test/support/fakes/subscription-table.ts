/**
 * The subscription table in memory: every port DynamoSubscriptionStore implements (the receiver's
 * SubscriptionStore, mailbox management's MailboxRecords, the renewer's LifecycleStore, the
 * sweeper's RecordScan), with the same conditions. A write whose condition fails answers false,
 * as the adapter maps DynamoDB's ConditionalCheckFailedException; an update of a missing record
 * fails its condition (every condition names an attribute a missing item lacks). Kept honest by
 * test/contract/subscription-table.contract.ts, which runs against both.
 */
import type { MailboxRecords } from '../../../functions/admin/manage.ts';
import {
  GRAPH_EVENT_TYPES,
  type GraphResourceKind,
  type GraphWork,
} from '../../../functions/domain/graph-mailbox.ts';
import type { MailboxKey } from '../../../functions/domain/mailbox-key.ts';
import type { SubscriptionRecord } from '../../../functions/domain/subscription.ts';
import type { GraphWorkRequest } from '../../../functions/receiver/graph-receive.ts';
import type { AdvanceUpdate, SubscriptionStore } from '../../../functions/receiver/receive.ts';
import type { ClaimCheckpoint } from '../../../functions/renewer/checkpoint.ts';
import type { GraphLifecycleStore } from '../../../functions/renewer/graph-lifecycle.ts';
import type {
  AtGeneration,
  BeginRenewal,
  CompleteRenewal,
  LifecycleStore,
  RenewalFailure,
} from '../../../functions/renewer/job.ts';
import type { RecordScan } from '../../../functions/sweeper/sweep.ts';
import { Failures } from './failures.ts';

type Item = { -readonly [K in keyof SubscriptionRecord]?: SubscriptionRecord[K] };

const FAILURE_ATTRIBUTES = ['lastError', 'nextAttemptAt', 'firstFailureAt', 'lostAt'] as const;
const RECOVERY_ATTRIBUTES = ['recovery', 'recoveryWatermark', 'recoveryAt', 'recoveryGeneration'] as const;

/** What DynamoDB stores: no attribute with an undefined value (removeUndefinedValues). */
function stored(record: SubscriptionRecord): Item {
  const item: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(structuredClone(record)))
    if (value !== undefined) item[key] = value;
  return item;
}

function set(item: Item, attributes: { [K in keyof Item]?: Item[K] | undefined }): void {
  for (const [key, value] of Object.entries(attributes))
    if (value !== undefined) Reflect.set(item, key, value);
}

function remove(item: Item, ...attributes: readonly (keyof SubscriptionRecord)[]): void {
  for (const attribute of attributes) delete item[attribute];
}

export type SubscriptionTableOperation =
  | 'get'
  | 'advance'
  | 'create'
  | 'markRemoved'
  | 'scan'
  | 'update'
  | 'requestGraphWork'
  | 'pinGraphUser';

export class FakeSubscriptionTable implements SubscriptionStore, MailboxRecords, LifecycleStore, RecordScan {
  readonly #items = new Map<MailboxKey, Item>();
  readonly failures = new Failures<SubscriptionTableOperation>();
  /** Every write applied or refused, in order: `${operation} ${applied}`. */
  readonly writes: string[] = [];

  // ---- for tests: given … ----------------------------------------------------------------------

  /** Stores the record as it is (a test's "given"). */
  put(record: SubscriptionRecord): void {
    this.#items.set(record.mailboxKey, stored(record));
  }

  /** The stored record, read without going through a port. */
  peek(mailboxKey: MailboxKey): SubscriptionRecord | undefined {
    const item = this.#items.get(mailboxKey);
    return item === undefined ? undefined : this.#read(item);
  }

  // ---- reads -------------------------------------------------------------------------------------

  async get(mailboxKey: MailboxKey): Promise<SubscriptionRecord | undefined> {
    this.failures.check('get');
    return this.peek(mailboxKey);
  }

  async *scan(): AsyncIterable<SubscriptionRecord> {
    this.failures.check('scan');
    for (const item of [...this.#items.values()]) yield this.#read(item);
  }

  list(): AsyncIterable<SubscriptionRecord> {
    return this.scan();
  }

  // ---- the receiver ------------------------------------------------------------------------------

  async advance(update: AdvanceUpdate): Promise<boolean> {
    this.failures.check('advance');
    return this.#update('advance', update.mailboxKey, update.generation, (item) => {
      const { expect } = update;
      if (expect.kind === 'adoption') {
        if (item.subscriptionId !== undefined) return false;
      } else if (item.subscriptionId !== update.subscriptionId) return false;
      if (expect.kind === 'watermark' && item.watermark !== expect.watermark) return false;
      return () => {
        set(item, {
          lastContactAt: update.contactAt,
          updatedAt: update.contactAt,
          ...(update.watermark === null ? {} : { watermark: update.watermark }),
          ...(expect.kind === 'adoption' ? { subscriptionId: update.subscriptionId } : {}),
          ...(expect.kind === 'adoption' && expect.previousWatermark !== null
            ? { adoptedFrom: expect.previousWatermark }
            : {}),
        });
        if (expect.kind === 'adoption' && expect.unconfirmedFallback !== undefined)
          item.recoveryWatermark ??= expect.unconfirmedFallback;
        if (update.drained) item.drainedAt = update.contactAt;
        if (update.recovery) {
          // The first request wins (if_not_exists, attribute by attribute).
          item.recovery ??= update.recovery.reason;
          item.recoveryAt ??= update.contactAt;
          if (update.recovery.watermark !== undefined) item.recoveryWatermark ??= update.recovery.watermark;
          // The latest request's generation (a plain SET): a renewal of this generation keeps it.
          item.recoveryGeneration = update.generation;
        }
      };
    });
  }

  async pinGraphUser(mailboxKey: MailboxKey, objectId: string): Promise<boolean> {
    this.failures.check('pinGraphUser');
    const item = this.#items.get(mailboxKey);
    const applies =
      item !== undefined &&
      item.source === 'graph' &&
      item.graph !== undefined &&
      item.state !== 'removed' &&
      (item.graph.objectId === undefined || item.graph.objectId === objectId);
    this.writes.push(`pinGraphUser ${applies}`);
    if (applies && item?.graph !== undefined) item.graph = { ...item.graph, objectId };
    return applies;
  }

  async requestGraphWork(mailboxKey: MailboxKey, request: GraphWorkRequest): Promise<void> {
    this.failures.check('requestGraphWork');
    const item = this.#items.get(mailboxKey);
    const applies = item !== undefined && item.state !== 'removed';
    this.writes.push(`requestGraphWork ${applies}`);
    if (!applies) return;
    // Set union, as DynamoDB's ADD on a string set.
    const work: Partial<Record<GraphResourceKind, GraphWork[]>> = {};
    for (const [resource, list] of Object.entries(item.graphWork ?? {}))
      if (resource === 'messages' || resource === 'events') work[resource] = [...list];
    for (const { resource, work: w } of request.work) {
      const list = work[resource] ?? [];
      if (!list.includes(w)) list.push(w);
      work[resource] = list;
    }
    if (Object.keys(work).length > 0) item.graphWork = work;
    if (request.work.length > 0) item.graphWorkRequests = (item.graphWorkRequests ?? 0) + 1;
    const obsolete = new Set([...(item.graphObsolete ?? []), ...request.obsolete]);
    if (obsolete.size > 0) item.graphObsolete = [...obsolete];
  }

  async migrateToGraph(args: Parameters<MailboxRecords['migrateToGraph']>[0]): Promise<boolean> {
    return this.#update('migrateToGraph', args.mailboxKey, args.generation, (item) => {
      if (item.source === 'graph') return false;
      return () => {
        set(item, {
          source: 'graph',
          connection: args.connection,
          graph: structuredClone(args.graph),
          eventTypes: [...GRAPH_EVENT_TYPES],
          syncWork: 'baseline',
          nextAttemptAt: args.now,
          updatedAt: args.now,
        });
        remove(item, 'syncReason', 'checkpointDueAt', 'renewalQueuedAt');
      };
    });
  }

  // ---- the Graph lifecycle -----------------------------------------------------------------------

  async putGraphSubscription(
    args: Parameters<GraphLifecycleStore['putGraphSubscription']>[0],
  ): Promise<boolean> {
    return this.#update('putGraphSubscription', args.mailboxKey, args.generation, (item) => {
      if (item.source !== 'graph' || item.graph === undefined) return false;
      return () => {
        item.graph = {
          ...(item.graph ?? { userId: '' }),
          [args.resource]: structuredClone(args.subscription),
        };
        item.updatedAt = args.now;
        if (args.toGeneration !== undefined) item.generation = args.toGeneration;
        delete item.renewalQueuedAt;
      };
    });
  }

  async settleGraph(args: Parameters<GraphLifecycleStore['settleGraph']>[0]): Promise<boolean> {
    return this.#update('settleGraph', args.mailboxKey, args.generation, (item) => () => {
      set(item, { state: 'active', attempts: 0, updatedAt: args.now });
      if (args.checkpointDueAt !== undefined) set(item, { checkpointDueAt: args.checkpointDueAt });
      remove(item, ...FAILURE_ATTRIBUTES, 'renewalQueuedAt', 'syncWork', 'syncReason');
      // The work done is removed only if no request came since the job read the record (the adapter's condition).
      const removeWork = item.graphWorkRequests === args.workRequestsSeen;
      // DynamoDB's DELETE from a string set; an emptied set disappears.
      const work: Partial<Record<GraphResourceKind, GraphWork[]>> = {};
      for (const [resource, list] of Object.entries(item.graphWork ?? {})) {
        if (resource !== 'messages' && resource !== 'events') continue;
        const left = removeWork
          ? list.filter((w) => !(args.doneWork[resource] ?? []).includes(w))
          : [...list];
        if (left.length > 0) work[resource] = left;
      }
      if (Object.keys(work).length > 0) item.graphWork = work;
      else delete item.graphWork;
      const obsolete = (item.graphObsolete ?? []).filter((id) => !args.doneObsolete.includes(id));
      if (obsolete.length > 0) item.graphObsolete = obsolete;
      else delete item.graphObsolete;
    });
  }

  // ---- managing mailboxes ------------------------------------------------------------------------

  async create(
    record: SubscriptionRecord,
    expectedPrevious: SubscriptionRecord | undefined,
  ): Promise<boolean> {
    this.failures.check('create');
    const existing = this.#items.get(record.mailboxKey);
    const applies =
      expectedPrevious === undefined
        ? existing === undefined
        : existing?.state === 'removed' && existing.generation === expectedPrevious.generation;
    this.writes.push(`create ${applies}`);
    if (applies) this.#items.set(record.mailboxKey, stored(record));
    return applies;
  }

  async markRemoved(mailboxKey: MailboxKey, now: number): Promise<boolean> {
    this.failures.check('markRemoved');
    const item = this.#items.get(mailboxKey);
    const applies = item !== undefined && item.state !== 'removed';
    this.writes.push(`markRemoved ${applies}`);
    if (item !== undefined && applies) {
      set(item, { state: 'removed', updatedAt: now });
      remove(item, 'nextAttemptAt', 'renewalQueuedAt', 'syncWork', 'syncReason', ...RECOVERY_ATTRIBUTES);
    }
    return applies;
  }

  // ---- the lifecycle -----------------------------------------------------------------------------

  async markQueued(mailboxKey: MailboxKey, generation: number, now: number): Promise<boolean> {
    return this.#update(
      'markQueued',
      mailboxKey,
      generation,
      (item) => () => set(item, { renewalQueuedAt: now }),
    );
  }

  async clearQueued(mailboxKey: MailboxKey, generation: number): Promise<boolean> {
    return this.#update(
      'clearQueued',
      mailboxKey,
      generation,
      (item) => () => remove(item, 'renewalQueuedAt'),
    );
  }

  async beginRenewal(args: BeginRenewal): Promise<boolean> {
    return this.#update('beginRenewal', args.mailboxKey, args.fromGeneration, (item) => () => {
      set(item, { generation: args.toGeneration, state: args.state, updatedAt: args.now });
      remove(item, 'subscriptionId', 'adoptedFrom', 'renewalQueuedAt', 'nextAttemptAt');
    });
  }

  async holdClaim(args: AtGeneration): Promise<boolean> {
    return this.#update(
      'holdClaim',
      args.mailboxKey,
      args.generation,
      (item) => () => set(item, { updatedAt: args.now }),
    );
  }

  async completeRenewal(args: CompleteRenewal): Promise<boolean> {
    return this.#update('completeRenewal', args.mailboxKey, args.generation, (item) => {
      const adopted = item.subscriptionId !== undefined;
      if (adopted && item.subscriptionId !== args.subscriptionId) return false;
      // Recovery requested on this generation: by the new subscription, after the renewal began.
      const requestedSince = item.recoveryGeneration === args.generation;
      // Only an adopted subscription can have asked (the adapter finds no write that applies).
      if (requestedSince && !adopted) return false;
      return () => {
        set(item, {
          state: 'active',
          attempts: 0,
          updatedAt: args.now,
          syncWork: args.syncWork,
          syncReason: args.syncReason,
        });
        // Adopted from a PreviousWatermark past the answer's: a notification was missed before it.
        const gap = adopted && item.adoptedFrom !== undefined && item.adoptedFrom !== args.watermark;
        remove(item, ...FAILURE_ATTRIBUTES, 'adoptedFrom', 'renewalQueuedAt');
        // The request that led here is done with (Subscribe resumed from its watermark); one made
        // on this generation is kept; a gap asks for the next renewal from the answer's watermark.
        if (!requestedSince && !gap) remove(item, ...RECOVERY_ATTRIBUTES);
        if (gap)
          set(item, {
            recovery: 'gap',
            recoveryWatermark: args.watermark,
            recoveryAt: args.now,
            recoveryGeneration: args.generation,
          });
        if (args.syncWork === undefined) remove(item, 'syncWork', 'syncReason');
        // Adopted by the receiver: its watermark is newer than the answer's.
        if (!adopted)
          set(item, {
            subscriptionId: args.subscriptionId,
            watermark: args.watermark,
            lastContactAt: args.now,
          });
      };
    });
  }

  async recordFailure(args: RenewalFailure): Promise<boolean> {
    return this.#update('recordFailure', args.mailboxKey, args.generation, (item) => () => {
      set(item, {
        lastError: args.error.slice(0, 1000),
        attempts: args.attempts,
        nextAttemptAt: args.nextAttemptAt,
        updatedAt: args.now,
        state: args.state,
      });
      if (args.firstFailureAt !== undefined) item.firstFailureAt ??= args.firstFailureAt;
      if (args.lost) item.lostAt ??= args.now;
      remove(item, 'renewalQueuedAt');
    });
  }

  async finishSync(args: AtGeneration & { readonly checkpointDueAt: number }): Promise<boolean> {
    return this.#update('finishSync', args.mailboxKey, args.generation, (item) => () => {
      set(item, { updatedAt: args.now, checkpointDueAt: args.checkpointDueAt });
      remove(item, 'syncWork', 'syncReason', 'nextAttemptAt', 'lastError', 'renewalQueuedAt');
    });
  }

  async deferSync(
    args: AtGeneration & { readonly error: string; readonly nextAttemptAt: number },
  ): Promise<boolean> {
    return this.#update('deferSync', args.mailboxKey, args.generation, (item) => () => {
      set(item, {
        lastError: args.error.slice(0, 1000),
        nextAttemptAt: args.nextAttemptAt,
        updatedAt: args.now,
      });
      remove(item, 'renewalQueuedAt');
    });
  }

  async claimCheckpoint(args: ClaimCheckpoint): Promise<boolean> {
    return this.#update('claimCheckpoint', args.mailboxKey, args.generation, (item) => {
      if (item.state !== 'active' || item.checkpointDueAt !== args.dueAt) return false;
      return () => {
        set(item, { checkpointDueAt: args.leaseUntil });
        remove(item, 'renewalQueuedAt');
      };
    });
  }

  async scheduleCheckpoint(args: AtGeneration & { readonly dueAt: number }): Promise<boolean> {
    return this.#update(
      'scheduleCheckpoint',
      args.mailboxKey,
      args.generation,
      (item) => () => set(item, { checkpointDueAt: args.dueAt }),
    );
  }

  /**
   * A lifecycle write: the record must exist, be at `generation` and not be removed (the adapter's
   * `atGeneration`), and pass `condition`, which returns the change to apply or false.
   */
  #update(
    operation: string,
    mailboxKey: MailboxKey,
    generation: number,
    condition: (item: Item) => false | (() => void),
  ): boolean {
    this.failures.check('update');
    const item = this.#items.get(mailboxKey);
    const change =
      item !== undefined && item.generation === generation && item.state !== 'removed' && condition(item);
    this.writes.push(`${operation} ${change !== false}`);
    if (change === false) return false;
    change();
    return true;
  }

  #read(item: Item): SubscriptionRecord {
    const copy = structuredClone(item);
    // Attributes absent from older items read as the adapter reads them.
    return { attempts: 0, ...copy } as SubscriptionRecord;
  }
}
