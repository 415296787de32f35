/**
 * A mailbox's events table, which push subscriptions read from, and the watermarks that name
 * positions in it (ews-protocol.md §3.1 "Watermark").
 *
 * Every event gets its own watermark. A watermark resumes a subscription after its event; it stops
 * being accepted (ErrorInvalidWatermark) when it is older than 30 days, when events after it were
 * purged, when it is unknown or belongs to another mailbox, or after the mailbox moved to another
 * database.
 */
import { err, ok, type Result } from '../functions/core/result.ts';
import type { SubscribableEventType } from '../functions/ews/subscribe.ts';
import { ID_KIND, type IdMinter } from './random.ts';

/** Events older than this are purged, and watermarks older than this are refused (MSDOCS watermark.md). */
export const EVENT_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

/** One row of the mailbox events table: what a notification event is built from. */
export interface MailboxEvent {
  /** Position in the mailbox's event sequence (1, 2, …; never reused, also across moves). */
  readonly seq: number;
  readonly type: SubscribableEventType;
  readonly watermark: string;
  readonly timeStamp: number;
  readonly itemId: string | null;
  readonly itemChangeKey: string | null;
  readonly folderId: string | null;
  readonly parentFolderId: string;
  readonly oldItemId: string | null;
  readonly oldParentFolderId: string | null;
  readonly unreadCount: number | null;
}

/** An event before it has its place in the table. */
export type NewEvent = Omit<MailboxEvent, 'seq' | 'watermark' | 'timeStamp'>;

/** Which events a subscription wants: its event types and folders ('all' = SubscribeToAllFolders). */
export interface EventFilter {
  readonly eventTypes: ReadonlySet<SubscribableEventType>;
  readonly folderIds: ReadonlySet<string> | 'all';
}

/**
 * Whether a subscription's filter passes an event: its ParentFolderId or, for a MovedEvent or
 * CopiedEvent, its OldParentFolderId is one of the folders, so a subscription on the source folder
 * hears that an item left it or was copied from it. Microsoft does not say which folder a
 * Moved/CopiedEvent is filtered by; this is the reading under which a folder's subscriber misses
 * nothing that concerns the folder.
 */
export function matchesFilter(event: MailboxEvent, filter: EventFilter): boolean {
  if (!filter.eventTypes.has(event.type)) return false;
  if (filter.folderIds === 'all') return true;
  const folders = filter.folderIds;
  return (
    folders.has(event.parentFolderId) ||
    (event.folderId !== null && folders.has(event.folderId)) ||
    (event.oldParentFolderId !== null && folders.has(event.oldParentFolderId))
  );
}

/** Why a watermark is refused; every reason is ErrorInvalidWatermark to the client. */
export type WatermarkProblem = 'unknown' | 'otherMailbox' | 'otherDatabase' | 'expired' | 'purged';

/** One mailbox's events, in order, as far back as they are kept. */
export class EventTable {
  readonly mailbox: string;
  /** Bumped by a move: watermarks of another database are refused. */
  database = 1;
  databaseGuid: Uint8Array;
  /** Retained events, ascending; events[i].seq === purgedThrough + 1 + i. */
  #events: MailboxEvent[] = [];
  #headSeq = 0;
  #purgedThrough = 0;

  constructor(mailbox: string, databaseGuid: Uint8Array) {
    this.mailbox = mailbox;
    this.databaseGuid = databaseGuid;
  }

  /** The newest event's position: a watermark for it means "from now on". */
  get headSeq(): number {
    return this.#headSeq;
  }

  get purgedThrough(): number {
    return this.#purgedThrough;
  }

  /** Adds an event now; `watermarkFor` names the position right after it. */
  append(event: NewEvent, now: number, watermarkFor: (position: number) => string): MailboxEvent {
    this.purge(now);
    const seq = this.#headSeq + 1;
    this.#headSeq = seq;
    // An event's watermark names the position right after it: resuming from it replays what follows.
    const full: MailboxEvent = { ...event, seq, timeStamp: now, watermark: watermarkFor(seq) };
    this.#events.push(full);
    return full;
  }

