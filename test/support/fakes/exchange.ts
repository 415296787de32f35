/**
 * Exchange as the renewer sees it (RenewalExchange: Subscribe, SyncFolderItems, FindFolder,
 * GetItem existence checks), in memory and in microseconds. Each mailbox is a few folders, each
 * with a change log; a SyncState is a position in that log, so SyncFolderItems pages, resumes and
 * reports exactly what changed since, as Exchange's incremental sync does (an item created and
 * deleted between two calls still shows as both changes here; the simulator in simulator/ models
 * Exchange itself, this models only what the lifecycle asks). Failures are scripted per
 * operation with the EWS client's own error type, so categories, retryability and
 * BackOffMilliseconds are what the real client would hand over.
 */
import { err, ok, type Result } from '../../../functions/core/result.ts';
import { type EwsOperation, EwsResponseError } from '../../../functions/ews/errors.ts';
import type {
  EwsItem,
  SyncChange,
  SyncFolderItemsRequest,
  SyncFolderItemsResult,
} from '../../../functions/ews/items.ts';
import type { FolderRef } from '../../../functions/ews/request.ts';
import type { PushSubscriptionRequest, SubscribeResult } from '../../../functions/ews/subscribe.ts';
import type { ExchangeFailure, RenewalExchange } from '../../../functions/renewer/job.ts';
import type { ItemPresence } from '../../../functions/renewer/reconcile.ts';
import type { SyncFailure } from '../../../functions/renewer/sync.ts';
import { folderKey } from './sync-state-table.ts';

/** An error exactly as the EWS client returns it when Exchange answers `responseCode`. */
export function ewsError(
  operation: EwsOperation,
  responseCode: string,
  messageXml: Readonly<Record<string, string>> = {},
): EwsResponseError {
  return new EwsResponseError({
    operation,
    responseCode,
    messageText: null,
    messageXml: new Map(Object.entries(messageXml)),
    via: 'responseMessage',
  });
}

/** ErrorServerBusy asking to wait `backOffMs`. */
export const serverBusy = (operation: EwsOperation, backOffMs: number) =>
  ewsError(operation, 'ErrorServerBusy', { BackOffMilliseconds: String(backOffMs) });

interface FakeFolder {
  readonly ref: FolderRef;
  readonly log: SyncChange[];
}

interface FakeMailbox {
  readonly folders: Map<string, FakeFolder>;
  /** Items that exist now, by id. */
  readonly items: Set<string>;
  /** Item ids GetItem cannot tell about (access denied to that item). */
  readonly undetermined: Set<string>;
  /** Bumped to make every SyncState handed out so far invalid (ErrorInvalidSyncState). */
  epoch: number;
}

type Operation = 'subscribe' | 'syncFolderItems' | 'listFolders' | 'checkItems';

export class FakeExchange implements RenewalExchange {
  readonly #mailboxes = new Map<string, FakeMailbox>();
  readonly #failures = new Map<Operation, SyncFailure[]>();
  #subscriptions = 0;
  /** Watermarks Exchange rejects on Subscribe (ErrorInvalidWatermark); `'all'` for any. */
  rejectWatermarks: Set<string> | 'all' = new Set();
  /** Every call, in order: `subscribe a@b watermark=W1`, `syncFolderItems a@b inbox from=…`. */
  readonly calls: string[] = [];
  /** The Subscribe requests, in order. */
  readonly subscribeRequests: PushSubscriptionRequest[] = [];

  // ---- given … -----------------------------------------------------------------------------------

  /** A mailbox with these folders (empty). */
  mailbox(address: string, folders: readonly FolderRef[]): this {
    const mailbox = this.#mailbox(address);
    for (const ref of folders) {
      if (!mailbox.folders.has(folderKey(ref))) mailbox.folders.set(folderKey(ref), { ref, log: [] });
    }
    return this;
  }

  createItem(address: string, folder: FolderRef, itemId: string): this {
    this.#folder(address, folder).log.push({ kind: 'Create', item: messageItem(itemId) });
    this.#mailbox(address).items.add(itemId);
    return this;
  }

  deleteItem(address: string, folder: FolderRef, itemId: string): this {
    this.#folder(address, folder).log.push({ kind: 'Delete', itemId, changeKey: null });
    this.#mailbox(address).items.delete(itemId);
    return this;
  }

  /** The item vanishes without SyncFolderItems ever reporting it (created and deleted between two syncs). */
  vanish(address: string, itemId: string): this {
    this.#mailbox(address).items.delete(itemId);
    return this;
  }

  /** GetItem answers neither found nor not found for the item. */
  cannotTell(address: string, itemId: string): this {
    this.#mailbox(address).undetermined.add(itemId);
    return this;
  }

  removeFolder(address: string, folder: FolderRef): this {
    this.#mailbox(address).folders.delete(folderKey(folder));
    return this;
  }

