/**
 * `GetItem` (the properties of items a notification named) and `SyncFolderItems` (what changed in
 * a folder since a SyncState: the catch-up after a lost subscription), with the item shapes the
 * bridge reads back.
 */
import { err, ok, type Result } from '../core/result.ts';
import { showValue } from '../core/show.ts';
import { type EwsError, EwsProtocolError, type EwsResponseError, InvalidEwsRequestError } from './errors.ts';
import {
  type FolderRef,
  type RequestContext,
  requireIntegerInRange,
  requireText,
  writeFolderRef,
  writeHeader,
} from './request.ts';
import {
  openResponse,
  readResponseMessageHead,
  responseMessageError,
  responseMessages,
  singleSuccessfulMessage,
  writeEnvelope,
} from './soap.ts';
import { escapeAttribute, escapeText, NS, type XmlElement } from './xml.ts';

// ---- request side ---------------------------------------------------------------------------

export type BaseShape = 'IdOnly' | 'Default' | 'AllProperties';

/** The `t:FieldURI` properties the bridge knows how to read back. */
export const ITEM_FIELDS = [
  'item:Subject',
  'item:ItemClass',
  'item:DateTimeReceived',
  'item:LastModifiedTime',
  'item:ParentFolderId',
  'message:From',
  'message:IsRead',
  'calendar:Start',
  'calendar:End',
  'calendar:Organizer',
  'calendar:Location',
] as const;
export type ItemField = (typeof ITEM_FIELDS)[number];

export interface ItemShape {
  readonly baseShape: BaseShape;
  readonly additionalProperties?: readonly ItemField[];
}

/** Ids plus every property the decoded item types carry: what enrichment asks for. */
export const ENRICHMENT_SHAPE: ItemShape = { baseShape: 'IdOnly', additionalProperties: ITEM_FIELDS };

function writeItemShape(shape: ItemShape): string {
  if (shape.baseShape !== 'IdOnly' && shape.baseShape !== 'Default' && shape.baseShape !== 'AllProperties') {
    throw new InvalidEwsRequestError(
      'BaseShape',
      String(shape.baseShape),
      'must be IdOnly, Default or AllProperties',
    );
  }
  const fields = shape.additionalProperties ?? [];
  for (const field of fields) {
    if (!(ITEM_FIELDS as readonly string[]).includes(field)) {
      throw new InvalidEwsRequestError('FieldURI', field, `is not one of ${ITEM_FIELDS.join(', ')}`);
    }
  }
  const additional =
    fields.length === 0
      ? ''
      : `<t:AdditionalProperties>${fields.map((f) => `<t:FieldURI FieldURI="${f}"/>`).join('')}</t:AdditionalProperties>`;
  return `<m:ItemShape><t:BaseShape>${shape.baseShape}</t:BaseShape>${additional}</m:ItemShape>`;
}

export interface ItemIdRef {
  readonly id: string;
  readonly changeKey?: string | null;
}

/** The most ids one GetItem carries; Microsoft recommends batches of about 10 items. */
export const MAX_GET_ITEM_IDS = 100;

export interface GetItemRequest {
  readonly itemShape: ItemShape;
  readonly itemIds: readonly ItemIdRef[];
}

export function encodeGetItem(request: GetItemRequest, context: RequestContext = {}): string {
  if (request.itemIds.length === 0)
    throw new InvalidEwsRequestError('ItemIds', '[]', 'is empty; name at least one item');
  if (request.itemIds.length > MAX_GET_ITEM_IDS) {
    throw new InvalidEwsRequestError(
      'ItemIds',
      `${request.itemIds.length} ids`,
      `is more than ${MAX_GET_ITEM_IDS}; split the request (Exchange recommends ~10 per call)`,
    );
  }
  const ids = request.itemIds
    .map(({ id, changeKey }) => {
      const key = changeKey ? ` ChangeKey="${escapeAttribute(requireText('ChangeKey', changeKey))}"` : '';
      return `<t:ItemId Id="${escapeAttribute(requireText('ItemId', id))}"${key}/>`;
    })
    .join('');
  return writeEnvelope(
    `<m:GetItem>${writeItemShape(request.itemShape)}<m:ItemIds>${ids}</m:ItemIds></m:GetItem>`,
    {
      header: writeHeader(context),
    },
  );
}

/** Most changes one SyncFolderItems call may return (t:MaxSyncChangesReturnedType). */
export const MAX_SYNC_CHANGES = 512;

export interface SyncFolderItemsRequest {
  readonly itemShape: ItemShape;
  readonly syncFolderId: FolderRef;
  /** Omit on the first call for a folder: Exchange then reports every item as a Create. */
  readonly syncState?: string;
  /** 1–512. */
  readonly maxChangesReturned: number;
  readonly syncScope?: 'NormalItems' | 'NormalAndAssociatedItems';
}

