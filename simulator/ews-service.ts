/**
 * `/EWS/Exchange.asmx`: what Exchange does with an authenticated SOAP request. Faults first
 * (503, ErrorServerBusy), then the schema, then who the request acts as (impersonation and
 * X-AnchorMailbox), then the operation itself.
 *
 * Where a request goes wrong, the answer is the one Exchange gives, with the code, the transport
 * (SOAP Fault with HTTP 500, or an Error response message with HTTP 200) and the message text
 * noted beside each case.
 */
import type { Result } from '../functions/core/result.ts';
import { err, ok } from '../functions/core/result.ts';
import { showValue } from '../functions/core/show.ts';
import { DEFAULT_EXCHANGE_VERSION, type Impersonation } from '../functions/ews/request.ts';
import { soapContentType } from '../functions/ews/soap.ts';
import { validatePushUrl } from '../functions/ews/subscribe.ts';
import type { Identity } from './auth.ts';
import type { WatermarkProblem } from './event-table.ts';
import type { FaultSettings } from './faults.ts';
import { DISTINGUISHED_FOLDERS, type SimulatedFolder } from './folders.ts';
import type { ItemView } from './item-codec.ts';
import type { ItemViewProblem, MailboxStore } from './mailbox-store.ts';
import type { PushEngine } from './push-engine.ts';
import type { Random } from './random.ts';
import {
  type AlternateId,
  convertIdSuccess,
  decodeEwsRequest,
  type EwsRequest,
  encodeFault,
  encodeResponse,
  type FolderRef,
  type FolderShape,
  findFolderSuccess,
  getFolderSuccess,
  getItemSuccess,
  type IdFormat,
  type ItemRef,
  type ItemShape,
  type PushSubscribeRequest,
  type RequestHeader,
  type ResponseMessage,
  type ResponseOperation,
  schemaValidationFault,
  subscribeSuccess,
  syncFolderItemsSuccess,
} from './soap-server-codec.ts';

/** Exchange Online's EWSMaxSubscriptions (ews-protocol.md §4 "Limits"). */
export const DEFAULT_MAX_SUBSCRIPTIONS_PER_MAILBOX = 20;

/**
 * EWSFindCountLimit: the most folders one FindFolder page returns, whatever MaxEntriesReturned
 * asks for (1000 in Exchange Online's default throttling policy); the rest is left for the next
 * page, as IncludesLastItemInRange false says.
 */
const FIND_COUNT_LIMIT = 1000;

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[]>>;
  readonly body: string;
}

export interface EwsCall {
  readonly identity: Identity;
  /** The X-AnchorMailbox header, if any. */
  readonly anchorMailbox: string | null;
  readonly body: Uint8Array;
}

export interface EwsServiceOptions {
  readonly store: MailboxStore;
  readonly engine: PushEngine;
  readonly faults: () => FaultSettings;
  /** The stream fault draws come from. */
  readonly random: Random;
  readonly maxSubscriptionsPerMailbox: number;
}

const XML = { 'Content-Type': soapContentType('1.1') };

function soap(body: string): HttpAnswer {
  return { status: 200, headers: XML, body };
}
/** An operation's response envelope, one response message per element of `messages`, HTTP 200. */
function answer(operation: ResponseOperation, messages: readonly ResponseMessage[]): HttpAnswer {
  return soap(encodeResponse(operation, messages));
}
function fault(
  code: string,
  faultString: string,
  values?: ReadonlyArray<readonly [string, string]>,
): HttpAnswer {
  return {
    status: 500,
    headers: XML,
    body: encodeFault({ code, faultString, ...(values ? { values } : {}) }),
  };
}
interface ErrorExtras {
  readonly values?: ReadonlyArray<readonly [string, string]>;
  readonly content?: string;
}
function errorMessage(responseCode: string, messageText: string, extra: ErrorExtras = {}): ResponseMessage {
  return { ok: false, responseCode, messageText, ...extra };
}

/** Who a request acts as: the mailbox whose data it reads, or none (a service account). */
type Acting = { readonly mailbox: string | null };

export class EwsService {
  readonly #o: EwsServiceOptions;