  /** Every SyncState handed out so far is refused from now on (ErrorInvalidSyncState). */
  invalidateSyncStates(address: string): this {
    this.#mailbox(address).epoch++;
    return this;
  }

  /** The next call(s) of `operation` fail with these errors, one per call. */
  failNext(operation: Operation, ...errors: SyncFailure[]): this {
    this.#failures.set(operation, [...(this.#failures.get(operation) ?? []), ...errors]);
    return this;
  }

  // ---- RenewalExchange ---------------------------------------------------------------------------

  async subscribe(
    mailbox: string,
    request: PushSubscriptionRequest,
  ): Promise<Result<SubscribeResult, ExchangeFailure>> {
    this.calls.push(
      `subscribe ${mailbox}${request.watermark === undefined ? '' : ` watermark=${request.watermark}`}`,
    );
    this.subscribeRequests.push(request);
    const failure = this.#failure('subscribe');
    if (failure) return err(failure);
    const { watermark } = request;
    if (watermark !== undefined && (this.rejectWatermarks === 'all' || this.rejectWatermarks.has(watermark)))
      return err(ewsError('Subscribe', 'ErrorInvalidWatermark'));
    const n = ++this.#subscriptions;
    return ok({ subscriptionId: `SUB-${n}`, watermark: `WM-${n}-0` });
  }

  async syncFolderItems(
    mailbox: string,
    request: SyncFolderItemsRequest,
  ): Promise<Result<SyncFolderItemsResult, SyncFailure>> {
    const key = folderKey(request.syncFolderId);
    this.calls.push(
      `syncFolderItems ${mailbox} ${key}${request.syncState === undefined ? '' : ` from=${request.syncState}`}`,
    );
    const failure = this.#failure('syncFolderItems');
    if (failure) return err(failure);
    const box = this.#mailbox(mailbox);
    const folder = box.folders.get(key);
    if (folder === undefined) return err(ewsError('SyncFolderItems', 'ErrorFolderNotFound'));
    let from = 0;
    if (request.syncState !== undefined) {
      const match = /^(.+)@(\d+):(\d+)$/.exec(request.syncState);
      if (match === null || match[1] !== key || Number(match[2]) !== box.epoch)
        return err(ewsError('SyncFolderItems', 'ErrorInvalidSyncStateData'));
      from = Number(match[3]);
    }
    const to = Math.min(folder.log.length, from + request.maxChangesReturned);
    return ok({
      syncState: `${key}@${box.epoch}:${to}`,
      includesLastItemInRange: to === folder.log.length,
      changes: folder.log.slice(from, to),
    });
  }

  async listFolders(mailbox: string): Promise<Result<readonly FolderRef[], SyncFailure>> {
    this.calls.push(`listFolders ${mailbox}`);
    const failure = this.#failure('listFolders');
    if (failure) return err(failure);
    return ok([...this.#mailbox(mailbox).folders.values()].map((f) => f.ref));
  }

  async checkItems(
    mailbox: string,
    itemIds: readonly string[],
  ): Promise<Result<readonly ItemPresence[], SyncFailure>> {
    this.calls.push(`checkItems ${mailbox} ${itemIds.length}`);
    const failure = this.#failure('checkItems');
    if (failure) return err(failure);
    const box = this.#mailbox(mailbox);
    return ok(
      itemIds.map(
        (id): ItemPresence =>
          box.undetermined.has(id)
            ? { undetermined: 'ErrorAccessDenied' }
            : box.items.has(id)
              ? 'present'
              : 'missing',
      ),
    );
  }

  /** The SyncState a folder reaches now (what a test expects stored after a full sync). */
  syncStateAtEnd(address: string, folder: FolderRef): string {
    const box = this.#mailbox(address);
    return `${folderKey(folder)}@${box.epoch}:${this.#folder(address, folder).log.length}`;
  }

  #failure(operation: Operation): SyncFailure | undefined {
    return this.#failures.get(operation)?.shift();
  }

  #mailbox(address: string): FakeMailbox {
    let box = this.#mailboxes.get(address);
    if (box === undefined) {
      box = { folders: new Map(), items: new Set(), undetermined: new Set(), epoch: 0 };
      this.#mailboxes.set(address, box);
    }
    return box;
  }

  #folder(address: string, ref: FolderRef): FakeFolder {
    this.mailbox(address, [ref]);
    const folder = this.#mailbox(address).folders.get(folderKey(ref));
    if (folder === undefined) throw new Error(`no folder ${folderKey(ref)} in ${address}`);
    return folder;
  }
}

function messageItem(id: string): EwsItem {
  return {
    kind: 'Message',
    element: 'Message',
    id,
    changeKey: `CK-${id}`,
    subject: null,
    itemClass: 'IPM.Note',
    lastModified: null,
    from: null,
    received: null,
    isRead: false,
  };
}