export function encodeSyncFolderItems(request: SyncFolderItemsRequest, context: RequestContext = {}): string {
  const max = requireIntegerInRange('MaxChangesReturned', request.maxChangesReturned, 1, MAX_SYNC_CHANGES);
  const syncState =
    request.syncState === undefined
      ? ''
      : `<m:SyncState>${escapeText(requireText('SyncState', request.syncState))}</m:SyncState>`;
  const scope = request.syncScope;
  if (scope !== undefined && scope !== 'NormalItems' && scope !== 'NormalAndAssociatedItems') {
    throw new InvalidEwsRequestError(
      'SyncScope',
      String(scope),
      'must be NormalItems or NormalAndAssociatedItems',
    );
  }
  const body =
    `<m:SyncFolderItems>${writeItemShape(request.itemShape)}` +
    `<m:SyncFolderId>${writeFolderRef(request.syncFolderId)}</m:SyncFolderId>${syncState}` +
    `<m:MaxChangesReturned>${max}</m:MaxChangesReturned>${scope === undefined ? '' : `<m:SyncScope>${scope}</m:SyncScope>`}` +
    '</m:SyncFolderItems>';
  return writeEnvelope(body, { header: writeHeader(context) });
}

// ---- response side --------------------------------------------------------------------------

export interface EwsMailbox {
  readonly name: string | null;
  readonly emailAddress: string | null;
}

interface ItemBase {
  /** The element Exchange used (`CalendarItem`, `Message`, `MeetingRequest`, `Contact`, …). */
  readonly element: string;
  readonly id: string;
  readonly changeKey: string | null;
  readonly subject: string | null;
  readonly itemClass: string | null;
  readonly lastModified: string | null;
}

export interface CalendarItem extends ItemBase {
  readonly kind: 'CalendarItem';
  readonly start: string | null;
  readonly end: string | null;
  readonly organizer: EwsMailbox | null;
  readonly location: string | null;
}

/** A message, or any of its kinds (meeting requests, responses and cancellations). */
export interface MessageItem extends ItemBase {
  readonly kind: 'Message';
  readonly from: EwsMailbox | null;
  readonly received: string | null;
  readonly isRead: boolean | null;
}

/** Any other item (contact, task, post…): ids and the common properties. */
export interface OtherItem extends ItemBase {
  readonly kind: 'Item';
}

export type EwsItem = CalendarItem | MessageItem | OtherItem;

const MESSAGE_ELEMENTS = new Set([
  'Message',
  'MeetingMessage',
  'MeetingRequest',
  'MeetingResponse',
  'MeetingCancellation',
]);
const ITEM_ELEMENTS = new Set([
  'Item',
  'CalendarItem',
  ...MESSAGE_ELEMENTS,
  'Contact',
  'DistributionList',
  'Task',
  'PostItem',
  'RoleMember',
  'Network',
  'Person',
]);

function decodeItem(element: XmlElement): Result<EwsItem, string> {
  const child = (name: string) => element.children.find((c) => c.ns === NS.types && c.name === name);
  const text = (name: string) => child(name)?.text || null;
  const itemId = child('ItemId');
  const id = itemId?.attributes.get('Id');
  if (!id) return err(`t:${element.name} has no t:ItemId with an Id`);
  const base: ItemBase = {
    element: element.name,
    id,
    changeKey: itemId?.attributes.get('ChangeKey') || null,
    subject: text('Subject'),
    itemClass: text('ItemClass'),
    lastModified: text('LastModifiedTime'),
  };
  if (element.name === 'CalendarItem') {
    return ok({
      ...base,
      kind: 'CalendarItem',
      start: text('Start'),
      end: text('End'),
      organizer: decodeMailbox(child('Organizer')),
      location: text('Location'),
    });
  }
  if (MESSAGE_ELEMENTS.has(element.name)) {
    const isRead = text('IsRead');
    const parsedIsRead = isRead === null ? null : parseBoolean(isRead);
    if (parsedIsRead === undefined)
      return err(`t:IsRead is ${showValue(isRead ?? '')}, expected true or false`);
    return ok({
      ...base,
      kind: 'Message',
      from: decodeMailbox(child('From')),
      received: text('DateTimeReceived'),
      isRead: parsedIsRead,
    });
  }
  return ok({ ...base, kind: 'Item' });
}

/** `t:From` / `t:Organizer` hold a `t:Mailbox` with `t:Name` and `t:EmailAddress`. */
function decodeMailbox(recipient: XmlElement | undefined): EwsMailbox | null {
  const mailbox = recipient?.children.find((c) => c.ns === NS.types && c.name === 'Mailbox');
  if (mailbox === undefined) return null;
  const field = (name: string) =>
    mailbox.children.find((c) => c.ns === NS.types && c.name === name)?.text || null;
  return { name: field('Name'), emailAddress: field('EmailAddress') };
}

function parseBoolean(text: string): boolean | undefined {
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  return undefined;
}

/**
 * One answer per requested id, in request order: the item, or the error Exchange gave for that id
 * (ErrorItemNotFound for an item deleted since the notification, …).
 */
export type GetItemResult = ReadonlyArray<Result<EwsItem, EwsResponseError | EwsProtocolError>>;

export function decodeGetItemResponse(body: string | Uint8Array): Result<GetItemResult, EwsError> {
  return decodeGetItemAnswers(body, (c) => ITEM_ELEMENTS.has(c.name), decodeItem);
}