  constructor(options: EwsServiceOptions) {
    this.#o = options;
  }

  handle(call: EwsCall): HttpAnswer {
    const faults = this.#o.faults();
    if (this.#o.random.chance(faults.unavailableRate)) {
      // IIS queuing requests (ews-throttling-in-exchange.md Table 4): 503, no SOAP at all.
      return {
        status: 503,
        headers: { 'Content-Type': 'text/html', 'Retry-After': '5' },
        body: '<h1>Service Unavailable</h1>',
      };
    }
    if (this.#o.random.chance(faults.serverBusyRate)) return serverBusy(faults);
    const decoded = decodeEwsRequest(call.body);
    if (!decoded.ok) return { status: 500, headers: XML, body: schemaValidationFault(decoded.error) };
    const { header, request } = decoded.value;
    if (request.operation === 'GetItem' && this.#o.random.chance(faults.getItemServerBusyRate)) {
      return serverBusy(faults);
    }
    const acting = this.#acting(call, header);
    if (!acting.ok) return acting.error;
    return this.#operation(request, header, acting.value);
  }

  #acting(call: EwsCall, header: RequestHeader): Result<Acting, HttpAnswer> {
    const { store } = this.#o;
    const impersonation = header.impersonation;
    if (impersonation === null) {
      if (call.identity.kind === 'app') {
        // Exchange Online's answer to an app-only token without impersonation.
        return err(
          fault(
            'ErrorInvalidExchangeImpersonationHeaderData',
            'ExchangeImpersonation SOAP header must be present for this type of OAuth token.',
          ),
        );
      }
      // A Basic account acts as its own mailbox, if it has one; the anonymous caller has none.
      const own =
        call.identity.kind === 'basic' ? (store.mailboxAddress(call.identity.username) ?? null) : null;
      return ok({ mailbox: own });
    }
    const mailbox = resolveImpersonation(store, impersonation);
    if (mailbox === undefined) {
      // Impersonating an address with no mailbox: Exchange's ErrorNonExistentMailbox fault.
      return err(
        fault(
          'ErrorNonExistentMailbox',
          impersonation.kind === 'SID'
            ? 'The simulator resolves impersonation by SMTP address or principal name, not SID; use PrimarySmtpAddress.'
            : `The SMTP address has no mailbox associated with it: ${showValue(impersonation.value)}.`,
        ),
      );
    }
    if (call.identity.kind === 'app') {
      const anchor = call.anchorMailbox;
      if (anchor === null || anchor.toLowerCase() !== mailbox.toLowerCase()) {
        // Without X-AnchorMailbox naming the impersonated mailbox, Exchange Online routes the
        // request to a server that does not hold the mailbox; the answer seen in practice is
        // ErrorNoRespondingCASInDestinationSite (ews-protocol.md §3.3), fixed by the header.
        return err(
          fault(
            'ErrorNoRespondingCASInDestinationSite',
            anchor === null
              ? `The request could not be routed: send X-AnchorMailbox: ${mailbox} with app-only impersonation.`
              : `The request could not be routed: X-AnchorMailbox ${showValue(anchor)} does not name the impersonated mailbox ${mailbox}.`,
          ),
        );
      }
    }
    return ok({ mailbox });
  }

