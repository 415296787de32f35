/**
 * Enrichment: between the ingest queue and the events topic, read the items a batch's events name
 * (GetItem) so that each event can say what changed (`data.item`). The receiver stays on its cost
 * floor; this stage never drops an event: whatever happens to the read, the event is published,
 * with the item or with `data.enrichment` saying why it has none.
 *
 * - Each item is read once per batch: a change makes several events (Created + Modified, …); they
 *   all get the same (latest) state.
 * - Ids go to Exchange `IDS_PER_CALL` at a time (Microsoft recommends about 10 per GetItem, and an
 *   SQS FIFO event source hands over at most 10 records: one call per mailbox and batch).
 * - Per mailbox the calls go one after another (Exchange throttles per user, and a FIFO message
 *   group is only ever in one batch at a time, so this bounds a mailbox to one call in flight);
 *   mailboxes of one batch go in parallel, at most `mailboxConcurrency` at once.
 * - ErrorServerBusy: wait the BackOffMilliseconds Exchange asks (only that mailbox waits), within
 *   a wait budget; past it, or on access errors, the events go out without the item.
 * - Deleted events and folder events are not read: nothing to read.
 */
import type { EnrichmentOutcome, ExchangeItem } from '../../events/bridge-event.ts';
import type { Clock } from '../core/clock.ts';
import { forEachLimited } from '../core/concurrency.ts';
import type { EnrichMode } from '../domain/enrichment.ts';
import type { DetailRequest } from '../ews/item-details.ts';
import type { GraphItemKind } from '../graph/items.ts';

/** Why a read did not give the item. */
export interface ReadFailure {
  /** Exchange's response code (ErrorItemNotFound, ErrorServerBusy, ErrorAccessDenied…) or our error name. */
  readonly code: string;
  readonly detail: string;
  /** The item is gone (deleted or moved since the notification). */
  readonly notFound: boolean;
  /** Trying again later can succeed. */
  readonly retryable: boolean;
  /** How long Exchange asked us to wait (BackOffMilliseconds, Retry-After). */
  readonly backOffMs: number | null;
}

export type ItemAnswer =
  | { readonly ok: true; readonly value: ExchangeItem }
  | { readonly ok: false; readonly error: ReadFailure };
export type ReadAnswer =
  | { readonly ok: true; readonly value: readonly ItemAnswer[] }
  | { readonly ok: false; readonly error: ReadFailure };

/** What is read: EWS's GetItem request, and for a Graph mailbox the kind of item (messages or events). */
export interface ItemReadRequest extends DetailRequest {
  readonly graphItem?: GraphItemKind;
}

/**
 * An item read as enrichment needs it: EWS GetItem (adapters/exchange-item-reader.ts) or Graph's
 * item reads (adapters/graph-item-reader.ts), chosen by `graphItem`.
 */
export interface ItemReader {
  read(connection: string, mailbox: string, request: ItemReadRequest): Promise<ReadAnswer>;
}

/** What the receiver copied from the mailbox's record onto the ingest message (see hints.ts). */
export interface EnrichmentHints {
  readonly connection: string;
  /** The mailbox's own setting; absent: the deployment's default. */
  readonly mode?: EnrichMode;
  /** Extra FieldURIs the mailbox asked for (EWS only: Graph reads have no FieldURIs). */
  readonly extraFields?: readonly string[];
  /** A Graph mailbox's event: which kind of item it names, read through Graph. */
  readonly graphItem?: GraphItemKind;
}

export interface EnrichmentSettings {
  /** For mailboxes without their own setting. */
  readonly defaultMode: EnrichMode;
  /** Ids per GetItem (≤ 100). */
  readonly idsPerCall: number;
  /** Mailboxes of one batch read in parallel. */
  readonly mailboxConcurrency: number;
  /** Calls per chunk of ids before giving up (throttling, passing errors). */
  readonly maxAttempts: number;
  /** Longest total wait for Exchange's back-off, per mailbox and batch. */
  readonly maxWaitMs: number;
  /** Longest body text kept (`full`). */
  readonly maxBodyChars: number;
}

export const DEFAULT_ENRICHMENT_SETTINGS: EnrichmentSettings = {
  defaultMode: 'default',
  idsPerCall: 10,
  mailboxConcurrency: 4,
  maxAttempts: 4,
  maxWaitMs: 20_000,
  maxBodyChars: 32 * 1024,
};

/** One event of the batch, as enrichment sees it. */
export interface EnrichmentRequest {
  readonly mailboxKey: string;
  readonly mailbox: string;
  readonly eventType: string;
  readonly itemId: string | null;
  readonly hints: EnrichmentHints | undefined;
}

export interface Enrichment {
  readonly item?: ExchangeItem;
  readonly enrichment: EnrichmentOutcome;
}

/** Event types whose item can be read: Deleted has none left; FreeBusyChanged names no item change. */
const READABLE = new Set(['CreatedEvent', 'ModifiedEvent', 'NewMailEvent', 'MovedEvent', 'CopiedEvent']);

export interface EnrichDeps {
  readonly reader: ItemReader;
  readonly clock: Pick<Clock, 'sleep'>;
  readonly settings: EnrichmentSettings;
  /** Told about every call (count, outcome), for metrics. */
  readonly onCall?: (info: { mailboxKey: string; ids: number; outcome: 'ok' | 'retry' | 'failed' }) => void;
}