/**
 * A GetItemResponse read answer by answer, in the order the ids were asked: each answer's error,
 * or the one item it holds decoded by `decode` (a part `decode` cannot use fails that answer
 * alone). `isItem` says which elements of `m:Items` are items to the caller.
 */
export function decodeGetItemAnswers<T>(
  body: string | Uint8Array,
  isItem: (element: XmlElement) => boolean,
  decode: (element: XmlElement) => Result<T, string>,
): Result<ReadonlyArray<Result<T, EwsResponseError | EwsProtocolError>>, EwsError> {
  const response = openResponse('GetItem', body);
  if (!response.ok) return response;
  const messages = responseMessages('GetItem', response.value);
  if (!messages.ok) return messages;
  const results: Array<Result<T, EwsResponseError | EwsProtocolError>> = [];
  for (const message of messages.value) {
    const head = readResponseMessageHead(message);
    if (!head.ok) return err(new EwsProtocolError('GetItem', head.error));
    const failure = responseMessageError('GetItem', head.value);
    if (failure) {
      results.push(err(failure));
      continue;
    }
    const items = message.children.find((c) => c.ns === NS.messages && c.name === 'Items');
    const itemElements = items?.children.filter((c) => c.ns === NS.types && isItem(c)) ?? [];
    const [first] = itemElements;
    if (first === undefined || itemElements.length !== 1) {
      return err(
        new EwsProtocolError(
          'GetItem',
          `a successful GetItemResponseMessage holds ${itemElements.length} items, expected 1`,
        ),
      );
    }
    const item = decode(first);
    results.push(item.ok ? item : err(new EwsProtocolError('GetItem', item.error, 'unusablePart')));
  }
  return ok(results);
}

/** One change SyncFolderItems reports, in the order Exchange lists them. */
export type SyncChange =
  | { readonly kind: 'Create' | 'Update'; readonly item: EwsItem }
  | { readonly kind: 'Delete'; readonly itemId: string; readonly changeKey: string | null }
  | {
      readonly kind: 'ReadFlagChange';
      readonly itemId: string;
      readonly changeKey: string | null;
      readonly isRead: boolean;
    };

export interface SyncFolderItemsResult {
  /** Store it and send it with the next call to continue from here. */
  readonly syncState: string;
  /** False while more changes wait: call again with the new SyncState. */
  readonly includesLastItemInRange: boolean;
  readonly changes: readonly SyncChange[];
}

export function decodeSyncFolderItemsResponse(
  body: string | Uint8Array,
): Result<SyncFolderItemsResult, EwsError> {
  const opened = singleSuccessfulMessage('SyncFolderItems', body);
  if (!opened.ok) return opened;
  const message = opened.value;
  const field = (name: string) => message.children.find((c) => c.ns === NS.messages && c.name === name);
  const syncState = field('SyncState')?.text;
  if (!syncState)
    return err(new EwsProtocolError('SyncFolderItems', 'the successful response has no m:SyncState'));
  const lastText = field('IncludesLastItemInRange')?.text;
  const includesLastItemInRange = lastText === undefined ? undefined : parseBoolean(lastText);
  if (includesLastItemInRange === undefined) {
    return err(
      new EwsProtocolError(
        'SyncFolderItems',
        `m:IncludesLastItemInRange is ${showValue(lastText ?? '(absent)')}, expected true or false`,
      ),
    );
  }
  const changes: SyncChange[] = [];
  for (const change of field('Changes')?.children ?? []) {
    if (change.ns !== NS.types) continue;
    const decoded = decodeChange(change);
    if (!decoded.ok) return err(new EwsProtocolError('SyncFolderItems', decoded.error));
    changes.push(decoded.value);
  }
  return ok({ syncState, includesLastItemInRange, changes });
}

function decodeChange(change: XmlElement): Result<SyncChange, string> {
  const child = (name: string) => change.children.find((c) => c.ns === NS.types && c.name === name);
  switch (change.name) {
    case 'Create':
    case 'Update': {
      const element = change.children.find((c) => c.ns === NS.types && ITEM_ELEMENTS.has(c.name));
      if (element === undefined) return err(`t:${change.name} holds no item`);
      const item = decodeItem(element);
      return item.ok ? ok({ kind: change.name, item: item.value }) : item;
    }
    case 'Delete':
    case 'ReadFlagChange': {
      const itemId = child('ItemId');
      const id = itemId?.attributes.get('Id');
      if (!id) return err(`t:${change.name} has no t:ItemId with an Id`);
      const changeKey = itemId?.attributes.get('ChangeKey') || null;
      if (change.name === 'Delete') return ok({ kind: 'Delete', itemId: id, changeKey });
      const isRead = parseBoolean(child('IsRead')?.text ?? '');
      if (isRead === undefined) return err('t:ReadFlagChange has no valid t:IsRead');
      return ok({ kind: 'ReadFlagChange', itemId: id, changeKey, isRead });
    }
    default:
      return err(`m:Changes holds an unexpected element t:${change.name}`);
  }
}
