/**
 * Catch-up with delta query, the Graph counterpart of SyncFolderItems: messages per mail folder
 * (`/users/{id}/mailFolders/{id}/messages/delta`; delta is a per-folder operation) and events per
 * calendar view (`/users/{id}/calendarView/delta?startDateTime&endDateTime`; v1.0 has no unbounded
 * event delta).
 *
 * A round is one or more pages: each but the last carries `@odata.nextLink`; the last carries
 * `@odata.deltaLink`, which is what the bridge stores as the folder's cursor (its SyncState) and
 * follows next time. Links are opaque and carry every parameter (folder, window, `$select`), so
 * they are followed as given, never rebuilt. Delta is state-based: an item appears once, as it is
 * now, or as `@removed`; so a page says "deleted" or "created or updated", never which of the two.
 * A link Graph no longer knows answers 410 (`ResyncRequired`): start again without one.
 */
import { err, ok, type Result } from '../core/result.ts';
import { formatCount } from '../core/show.ts';
import {
  decodeGraphError,
  GraphProtocolError,
  type GraphResponseError,
  InvalidGraphRequestError,
} from './errors.ts';
import { isJsonObject, type JsonObject, own, ownText, parseJsonBody } from './json.ts';
import { type GraphReply, type GraphRequest, IMMUTABLE_ID_PREFERENCE, requireSegment } from './request.ts';

/**
 * What message delta asks for: enough to publish a change and tell a read-flag flip, never the
 * body (enrichment reads items it needs; a delta page of full messages can be megabytes).
 */
export const MESSAGE_DELTA_SELECT = [
  'id',
  'changeKey',
  'parentFolderId',
  'lastModifiedDateTime',
  'isRead',
  'subject',
] as const;

/** Delta pages hold at most this many items unless asked otherwise (Graph's own default varies). */
export const DEFAULT_DELTA_PAGE_SIZE = 50;
/** Graph documents no cap; the stand-in answers any size. Keep pages under Lambda's comfort. */
const MAX_DELTA_PAGE_SIZE = 1000;
/** The largest page answer decoded (a page of 1000 selected items is well under this). */
export const MAX_DELTA_PAGE_BYTES = 16 * 1024 * 1024;

function preferHeader(maxPageSize: number): string {
  if (!Number.isInteger(maxPageSize) || maxPageSize < 1 || maxPageSize > MAX_DELTA_PAGE_SIZE) {
    throw new InvalidGraphRequestError(
      'maxPageSize',
      String(maxPageSize),
      `must be an integer from 1 to ${MAX_DELTA_PAGE_SIZE}`,
    );
  }
  // Immutable ids here too, so delta ids match the ids in notifications of the same item.
  return `${IMMUTABLE_ID_PREFERENCE}, odata.maxpagesize=${maxPageSize}`;
}

/** The first request of a full synchronization of one mail folder's messages. */
export function buildMessagesDelta(input: {
  readonly userId: string;
  /** A folder id or well-known name (`inbox`, `archive`, …). */
  readonly folderId: string;
  readonly maxPageSize?: number;
  /** @default MESSAGE_DELTA_SELECT */
  readonly select?: readonly string[];
}): GraphRequest {
  const user = requireSegment('userId', input.userId);
  const folder = requireSegment('folderId', input.folderId);
  const select = (input.select ?? MESSAGE_DELTA_SELECT).map((field) => {
    if (!/^[A-Za-z][A-Za-z0-9]{0,63}$/.test(field)) {
      throw new InvalidGraphRequestError('$select', field, 'is not a property name');
    }
    return field;
  });
  const query = select.length === 0 ? '' : `?$select=${select.join(',')}`;
  return {
    operation: 'delta',
    method: 'GET',
    path: `/users/${user}/mailFolders/${folder}/messages/delta${query}`,
    headers: {
      Accept: 'application/json',
      Prefer: preferHeader(input.maxPageSize ?? DEFAULT_DELTA_PAGE_SIZE),
    },
    body: null,
    mailbox: input.userId,
  };
}

/**
 * The first request of a full synchronization of the primary calendar's view from `start` to
 * `end` (epoch ms). The window is fixed into every link of the round: events outside it are never
 * reported, so the wiring must start a new round (without a link) when the window should move.
 */
export function buildCalendarViewDelta(input: {
  readonly userId: string;
  readonly start: number;
  readonly end: number;
  readonly maxPageSize?: number;
}): GraphRequest {
  const user = requireSegment('userId', input.userId);
  if (!Number.isFinite(input.start) || !Number.isFinite(input.end) || input.end <= input.start) {
    throw new InvalidGraphRequestError(
      'calendar view window',
      `${input.start}..${input.end}`,
      'must be two times with the end after the start',
    );
  }
  const start = new Date(input.start).toISOString();
  const end = new Date(input.end).toISOString();
  return {
    operation: 'delta',
    method: 'GET',
    path: `/users/${user}/calendarView/delta?startDateTime=${encodeURIComponent(start)}&endDateTime=${encodeURIComponent(end)}`,
    headers: {
      Accept: 'application/json',
      Prefer: preferHeader(input.maxPageSize ?? DEFAULT_DELTA_PAGE_SIZE),
    },
    body: null,
    mailbox: input.userId,
  };
}

/**
 * The next request of a round: an `@odata.nextLink`, or a stored `@odata.deltaLink` to start the
 * next round. The page size preference is sent again (Graph does not keep it in the link).
 */