  /**
   * Up to `max` events after `position` that pass the filter, the position the scan reached (so a
   * subscription does not scan filtered-out events again) and whether more matching events wait.
   */
  after(
    position: number,
    filter: EventFilter,
    max: number,
  ): { events: MailboxEvent[]; scannedThrough: number; more: boolean } {
    const events: MailboxEvent[] = [];
    const start = Math.max(0, position - this.#purgedThrough);
    for (let i = start; i < this.#events.length; i++) {
      const event = this.#events[i];
      if (event === undefined || !matchesFilter(event, filter)) continue;
      if (events.length === max) return { events, scannedThrough: event.seq - 1, more: true };
      events.push(event);
    }
    return { events, scannedThrough: Math.max(position, this.#headSeq), more: false };
  }

  /** Forgets events older than the 30-day window. */
  purge(now: number): void {
    const horizon = now - EVENT_RETENTION_MS;
    let drop = 0;
    while (drop < this.#events.length && (this.#events[drop]?.timeStamp ?? now) < horizon) drop++;
    if (drop > 0) {
      this.#purgedThrough = this.#events[drop - 1]?.seq ?? this.#purgedThrough;
      this.#events.splice(0, drop);
    }
  }

  /** The mailbox moved to another database: the table starts afresh, every earlier watermark refused. */
  move(databaseGuid: Uint8Array): void {
    this.database++;
    this.databaseGuid = databaseGuid;
    this.#purgedThrough = this.#headSeq;
    this.#events = [];
  }
}

interface WatermarkInfo {
  readonly mailbox: string;
  readonly database: number;
  /** Events with seq greater than this come after the watermark. */
  readonly position: number;
  readonly issuedAt: number;
}

/** Every watermark issued, so a Subscribe can be resumed from one or refused as Exchange does. */
export class WatermarkRegistry {
  readonly #ids: IdMinter;
  readonly #watermarks = new Map<string, WatermarkInfo>();
  /** Watermarks in issue order, so the old ones can be forgotten cheaply. */
  readonly #queue: string[] = [];
  #queueStart = 0;

  constructor(ids: IdMinter) {
    this.#ids = ids;
  }

  /** A new watermark for a position of a mailbox's table (events with a greater seq come after it). */
  mint(table: EventTable, position: number, now: number): string {
    const watermark = this.#ids.mint(ID_KIND.watermark, 6, table.databaseGuid);
    this.#watermarks.set(watermark, {
      mailbox: table.mailbox,
      database: table.database,
      position,
      issuedAt: now,
    });
    this.#queue.push(watermark);
    return watermark;
  }

  issuedAt(watermark: string): number | undefined {
    return this.#watermarks.get(watermark)?.issuedAt;
  }

  /** Where a Subscribe watermark resumes in `table`, or why Exchange would answer ErrorInvalidWatermark. */
  resolve(table: EventTable, watermark: string, now: number): Result<number, WatermarkProblem> {
    table.purge(now);
    this.forgetExpired(now);
    const info = this.#watermarks.get(watermark);
    if (info === undefined) return err('unknown');
    if (info.mailbox !== table.mailbox) return err('otherMailbox');
    if (info.database !== table.database) return err('otherDatabase');
    if (now - info.issuedAt > EVENT_RETENTION_MS) return err('expired');
    if (info.position < table.purgedThrough) return err('purged');
    return ok(info.position);
  }

  /** Forgets watermarks well past the 30-day window. */
  forgetExpired(now: number): void {
    const horizon = now - EVENT_RETENTION_MS;
    while (this.#queueStart < this.#queue.length) {
      const oldest = this.#queue[this.#queueStart];
      const info = oldest === undefined ? undefined : this.#watermarks.get(oldest);
      // Keep a little past the window, so an expired watermark is told apart from an unknown one.
      if (info !== undefined && info.issuedAt >= horizon - EVENT_RETENTION_MS) break;
      if (oldest !== undefined) this.#watermarks.delete(oldest);
      this.#queueStart++;
    }
    if (this.#queueStart > 4096 && this.#queueStart * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#queueStart);
      this.#queueStart = 0;
    }
  }
}