  #operation(request: EwsRequest, header: RequestHeader, acting: Acting): HttpAnswer {
    switch (request.operation) {
      case 'Subscribe':
        if (request.push === null) {
          return answer('Subscribe', [
            errorMessage(
              'ErrorInvalidSubscriptionRequest',
              `The EWS simulator implements push subscriptions only, not ${request.kind} subscriptions.`,
            ),
          ]);
        }
        return answer('Subscribe', [this.#subscribe(request.push, header, acting)]);
      case 'GetItem':
        return answer(
          'GetItem',
          request.itemIds.map((id) => this.#getItem(id, request.itemShape, acting)),
        );
      case 'SyncFolderItems':
        return answer('SyncFolderItems', [this.#syncFolderItems(request, acting)]);
      case 'FindFolder':
        return this.#findFolder(request, acting);
      case 'GetFolder':
        return answer(
          'GetFolder',
          request.folderIds.map((ref) => this.#getFolder(ref, request.folderShape, acting)),
        );
      case 'ConvertId':
        return answer(
          'ConvertId',
          request.sourceIds.map((id) => convertId(id, request.destinationFormat)),
        );
      case 'Unsubscribe':
      case 'GetEvents': {
        // Neither operation works on push subscriptions: "To unsubscribe from a push
        // subscription, you must respond to a push request with an unsubscribe response". The
        // answers differ: Unsubscribe of a push id is ErrorInvalidSubscription ([MS-OXWSNTIF];
        // exchangelib's tests against real Exchange expect it), GetEvents of one is
        // ErrorInvalidPullSubscriptionId. Either way the subscription lives on.
        const known = this.#o.engine.get(request.subscriptionId) !== undefined;
        const refusal =
          request.operation === 'Unsubscribe'
            ? errorMessage('ErrorInvalidSubscription', 'The subscription is invalid.')
            : errorMessage('ErrorInvalidPullSubscriptionId', 'Subscription is not a pull subscription.');
        return answer(request.operation, [
          known
            ? refusal
            : errorMessage('ErrorSubscriptionNotFound', 'The specified subscription was not found.'),
        ]);
      }
      case 'Unsupported':
        return fault(
          'ErrorInvalidRequest',
          `The EWS simulator does not implement ${request.name}; it answers Subscribe (push), GetItem, SyncFolderItems, FindFolder, GetFolder and ConvertId (docs/simulator.md).`,
        );
    }
  }

  #subscribe(push: PushSubscribeRequest, header: RequestHeader, acting: Acting): ResponseMessage {
    const { store, engine } = this.#o;
    let mailbox: string;
    let folders: SimulatedFolder[] | 'all';
    if (push.folders === 'all') {
      if (acting.mailbox === null) return missingEmailAddress();
      mailbox = acting.mailbox;
      folders = 'all';
    } else {
      const resolved: Array<{ mailbox: string; folder: SimulatedFolder }> = [];
      for (const ref of push.folders) {
        const folder = this.#resolveFolder(ref, acting, 'ErrorFolderNotFound');
        if (!folder.ok) return folder.error;
        if (folder.value.mailbox !== acting.mailbox) {
          return errorMessage(
            'ErrorSubscriptionDelegateAccessNotSupported',
            'Subscriptions are not supported for delegate user access.',
          );
        }
        resolved.push(folder.value);
      }
      const first = resolved[0];
      if (first === undefined) return missingEmailAddress();
      mailbox = first.mailbox;
      folders = [...new Set(resolved.map((f) => f.folder))];
    }
    if (store.isMoving(mailbox)) return moveInProgress();
    try {
      validatePushUrl(push.url);
    } catch (e) {
      return errorMessage(
        'ErrorInvalidPushSubscriptionUrl',
        `The push subscription URL is invalid: ${e instanceof Error ? e.message : String(e)}.`,
      );
    }
    let position = store.headPosition(mailbox);
    let watermark: string;
    if (push.watermark !== null) {
      const resolved = store.resolveWatermark(mailbox, push.watermark);
      if (!resolved.ok) {
        return errorMessage(
          'ErrorInvalidWatermark',
          `The watermark used for creating this subscription was not found. (${WATERMARK_PROBLEMS[resolved.error]})`,
        );
      }
      position = resolved.value;
      // A resumed subscription starts at the watermark it was given: its first PreviousWatermark.
      watermark = push.watermark;
    } else {
      watermark = store.mintWatermark(mailbox, position);
    }
    const max = this.#o.maxSubscriptionsPerMailbox;
    const count = engine.activeCount(mailbox);
    if (count >= max) {
      return errorMessage(
        'ErrorExceededSubscriptionCount',
        'You have exceeded the available subscriptions for your account. Remove unnecessary subscriptions and try your request again.',
        {
          values: [
            ['Policy', 'MaxSubscriptions'],
            ['MaxSubscriptions', String(max)],
            ['CurrentCount', String(count)],
          ],
        },
      );
    }
    const subscription = engine.subscribe({
      mailbox,
      folders,
      folderIds: folders === 'all' ? 'all' : new Set(folders.map((f) => store.folderId(mailbox, f))),
      eventTypes: push.eventTypes,
      statusFrequency: push.statusFrequency,
      url: push.url,
      callerData: push.callerData,
      requestServerVersion: header.requestServerVersion ?? DEFAULT_EXCHANGE_VERSION,
      resumedFrom: push.watermark,
      position,
      watermark,
    });
    return subscribeSuccess(subscription.subscriptionId, watermark);
  }

  #getItem(ref: ItemRef, shape: ItemShape, acting: Acting): ResponseMessage {
    const { store } = this.#o;
    const items = { content: '<m:Items/>' };
    const malformed = (id: string) => !/^[A-Za-z0-9+/]{8,}={0,2}$/.test(id);
    let found: Result<ItemView, ItemViewProblem>;
    switch (ref.kind) {
      case 'item':
        if (malformed(ref.id)) return errorMessage('ErrorInvalidIdMalformed', 'Id is malformed.', items);
        found = store.itemView(ref.id);
        break;
      case 'occurrence':
        if (malformed(ref.masterId))
          return errorMessage('ErrorInvalidIdMalformed', 'Id is malformed.', items);
        found = store.occurrenceView(ref.masterId, ref.instanceIndex);
        break;
      case 'master': {
        if (malformed(ref.occurrenceId))
          return errorMessage('ErrorInvalidIdMalformed', 'Id is malformed.', items);
        // The master of an occurrence or exception; of a master itself, as Exchange, the master.
        const occurrence = store.itemView(ref.occurrenceId);
        found =
          occurrence.ok && occurrence.value.occurrence !== undefined
            ? {
                ok: true,
                value: { item: occurrence.value.item, parentFolderId: occurrence.value.parentFolderId },
              }
            : occurrence;
        break;
      }
    }
    if (!found.ok) {
      switch (found.error) {
        case 'notFound':
          return errorMessage(
            'ErrorItemNotFound',
            'The specified object was not found in the store., The process failed to get the correct properties.',
            items,
          );
        case 'deletedOccurrence':
          return errorMessage(
            'ErrorCalendarOccurrenceIsDeletedFromRecurrence',
            'This occurrence was deleted from the recurring series.',
            items,
          );
        case 'outOfRange':
          return errorMessage(
            'ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange',
            'The occurrence index is outside the range of the recurring series.',
            items,
          );
      }
    }
    const { item } = found.value;
    if (acting.mailbox !== null && acting.mailbox !== item.mailbox) {
      return errorMessage('ErrorAccessDenied', 'Access is denied. Check credentials and try again.', items);
    }
    if (store.isMoving(item.mailbox)) return moveInProgress(items);
    return getItemSuccess(found.value, shape);
  }

  #syncFolderItems(
    request: Extract<EwsRequest, { operation: 'SyncFolderItems' }>,
    acting: Acting,
  ): ResponseMessage {
    const { store } = this.#o;
    const folder = this.#folderToRead(request.syncFolderId, acting, 'ErrorSyncFolderNotFound');
    if (!folder.ok) return folder.error;
    const { mailbox } = folder.value;
    const result = store.syncFolderItems(
      mailbox,
      folder.value.folder,
      request.syncState ?? undefined,
      request.maxChangesReturned,
      new Set(request.ignore),
    );
    if (!result.ok) {
      return errorMessage(
        'ErrorInvalidSyncStateData',
        'Synchronization state data is corrupted or otherwise invalid.',
      );
    }
    return syncFolderItemsSuccess(
      result.value,
      request.itemShape,
      store.folderId(mailbox, folder.value.folder),
    );
  }

  /** One response message per parent folder, in request order, as Exchange answers FindFolder. */
  #findFolder(request: Extract<EwsRequest, { operation: 'FindFolder' }>, acting: Acting): HttpAnswer {
    // Valid requests whose answer the simulator does not model: said plainly rather than guessed.
    const unmodelled = request.restricted
      ? 'a Restriction'
      : request.view.kind === 'fractional'
        ? 'FractionalPageFolderView'
        : request.view.kind === 'indexed' && request.view.basePoint === 'End'
          ? 'BasePoint="End"'
          : null;
    if (unmodelled !== null) {
      return fault(
        'ErrorInvalidRequest',
        `The EWS simulator does not implement FindFolder with ${unmodelled}; use IndexedPageFolderView with BasePoint="Beginning" and no Restriction.`,
      );
    }
    return answer(
      'FindFolder',
      request.parentFolderIds.map((ref) => this.#findFolderPage(ref, request, acting)),
    );
  }

  #findFolderPage(
    ref: FolderRef,
    request: Extract<EwsRequest, { operation: 'FindFolder' }>,
    acting: Acting,
  ): ResponseMessage {
    const { store } = this.#o;
    const folder = this.#folderToRead(ref, acting, 'ErrorFolderNotFound');
    if (!folder.ok) return folder.error;
    const { mailbox } = folder.value;
    let offset = 0;
    let max = FIND_COUNT_LIMIT;
    if (request.view.kind === 'indexed') {
      const asked = request.view.maxEntriesReturned;
      if (asked !== null && asked < 1) {
        return errorMessage(
          'ErrorInvalidPagingMaxRows',
          'The maximum rows value for paging must be greater than zero.',
        );
      }
      if (request.view.offset < 0) {
        return errorMessage('ErrorInvalidIndexedPagingParameters', 'The offset must be zero or greater.');
      }
      offset = request.view.offset;
      max = Math.min(asked ?? FIND_COUNT_LIMIT, FIND_COUNT_LIMIT);
    }
    // The simulator soft-deletes no folders, so that traversal finds none.
    const found =
      request.traversal === 'SoftDeleted'
        ? []
        : store.subfolders(mailbox, folder.value.folder, request.traversal);
    const page = found.slice(offset, offset + max);
    return findFolderSuccess(
      {
        folders: page,
        indexedPagingOffset: offset + page.length,
        totalItemsInView: found.length,
        includesLastItemInRange: offset + page.length >= found.length,
      },
      request.folderShape,
    );
  }

  /** One folder, by id or distinguished name, with the properties the shape asks for. */
  #getFolder(ref: FolderRef, shape: FolderShape, acting: Acting): ResponseMessage {
    const folder = this.#folderToRead(ref, acting, 'ErrorFolderNotFound');
    if (!folder.ok) return folder.error;
    return getFolderSuccess(this.#o.store.folderListing(folder.value.mailbox, folder.value.folder), shape);
  }

  /** A folder the caller may read now: it exists, is the caller's, and its mailbox is not moving. */
  #folderToRead(
    ref: FolderRef,
    acting: Acting,
    notFoundCode: 'ErrorFolderNotFound' | 'ErrorSyncFolderNotFound',
  ): Result<{ mailbox: string; folder: SimulatedFolder }, ResponseMessage> {
    const folder = this.#resolveFolder(ref, acting, notFoundCode);
    if (!folder.ok) return folder;
    const { mailbox } = folder.value;
    if (acting.mailbox !== null && acting.mailbox !== mailbox) {
      return err(errorMessage('ErrorAccessDenied', 'Access is denied. Check credentials and try again.'));
    }
    if (this.#o.store.isMoving(mailbox)) return err(moveInProgress());
    return folder;
  }

  /** The mailbox and folder a folder reference names, or the error message Exchange answers. */
  #resolveFolder(
    ref: FolderRef,
    acting: Acting,
    notFoundCode: 'ErrorFolderNotFound' | 'ErrorSyncFolderNotFound',
  ): Result<{ mailbox: string; folder: SimulatedFolder }, ResponseMessage> {
    const { store } = this.#o;
    const notFound = () =>
      errorMessage(notFoundCode, 'The specified folder could not be found in the store.');
    if (ref.kind === 'id') {
      const candidates = acting.mailbox === null ? store.addresses() : [acting.mailbox];
      for (const mailbox of candidates) {
        const folder = store.folderById(mailbox, ref.id);
        if (folder !== undefined) return ok({ mailbox, folder });
      }
      return err(notFound());
    }
    let mailbox = acting.mailbox;
    if (ref.mailbox !== null) {
      const named = store.mailboxAddress(ref.mailbox);
      if (named === undefined) {
        return err(
          errorMessage(
            'ErrorNonExistentMailbox',
            `No mailbox with the SMTP address ${showValue(ref.mailbox)} exists.`,
          ),
        );
      }
      mailbox = named;
    }
    if (mailbox === null) return err(missingEmailAddress());
    // A valid distinguished name the simulator does not model (contacts of an archive, …). The
    // custom folder is never found here: it has no distinguished name, and the decoder has already
    // refused Id="projects" as Exchange does (ErrorSchemaValidation).
    const folder = DISTINGUISHED_FOLDERS.find((f) => f === ref.name);
    if (folder === undefined) return err(notFound());
    return ok({ mailbox, folder });
  }
}

