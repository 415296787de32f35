/**
 * Delta queries for messages in a mail folder and for events in a calendar view (Learn: "Get
 * incremental changes to messages in a folder", "event: delta", "Use delta query to track changes").
 *
 * A round starts with a request without a token (a full sync: everything there is now) or with a
 * `$deltatoken` (the changes since that token's round). It is state-based: it reports how things
 * are now, not the history in between: an item changed twice appears once, an item the client
 * knew and that is gone (deleted, moved out, out of the view) appears as `@removed` with reason
 * `deleted`, and an item created and deleted again since the token does not appear at all. The
 * round is fixed when it starts; its pages are `@odata.nextLink` (`$skiptoken`) and the last page
 * carries `@odata.deltaLink` (`$deltatoken`), which stands for the state when the round started.
 *
 * Tokens are opaque and held here. They expire after `deltaTokenLifetimeMs` unused, or when the
 * control API (or the chaos knob) expires a mailbox's tokens: a request with one then gets
 * `410 Gone` with error code `syncStateNotFound` and a `Location` header holding the initial
 * request, and the client must sync in full again (Learn, delta query overview: "Synchronization
 * reset", "Token duration").
 */
import type { Clock } from '../functions/core/clock.ts';
import { createIdMinter, type Random } from '../simulator/random.ts';
import type { GraphMailboxStore, IdType, ItemRepresentation, Mailbox, MailFolder } from './mailbox-store.ts';
import { GraphApiError } from './subscriptions.ts';

/** Page size when the request has no `Prefer: odata.maxpagesize` (Learn names none). */
export const DEFAULT_PAGE_SIZE = 10;

export type DeltaScope =
  | { readonly type: 'messages'; readonly folder: MailFolder }
  | { readonly type: 'calendarView'; readonly start: number; readonly end: number };

interface Position {
  readonly mailbox: string;
  readonly scope: DeltaScope;
  /** The ground-truth seq the state stands for (null: nothing yet, an initial sync). */
  readonly seq: number | null;
  readonly generation: number;
  lastUsedAt: number;
}

interface Round extends Position {
  readonly entries: readonly ItemRepresentation[];
  readonly offset: number;
  readonly endSeq: number;
}

export interface DeltaPage {
  readonly value: readonly ItemRepresentation[];
  readonly nextLink: string | null;
  readonly deltaLink: string | null;
}

export interface DeltaOptions {
  readonly clock: Clock;
  readonly random: Random;
  readonly store: GraphMailboxStore;
  readonly tokenLifetimeMs: number;
}

export class DeltaQueries {
  readonly #o: DeltaOptions;
  readonly #tokens = new Map<string, Round | Position>();
  /** Bumped when a mailbox's tokens are expired on purpose. */
  readonly #generations = new Map<string, number>();
  readonly #ids;

  constructor(options: DeltaOptions) {
    this.#o = options;
    this.#ids = createIdMinter(options.random);
  }

  /** Every delta and skip token of the mailbox stops working (410 on its next use). */
  expireTokens(mailbox: string): number {
    const before = [...this.#tokens.values()].filter((t) => t.mailbox === mailbox).length;
    this.#generations.set(mailbox, this.#generation(mailbox) + 1);
    return before;
  }

  #generation(mailbox: string): number {
    return this.#generations.get(mailbox) ?? 0;
  }