/** The mode an event is read with, or undefined when it is not read. */
export function modeFor(request: EnrichmentRequest, settings: EnrichmentSettings): EnrichMode | undefined {
  if (request.hints === undefined || request.itemId === null || !READABLE.has(request.eventType))
    return undefined;
  const mode = request.hints.mode ?? settings.defaultMode;
  return mode === 'none' ? undefined : mode;
}

/**
 * Reads the items of a batch's events; answers, by index into `requests`, what each event gets.
 * Never throws for anything Exchange does.
 */
export async function enrich(
  requests: readonly EnrichmentRequest[],
  deps: EnrichDeps,
): Promise<Map<number, Enrichment>> {
  const { settings } = deps;
  const byMailbox = new Map<
    string,
    { indexes: number[]; mode: EnrichMode; hints: EnrichmentHints; mailbox: string }
  >();
  requests.forEach((request, index) => {
    const mode = modeFor(request, settings);
    if (mode === undefined || request.hints === undefined) return;
    // A Graph mailbox's messages and events are different reads (`/messages/{id}`, `/events/{id}`).
    const key = `${request.mailboxKey}|${request.hints.graphItem ?? ''}`;
    const group = byMailbox.get(key);
    if (group === undefined) {
      byMailbox.set(key, {
        indexes: [index],
        mode,
        hints: request.hints,
        mailbox: request.mailbox,
      });
    } else {
      group.indexes.push(index);
      // The latest ingest message speaks for the mailbox's current setting.
      group.mode = mode;
      group.hints = request.hints;
    }
  });
  const results = new Map<number, Enrichment>();
  await forEachLimited([...byMailbox.values()], settings.mailboxConcurrency, async (group) => {
    const mailboxKey = requests[group.indexes[0] ?? 0]?.mailboxKey ?? '';
    const ids = [...new Set(group.indexes.map((i) => requests[i]?.itemId ?? ''))].filter((id) => id !== '');
    const answers = await readMailbox(mailboxKey, group.mailbox, ids, group.mode, group.hints, deps);
    for (const index of group.indexes) {
      const answer = answers.get(requests[index]?.itemId ?? '');
      if (answer !== undefined) results.set(index, toEnrichment(answer));
    }
  });
  return results;
}

function toEnrichment(answer: ItemAnswer): Enrichment {
  if (answer.ok) return { item: answer.value, enrichment: { outcome: 'item', code: null, detail: null } };
  const { error } = answer;
  return {
    enrichment: { outcome: error.notFound ? 'notFound' : 'failed', code: error.code, detail: error.detail },
  };
}

async function readMailbox(
  mailboxKey: string,
  mailbox: string,
  ids: readonly string[],
  mode: EnrichMode,
  hints: EnrichmentHints,
  deps: EnrichDeps,
): Promise<Map<string, ItemAnswer>> {
  const { settings } = deps;
  const answers = new Map<string, ItemAnswer>();
  let waited = 0;
  for (let start = 0; start < ids.length; start += settings.idsPerCall) {
    let pending = ids.slice(start, start + settings.idsPerCall);
    for (let attempt = 1; pending.length > 0; attempt++) {
      const answer = await deps.reader.read(hints.connection, mailbox, {
        itemIds: pending,
        body: mode === 'full',
        ...(hints.extraFields === undefined || hints.extraFields.length === 0
          ? {}
          : { extraFields: hints.extraFields }),
        ...(hints.graphItem === undefined ? {} : { graphItem: hints.graphItem }),
      });
      // What to try again: the whole call, or the ids Exchange answered with a passing error.
      let retry: { ids: string[]; failure: ReadFailure } | undefined;
      if (!answer.ok) {
        retry = { ids: pending, failure: answer.error };
      } else {
        const again: string[] = [];
        let failure: ReadFailure | undefined;
        pending.forEach((id, i) => {
          const one: ItemAnswer = answer.value[i] ?? {
            ok: false,
            error: {
              code: 'NoAnswer',
              detail: 'GetItem answered fewer items than asked',
              notFound: false,
              retryable: true,
              backOffMs: null,
            },
          };
          if (!one.ok && one.error.retryable) {
            again.push(id);
            failure =
              failure === undefined || (one.error.backOffMs ?? 0) > (failure.backOffMs ?? 0)
                ? one.error
                : failure;
          } else answers.set(id, one);
        });
        if (failure !== undefined) retry = { ids: again, failure };
      }
      if (retry === undefined) {
        deps.onCall?.({ mailboxKey, ids: pending.length, outcome: 'ok' });
        break;
      }
      const wait = retry.failure.backOffMs ?? Math.min(1000 * 2 ** (attempt - 1), 8000);
      const giveUp =
        !retry.failure.retryable || attempt >= settings.maxAttempts || waited + wait > settings.maxWaitMs;
      deps.onCall?.({ mailboxKey, ids: pending.length, outcome: giveUp ? 'failed' : 'retry' });
      if (giveUp) {
        const detail =
          retry.failure.retryable && attempt < settings.maxAttempts
            ? `${retry.failure.detail} (Exchange asked to wait ${wait} ms, past the enrichment wait budget of ${settings.maxWaitMs} ms)`
            : retry.failure.detail;
        for (const id of retry.ids) answers.set(id, { ok: false, error: { ...retry.failure, detail } });
        break;
      }
      waited += wait;
      await deps.clock.sleep(wait);
      pending = retry.ids;
    }
  }
  return answers;
}