export function buildDeltaFollow(
  link: string,
  input: { readonly mailbox: string; readonly maxPageSize?: number },
): GraphRequest {
  let parsed: URL;
  try {
    parsed = new URL(link);
  } catch {
    throw new InvalidGraphRequestError(
      'delta link',
      link,
      'is not an absolute URL; store the link exactly as Graph gave it',
    );
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new InvalidGraphRequestError(
      'delta link',
      link,
      'carries credentials; it is not a link Graph gave',
    );
  }
  return {
    operation: 'delta',
    method: 'GET',
    path: link,
    headers: {
      Accept: 'application/json',
      Prefer: preferHeader(input.maxPageSize ?? DEFAULT_DELTA_PAGE_SIZE),
    },
    body: null,
    mailbox: input.mailbox,
  };
}

/** An item that is gone from the folder or view: deleted, or moved out (another folder's delta reports it arriving). */
export interface DeltaRemoved {
  readonly kind: 'removed';
  readonly id: string;
  /** `deleted` or `changed` as Graph sends it; informational. */
  readonly reason: string | null;
}

/** An item present now: created or updated since the link's round started (delta does not say which). */
export interface DeltaPresent {
  readonly kind: 'present';
  readonly id: string;
  /** `#microsoft.graph.message`, `#microsoft.graph.event`, when sent. */
  readonly odataType: string | null;
  readonly changeKey: string | null;
  readonly parentFolderId: string | null;
  readonly lastModifiedDateTime: string | null;
  readonly isRead: boolean | null;
  /** Events: `singleInstance`, `occurrence`, `exception` or `seriesMaster`. */
  readonly eventType: string | null;
  /** Events: the series an occurrence belongs to. */
  readonly seriesMasterId: string | null;
}

export type DeltaChange = DeltaRemoved | DeltaPresent;

export interface DeltaPage {
  readonly changes: readonly DeltaChange[];
  /** Exactly one of the two links is set: more pages follow, or the round is complete. */
  readonly next:
    | { readonly kind: 'nextLink'; readonly url: string }
    | { readonly kind: 'deltaLink'; readonly url: string };
}

export type DeltaCallError = GraphResponseError | GraphProtocolError;

const MAX_PAGE_ITEMS = 10_000;
const MAX_LINK = 8192;

/** Decodes a delta page, or the error (410 → `ResyncRequired`). */
export function decodeDeltaPage(reply: GraphReply, now: number): Result<DeltaPage, DeltaCallError> {
  if (reply.status !== 200)
    return err(decodeGraphError('delta', reply.status, reply.headers, reply.body, now));
  const parsed = parseJsonBody(reply.body, MAX_DELTA_PAGE_BYTES);
  if (!parsed.ok) return err(new GraphProtocolError('delta', parsed.error.detail));
  if (!isJsonObject(parsed.value))
    return err(new GraphProtocolError('delta', 'the page is not a JSON object'));
  const page = parsed.value;
  const value = own(page, 'value');
  if (!Array.isArray(value)) return err(new GraphProtocolError('delta', 'the page has no "value" array'));
  if (value.length > MAX_PAGE_ITEMS) {
    return err(
      new GraphProtocolError(
        'delta',
        `the page holds ${formatCount(value.length)} items; ask for smaller pages`,
      ),
    );
  }
  const nextLink = ownText(page, '@odata.nextLink', MAX_LINK);
  const deltaLink = ownText(page, '@odata.deltaLink', MAX_LINK);
  if ((nextLink === undefined) === (deltaLink === undefined)) {
    return err(
      new GraphProtocolError(
        'delta',
        nextLink === undefined
          ? 'the page has neither @odata.nextLink nor @odata.deltaLink'
          : 'the page has both @odata.nextLink and @odata.deltaLink',
      ),
    );
  }
  const changes: DeltaChange[] = [];
  for (const [index, item] of value.entries()) {
    const change = decodeChange(item);
    // A page is a unit: skipping an item would lose it for good once the next link is stored.
    if (typeof change === 'string') return err(new GraphProtocolError('delta', `item ${index}: ${change}`));
    changes.push(change);
  }
  return ok({
    changes,
    next:
      nextLink !== undefined
        ? { kind: 'nextLink', url: nextLink }
        : { kind: 'deltaLink', url: deltaLink ?? '' },
  });
}

function decodeChange(item: unknown): DeltaChange | string {
  if (!isJsonObject(item)) return 'not a JSON object';
  const id = ownText(item, 'id', 512);
  if (id === undefined) return 'no usable id';
  if (Object.hasOwn(item, '@removed')) {
    const removed = own(item, '@removed');
    const reason = isJsonObject(removed) ? (ownText(removed, 'reason', 64) ?? null) : null;
    return { kind: 'removed', id, reason };
  }
  const text = (object: JsonObject, key: string) => ownText(object, key, 2048) ?? null;
  const isRead = own(item, 'isRead');
  return {
    kind: 'present',
    id,
    odataType: text(item, '@odata.type'),
    changeKey: text(item, 'changeKey'),
    parentFolderId: text(item, 'parentFolderId'),
    lastModifiedDateTime: text(item, 'lastModifiedDateTime'),
    isRead: typeof isRead === 'boolean' ? isRead : null,
    eventType: text(item, 'type'),
    seriesMasterId: text(item, 'seriesMasterId'),
  };
}