  #mint(position: Round | Position): string {
    const token = this.#ids.mint(0x70, 18).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    this.#tokens.set(token, position);
    return token;
  }

  /**
   * One page of a round. `skipToken`/`deltaToken` come from the request's query; `initialLink` is
   * the request without tokens (the 410's Location), `linkBase` the URL the next links extend.
   */
  page(
    mailbox: Mailbox,
    /** Null for a calendar view asked for by token alone: the token holds its range. */
    requested: DeltaScope | null,
    request: {
      readonly skipToken: string | null;
      readonly deltaToken: string | null;
      readonly idType: IdType;
      readonly pageSize: number;
      readonly initialLink: string;
      readonly linkBase: string;
    },
  ): DeltaPage {
    const now = this.#o.clock.now();
    let round: Round;
    if (request.skipToken !== null) {
      const found = this.#valid(request.skipToken, mailbox, requested, request.initialLink);
      if (!('entries' in found)) throw gone(request.initialLink, 'a delta token was given as a skip token');
      round = found;
    } else {
      const from =
        request.deltaToken === null
          ? null
          : this.#valid(request.deltaToken, mailbox, requested, request.initialLink);
      const scope = requested ?? from?.scope;
      if (scope === undefined) {
        throw new GraphApiError(
          400,
          'ErrorInvalidParameter',
          'This request requires a time window specified by the query string parameters startDateTime and endDateTime.',
        );
      }
      if (from !== null && 'entries' in from)
        throw gone(request.initialLink, 'a skip token was given as a delta token');
      const fromSeq = from === null ? null : from.seq;
      const endSeq = this.#o.store.head();
      round = {
        mailbox: mailbox.address,
        scope,
        seq: fromSeq,
        generation: this.#generation(mailbox.address),
        lastUsedAt: now,
        entries: this.#entries(mailbox, scope, fromSeq, endSeq, request.idType),
        offset: 0,
        endSeq,
      };
    }
    const scope = round.scope;
    const value = round.entries.slice(round.offset, round.offset + request.pageSize);
    const nextOffset = round.offset + value.length;
    if (nextOffset < round.entries.length) {
      const token = this.#mint({ ...round, offset: nextOffset, lastUsedAt: now });
      return { value, nextLink: `${request.linkBase}?$skiptoken=${token}`, deltaLink: null };
    }
    const token = this.#mint({
      mailbox: round.mailbox,
      scope,
      seq: round.endSeq,
      generation: round.generation,
      lastUsedAt: now,
    });
    return { value, nextLink: null, deltaLink: `${request.linkBase}?$deltatoken=${token}` };
  }

  /** The token's state, or the 410 a client gets for one that expired, was never issued, or is for something else. */
  #valid(token: string, mailbox: Mailbox, scope: DeltaScope | null, initialLink: string): Round | Position {
    const found = this.#tokens.get(token);
    const now = this.#o.clock.now();
    if (found === undefined) throw gone(initialLink, 'the token is unknown');
    if (found.generation !== this.#generation(found.mailbox)) throw gone(initialLink, 'the token expired');
    if (now - found.lastUsedAt > this.#o.tokenLifetimeMs) throw gone(initialLink, 'the token expired');
    if (found.mailbox !== mailbox.address || (scope !== null && !sameScope(found.scope, scope))) {
      throw gone(initialLink, 'the token belongs to another folder or view');
    }
    found.lastUsedAt = now;
    return found;
  }

  /** What a round from `fromSeq` to `endSeq` reports: current representations first, then removals. */
  #entries(
    mailbox: Mailbox,
    scope: DeltaScope,
    fromSeq: number | null,
    endSeq: number,
    idType: IdType,
  ): ItemRepresentation[] {
    const { store } = this.#o;
    const out: ItemRepresentation[] = [];
    if (scope.type === 'messages') {
      const then = store.folderStateAt(mailbox, scope.folder.name, fromSeq);
      const now = store.folderStateAt(mailbox, scope.folder.name, endSeq);
      for (const [immutableId, idNow] of now) {
        const idThen = then.get(immutableId);
        const changed =
          fromSeq === null ||
          idThen === undefined ||
          store.messageModifiedSeq(mailbox, immutableId) > fromSeq;
        // Moved out and back: the client holds a default id that no longer exists.
        if (idType === 'default' && idThen !== undefined && idThen !== idNow)
          out.push(removed('message', idThen));
        const representation = changed
          ? store.messageRepresentation(mailbox, immutableId, idType)
          : undefined;
        if (representation !== undefined) out.push(representation);
      }
      for (const [immutableId, idThen] of then) {
        if (!now.has(immutableId))
          out.push(removed('message', idType === 'immutable' ? immutableId : idThen));
      }
      return out;
    }
    const then = store.calendarViewAt(mailbox, scope.start, scope.end, fromSeq);
    const now = store.calendarViewAt(mailbox, scope.start, scope.end, endSeq);
    for (const [key, instance] of now) {
      if (fromSeq === null || !then.has(key) || instance.modifiedSeq > fromSeq)
        out.push(instance.representation(idType));
    }
    for (const [key, instance] of then) {
      if (!now.has(key))
        out.push(removed('event', idType === 'immutable' ? instance.immutableId : instance.id));
    }
    return out;
  }
}

/** How delta reports an item the client holds and that is gone (Learn: `@removed`, reason `deleted`). */
function removed(type: 'message' | 'event', id: string): ItemRepresentation {
  return { '@odata.type': `#microsoft.graph.${type}`, id, '@removed': { reason: 'deleted' } };
}

function sameScope(a: DeltaScope, b: DeltaScope): boolean {
  if (a.type === 'messages' && b.type === 'messages') return a.folder.id === b.folder.id;
  if (a.type === 'calendarView' && b.type === 'calendarView') return a.start === b.start && a.end === b.end;
  return false;
}

function gone(initialLink: string, why: string): GraphApiError {
  return new GraphApiError(
    410,
    'syncStateNotFound',
    `The sync state for this delta request was not found (${why}). Start a full synchronization again with the request in the Location header.`,
    { Location: initialLink },
  );
}