/**
 * ConvertId, for the simulator's ids: an item or folder id is base64 of opaque bytes, which serve
 * as its EwsId and its EntryId alike (the simulator's ids carry nothing beyond the entry), and
 * HexEntryId is the same bytes in hex. Like Exchange's, the conversion only transforms: it does
 * not look the id up. EwsLegacyId, StoreId and OwaId are not simulated.
 */
function convertId(source: AlternateId, destination: IdFormat): ResponseMessage {
  const simulated = ['EwsId', 'EntryId', 'HexEntryId'];
  if (!simulated.includes(source.format) || !simulated.includes(destination)) {
    return errorMessage(
      'ErrorInvalidRequest',
      `The EWS simulator converts between EwsId, EntryId and HexEntryId only, not from ${source.format} to ${destination}.`,
    );
  }
  let bytes: Buffer | undefined;
  if (source.format === 'HexEntryId') {
    if (/^(?:[0-9A-Fa-f]{2})+$/.test(source.id)) bytes = Buffer.from(source.id, 'hex');
  } else if (/^[A-Za-z0-9+/]+={0,2}$/.test(source.id) && source.id.length % 4 === 0) {
    bytes = Buffer.from(source.id, 'base64');
  }
  if (bytes === undefined) return errorMessage('ErrorInvalidIdMalformed', 'Id is malformed.');
  const id = destination === 'HexEntryId' ? bytes.toString('hex').toUpperCase() : bytes.toString('base64');
  return convertIdSuccess({ format: destination, id, mailbox: source.mailbox });
}

const WATERMARK_PROBLEMS: Record<WatermarkProblem, string> = {
  unknown: 'this watermark was never issued by this server',
  otherMailbox: 'the watermark belongs to another mailbox',
  otherDatabase: 'the mailbox has moved to another database since the watermark was issued',
  expired: 'the watermark is older than 30 days',
  purged: 'events after the watermark are older than 30 days and have been removed',
};

function resolveImpersonation(store: MailboxStore, impersonation: Impersonation): string | undefined {
  if (impersonation.kind === 'SID') return undefined;
  return store.mailboxAddress(impersonation.value);
}

/** A caller without a mailbox named a well-known folder without saying whose. */
function missingEmailAddress(): ResponseMessage {
  return errorMessage(
    'ErrorMissingEmailAddress',
    'When making a request as an account that does not have a mailbox, you must specify the mailbox primary SMTP address for any distinguished folder Ids.',
  );
}

/**
 * Throttling: the ErrorServerBusy SOAP Fault with HTTP 500 and BackOffMilliseconds in MessageXml,
 * the shape Exchange Online sends (ews-protocol.md §3.3).
 */
function serverBusy(faults: FaultSettings): HttpAnswer {
  return fault('ErrorServerBusy', 'The server cannot service this request right now. Try again later.', [
    ['BackOffMilliseconds', String(Math.round(faults.serverBusyBackOffMs))],
  ]);
}

function moveInProgress(extra: ErrorExtras = {}): ResponseMessage {
  return errorMessage('ErrorMailboxMoveInProgress', 'Mailbox move in progress. Try again later.', extra);
}
