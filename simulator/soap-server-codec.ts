/**
 * The Exchange side of the EWS SOAP vocabulary: decoding the requests a client sends (Subscribe,
 * GetItem, SyncFolderItems, FindFolder, GetFolder, ConvertId, and the few others a push client
 * might try) and encoding Exchange's responses and SOAP Faults.
 *
 * Requests are read as strictly as Exchange reads them: elements in schema order, enumerations
 * exact, numbers in range; anything else is the ErrorSchemaValidation fault Exchange answers, with
 * a violation text shaped like .NET's. The client-side codecs in functions/ews are the other half
 * and are used by the tests to talk to the simulator.
 */
import { err, ok, type Result } from '../functions/core/result.ts';
import {
  type DistinguishedFolderName,
  EXCHANGE_VERSIONS,
  type ExchangeVersion,
  type Impersonation,
  isDistinguishedFolderName,
} from '../functions/ews/request.ts';
import { type EnvelopeProblem, openEnvelope, writeEnvelope } from '../functions/ews/soap.ts';
import { SUBSCRIBABLE_EVENT_TYPES, type SubscribableEventType } from '../functions/ews/subscribe.ts';
import { escapeAttribute, escapeText, NS, type XmlElement, type XmlLimits } from '../functions/ews/xml.ts';
import type { FolderListing } from './folders.ts';
import { type BodyTypeResponse, encodeItem, type ItemShape, type ItemView } from './item-codec.ts';
import type { SyncChange } from './sync.ts';
import { positionInMessage, positionOf, type TextPosition } from './xml-positions.ts';

/** The newest RequestServerVersion accepted, which every response header advertises. */
export const NEWEST_VERSION: ExchangeVersion =
  EXCHANGE_VERSIONS[EXCHANGE_VERSIONS.length - 1] ?? 'V2016_10_10';

/** Largest request accepted: the biggest real requests (GetItem with 100 ids) are a few KiB. */
export const REQUEST_LIMITS: XmlLimits = { maxBytes: 1024 * 1024, maxDepth: 32 };

// ---- decoded requests -------------------------------------------------------------------------

export type FolderRef =
  | {
      readonly kind: 'distinguished';
      readonly name: DistinguishedFolderName;
      readonly mailbox: string | null;
    }
  | { readonly kind: 'id'; readonly id: string };

export interface RequestHeader {
  readonly requestServerVersion: ExchangeVersion | null;
  readonly impersonation: Impersonation | null;
}

export interface PushSubscribeRequest {
  readonly folders: 'all' | readonly FolderRef[];
  readonly eventTypes: readonly SubscribableEventType[];
  /** `t:Watermark`, the one Exchange reads. */
  readonly watermark: string | null;
  /**
   * A watermark sent as `m:Watermark` (exchangelib does): accepted as Exchange accepts it, and
   * not read (docs/simulator.md, "m:Watermark", gives the evidence).
   */
  readonly unreadWatermark: string | null;
  readonly statusFrequency: number;
  readonly url: string;
  readonly callerData: string | null;
}

export type { BaseShape, BodyTypeResponse, ItemShape } from './item-codec.ts';

/** `t:FolderResponseShapeType`: the same two parts as an item shape, as far as the simulator reads. */
export type FolderShape = ItemShape;

/** `t:FolderQueryTraversalType`. */
export type FolderTraversal = 'Shallow' | 'Deep' | 'SoftDeleted';

/** The paging view of a FindFolder request, if it has one. */
export type FolderView =
  | { readonly kind: 'none' }
  | {
      readonly kind: 'indexed';
      /** null when the attribute is left out: no limit asked for. */
      readonly maxEntriesReturned: number | null;
      readonly offset: number;
      readonly basePoint: 'Beginning' | 'End';
    }
  | { readonly kind: 'fractional' };

export type EwsRequest =
  | { readonly operation: 'Subscribe'; readonly push: PushSubscribeRequest }
  | { readonly operation: 'Subscribe'; readonly push: null; readonly kind: 'Pull' | 'Streaming' }
  | { readonly operation: 'GetItem'; readonly itemShape: ItemShape; readonly itemIds: readonly ItemRef[] }
  | {
      readonly operation: 'SyncFolderItems';
      readonly itemShape: ItemShape;
      readonly syncFolderId: FolderRef;
      readonly syncState: string | null;
      readonly ignore: readonly string[];
      readonly maxChangesReturned: number;
    }
  | {
      readonly operation: 'FindFolder';
      readonly traversal: FolderTraversal;
      readonly folderShape: FolderShape;
      readonly view: FolderView;
      /** Whether a `m:Restriction` came with it (the simulator does not evaluate restrictions). */
      readonly restricted: boolean;
      readonly parentFolderIds: readonly FolderRef[];
    }
  | {
      readonly operation: 'GetFolder';
      readonly folderShape: FolderShape;
      readonly folderIds: readonly FolderRef[];
    }
  | {
      readonly operation: 'ConvertId';
      readonly destinationFormat: IdFormat;
      readonly sourceIds: readonly AlternateId[];
    }
  | { readonly operation: 'Unsubscribe'; readonly subscriptionId: string }
  | { readonly operation: 'GetEvents'; readonly subscriptionId: string; readonly watermark: string }
  /** A message of the messages namespace that the simulator does not implement. */
  | { readonly operation: 'Unsupported'; readonly name: string };

/**
 * An id GetItem names: `t:ItemId` (an item, or an occurrence or exception by its own id),
 * `t:OccurrenceItemId` (occurrence `instanceIndex`, 1-based, of a master) or
 * `t:RecurringMasterItemId` (the master of an occurrence or exception).
 */
export type ItemRef =
  | { readonly kind: 'item'; readonly id: string }
  | { readonly kind: 'occurrence'; readonly masterId: string; readonly instanceIndex: number }
  | { readonly kind: 'master'; readonly occurrenceId: string };

/** `t:IdFormatType`: the forms an item or folder id can be converted between. */
export const ID_FORMATS = ['EwsLegacyId', 'EwsId', 'EntryId', 'HexEntryId', 'StoreId', 'OwaId'] as const;
export type IdFormat = (typeof ID_FORMATS)[number];

/** One `t:AlternateId` of a ConvertId request (public folder ids are not simulated). */
export interface AlternateId {
  readonly format: IdFormat;
  readonly id: string;
  readonly mailbox: string;
}

export type RequestRefusal =
  /**
   * Not XML, not a SOAP 1.1 envelope, or not what the schema allows: ErrorSchemaValidation, with
   * where in the request the violation is (0 and 0 when that is not known).
   */
  | ({ readonly kind: 'SchemaValidation'; readonly violation: string } & TextPosition)
  /** A SOAP 1.2 envelope posted as SOAP 1.1: the SOAP VersionMismatch fault. */
  | { readonly kind: 'VersionMismatch'; readonly violation: string };

export interface DecodedRequest {
  readonly header: RequestHeader;
  readonly request: EwsRequest;
}

/** Decodes an EWS request body. Never throws. */
export function decodeEwsRequest(body: Uint8Array | string): Result<DecodedRequest, RequestRefusal> {
  const opened = openEnvelope(body, REQUEST_LIMITS);
  if (!opened.ok) {
    return err({
      kind: 'SchemaValidation',
      violation: envelopeProblemText(opened.error),
      ...positionInMessage(opened.error.message),
    });
  }
  const { soapVersion, root, header, payload } = opened.value;
  if (soapVersion !== '1.1') {
    return err({
      kind: 'VersionMismatch',
      violation: 'the envelope is SOAP 1.2 but was posted as text/xml (SOAP 1.1)',
    });
  }
  const located = (violation: Violation): RequestRefusal => ({
    kind: 'SchemaValidation',
    violation: violation.message,
    ...positionOf(requestText(body), root, violation.node, violation),
  });
  const decodedHeader = decodeHeader(header);
  if (!decodedHeader.ok) return err(located(decodedHeader.error));
  if (payload.ns !== NS.messages) {
    return err(
      located({
        node: payload,
        message: `The element '${payload.name}' in namespace '${payload.ns}' is not an EWS request; requests are in namespace '${NS.messages}'.`,
      }),
    );
  }
  const request = decodeOperation(payload);
  if (!request.ok) return err(located(request.error));
  return ok({ header: decodedHeader.value, request: request.value });
}

/** The request as text, as the parser read it (a leading byte-order mark is not counted). */
function requestText(body: Uint8Array | string): string {
  const text = typeof body === 'string' ? body : new TextDecoder('utf-8').decode(body);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function envelopeProblemText(problem: EnvelopeProblem): string {
  return problem.reason === 'NotSoapEnvelope'
    ? `The request is not a SOAP envelope: ${problem.message}.`
    : `The request is not well-formed XML: ${problem.message}.`;
}

function decodeOperation(payload: XmlElement): Result<EwsRequest, Violation> {
  switch (payload.name) {
    case 'Subscribe':
      return decodeSubscribe(payload);
    case 'GetItem':
      return decodeGetItem(payload);
    case 'SyncFolderItems':
      return decodeSyncFolderItems(payload);
    case 'FindFolder':
      return decodeFindFolder(payload);
    case 'GetFolder':
      return decodeGetFolder(payload);
    case 'ConvertId':
      return decodeConvertId(payload);
    case 'Unsubscribe': {
      const parts = readSequence(payload, [particle(NS.messages, 'SubscriptionId')]);
      if (!parts.ok) return parts;
      return ok({ operation: 'Unsubscribe', subscriptionId: parts.value.text('SubscriptionId') });
    }
    case 'GetEvents': {
      const parts = readSequence(payload, [
        particle(NS.messages, 'SubscriptionId'),
        particle(NS.messages, 'Watermark'),
      ]);
      if (!parts.ok) return parts;
      return ok({
        operation: 'GetEvents',
        subscriptionId: parts.value.text('SubscriptionId'),
        watermark: parts.value.text('Watermark'),
      });
    }
    default:
      return ok({ operation: 'Unsupported', name: payload.name });
  }
}

// ---- header ---------------------------------------------------------------------------------

const IMPERSONATION_KINDS = ['PrincipalName', 'SID', 'PrimarySmtpAddress', 'SmtpAddress'] as const;

function decodeHeader(header: XmlElement | undefined): Result<RequestHeader, Violation> {
  let requestServerVersion: ExchangeVersion | null = null;
  let impersonation: Impersonation | null = null;
  for (const child of header?.children ?? []) {
    if (child.ns !== NS.types) continue;
    if (child.name === 'RequestServerVersion') {
      const version = child.attributes.get('Version');
      if (version === undefined) return fail(child, "The required attribute 'Version' is missing.");
      const known = EXCHANGE_VERSIONS.find((v) => v === version);
      if (known === undefined) {
        return fail(
          child,
          `The 'Version' attribute is invalid - The value '${version}' is invalid according to its datatype 'http://schemas.microsoft.com/exchange/services/2006/types:ExchangeVersionType' - The Enumeration constraint failed.`,
          { attribute: 'Version' },
        );
      }
      requestServerVersion = known;
    } else if (child.name === 'ExchangeImpersonation') {
      const connecting = child.children.find((c) => c.ns === NS.types && c.name === 'ConnectingSID');
      const id = connecting?.children.find((c) => c.ns === NS.types);
      const kind = IMPERSONATION_KINDS.find((k) => k === id?.name);
      if (id === undefined || kind === undefined || id.text === '') {
        return fail(
          child,
          "The element 'ExchangeImpersonation' must hold ConnectingSID with one of PrincipalName, SID, PrimarySmtpAddress or SmtpAddress.",
        );
      }
      impersonation = { kind, value: id.text };
    }
    // Other headers (MailboxCulture, TimeZoneContext, …) change nothing the simulator models.
  }
  return ok({ requestServerVersion, impersonation });
}

// ---- Subscribe ------------------------------------------------------------------------------

function decodeSubscribe(payload: XmlElement): Result<EwsRequest, Violation> {
  const [request, ...rest] = payload.children;
  const kinds = ['PullSubscriptionRequest', 'PushSubscriptionRequest', 'StreamingSubscriptionRequest'];
  if (
    request === undefined ||
    request.ns !== NS.messages ||
    !kinds.includes(request.name) ||
    rest.length > 0
  ) {
    return fail(
      rest[0] ?? request ?? payload,
      `The element 'Subscribe' in namespace '${NS.messages}' must hold exactly one of ${kinds.map((k) => `'${k}'`).join(', ')}.`,
      { end: request === undefined },
    );
  }
  if (request.name === 'PullSubscriptionRequest')
    return ok({ operation: 'Subscribe', push: null, kind: 'Pull' });
  if (request.name === 'StreamingSubscriptionRequest') {
    return ok({ operation: 'Subscribe', push: null, kind: 'Streaming' });
  }
  const parts = readSequence(request, [
    particle(NS.types, 'FolderIds', 0),
    particle(NS.types, 'EventTypes'),
    particle(NS.types, 'Watermark', 0),
    particle(NS.messages, 'Watermark', 0, 'MessagesWatermark'),
    particle(NS.types, 'StatusFrequency'),
    particle(NS.types, 'URL'),
    particle(NS.types, 'CallerData', 0),
  ]);
  if (!parts.ok) return parts;
  const p = parts.value;
  const allFolders = request.attributes.get('SubscribeToAllFolders');
  const subscribeToAll = allFolders === undefined ? false : parseBoolean(allFolders);
  if (subscribeToAll === undefined) {
    return fail(
      request,
      `The 'SubscribeToAllFolders' attribute is invalid - The value '${allFolders}' is not a valid Boolean.`,
      { attribute: 'SubscribeToAllFolders' },
    );
  }
  let folders: 'all' | FolderRef[];
  const folderIds = p.first('FolderIds');
  if (subscribeToAll) {
    // Exchange refuses a request that names folders and asks for all of them at once.
    if (folderIds !== undefined)
      return fail(folderIds, 'SubscribeToAllFolders="true" cannot be combined with FolderIds.');
    folders = 'all';
  } else {
    if (folderIds === undefined)
      return fail(request, 'A subscription needs FolderIds unless SubscribeToAllFolders="true".');
    const refs = decodeFolderRefs(folderIds);
    if (!refs.ok) return refs;
    folders = refs.value;
  }
  const eventTypes: SubscribableEventType[] = [];
  const eventTypesElement = requireFirst(p, 'EventTypes');
  for (const child of eventTypesElement.children) {
    if (child.ns !== NS.types || child.name !== 'EventType') {
      return fail(
        child,
        `The element 'EventTypes' has invalid child element '${child.name}'. Expected 'EventType'.`,
      );
    }
    const type = SUBSCRIBABLE_EVENT_TYPES.find((t) => t === child.text);
    if (type === undefined)
      return fail(child, enumerationViolation('EventType', child.text, 'NotificationEventTypeType'));
    eventTypes.push(type);
  }
  if (eventTypes.length === 0)
    return fail(eventTypesElement, "The element 'EventTypes' has incomplete content. Expected 'EventType'.", {
      end: true,
    });
  const statusFrequency = parseInteger(p.text('StatusFrequency'));
  if (statusFrequency === undefined || statusFrequency < 1 || statusFrequency > 1440) {
    return fail(
      requireFirst(p, 'StatusFrequency'),
      `The 'StatusFrequency' element is invalid - The value '${p.text('StatusFrequency')}' is invalid according to its datatype 'SubscriptionStatusFrequencyType' - it must be an integer from 1 to 1440.`,
    );
  }
  const watermark = p.first('Watermark');
  const unreadWatermark = p.first('MessagesWatermark');
  const callerData = p.first('CallerData');
  return ok({
    operation: 'Subscribe',
    push: {
      folders,
      eventTypes,
      watermark: watermark === undefined ? null : watermark.text,
      unreadWatermark: unreadWatermark === undefined ? null : unreadWatermark.text,
      statusFrequency,
      url: p.text('URL'),
      callerData: callerData === undefined ? null : callerData.text,
    },
  });
}

function decodeFolderRefs(parent: XmlElement): Result<FolderRef[], Violation> {
  const refs: FolderRef[] = [];
  for (const child of parent.children) {
    const ref = decodeFolderRef(child);
    if (!ref.ok) return ref;
    refs.push(ref.value);
  }
  if (refs.length === 0)
    return fail(
      parent,
      `The element '${parent.name}' has incomplete content. Expected 'FolderId' or 'DistinguishedFolderId'.`,
      { end: true },
    );
  return ok(refs);
}

function decodeFolderRef(element: XmlElement): Result<FolderRef, Violation> {
  if (element.ns === NS.types && element.name === 'FolderId') {
    const id = element.attributes.get('Id');
    if (!id) return fail(element, "The required attribute 'Id' is missing.");
    return ok({ kind: 'id', id });
  }
  if (element.ns === NS.types && element.name === 'DistinguishedFolderId') {
    const id = element.attributes.get('Id') ?? '';
    if (!isDistinguishedFolderName(id))
      return fail(element, attributeEnumerationViolation('Id', id, 'DistinguishedFolderIdNameType'), {
        attribute: 'Id',
      });
    const mailbox = element.children.find((c) => c.ns === NS.types && c.name === 'Mailbox');
    const address = mailbox?.children.find((c) => c.ns === NS.types && c.name === 'EmailAddress')?.text;
    return ok({ kind: 'distinguished', name: id, mailbox: address || null });
  }
  return fail(
    element,
    `Invalid child element '${element.name}' where FolderId or DistinguishedFolderId was expected.`,
  );
}

// ---- GetItem and SyncFolderItems ------------------------------------------------------------

function decodeItemShape(element: XmlElement): Result<ItemShape, Violation> {
  const parts = readSequence(element, [
    particle(NS.types, 'BaseShape'),
    particle(NS.types, 'IncludeMimeContent', 0),
    particle(NS.types, 'BodyType', 0),
    particle(NS.types, 'UniqueBodyType', 0),
    particle(NS.types, 'NormalizedBodyType', 0),
    particle(NS.types, 'FilterHtmlContent', 0),
    particle(NS.types, 'ConvertHtmlCodePageToUTF8', 0),
    particle(NS.types, 'InlineImageUrlTemplate', 0),
    particle(NS.types, 'BlockExternalImages', 0),
    particle(NS.types, 'AddBlankTargetToLinks', 0),
    particle(NS.types, 'MaximumBodySize', 0),
    particle(NS.types, 'AdditionalProperties', 0),
  ]);
  return parts.ok ? readShape(parts.value) : parts;
}

/** BaseShape and the FieldURIs of AdditionalProperties: the part item and folder shapes share. */
function readShape(parts: SequenceParts): Result<ItemShape, Violation> {
  const baseShape = parts.text('BaseShape');
  if (baseShape !== 'IdOnly' && baseShape !== 'Default' && baseShape !== 'AllProperties') {
    return fail(
      requireFirst(parts, 'BaseShape'),
      enumerationViolation('BaseShape', baseShape, 'DefaultShapeNamesType'),
    );
  }
  const bodyTypeElement = parts.first('BodyType');
  let bodyType: BodyTypeResponse = 'Best';
  if (bodyTypeElement !== undefined) {
    const text = bodyTypeElement.text;
    if (text !== 'Best' && text !== 'HTML' && text !== 'Text') {
      return fail(bodyTypeElement, enumerationViolation('BodyType', text, 'BodyTypeResponseType'));
    }
    bodyType = text;
  }
  const additionalProperties = new Set<string>();
  for (const path of parts.first('AdditionalProperties')?.children ?? []) {
    // Indexed and extended properties are valid requests; the simulator has none of them to return.
    if (path.ns !== NS.types || path.name !== 'FieldURI') continue;
    const uri = path.attributes.get('FieldURI');
    if (!uri) return fail(path, "The required attribute 'FieldURI' is missing.");
    additionalProperties.add(uri);
  }
  return ok({ baseShape, additionalProperties, bodyType });
}

function decodeGetItem(payload: XmlElement): Result<EwsRequest, Violation> {
  const parts = readSequence(payload, [particle(NS.messages, 'ItemShape'), particle(NS.messages, 'ItemIds')]);
  if (!parts.ok) return parts;
  const shape = decodeItemShape(requireFirst(parts.value, 'ItemShape'));
  if (!shape.ok) return shape;
  const itemIds: ItemRef[] = [];
  for (const id of requireFirst(parts.value, 'ItemIds').children) {
    const ref = decodeItemRef(id);
    if (!ref.ok) return ref;
    itemIds.push(ref.value);
  }
  if (itemIds.length === 0) {
    return fail(
      requireFirst(parts.value, 'ItemIds'),
      "The element 'ItemIds' has incomplete content. Expected 'ItemId'.",
      {
        end: true,
      },
    );
  }
  return ok({ operation: 'GetItem', itemShape: shape.value, itemIds });
}

function decodeItemRef(id: XmlElement): Result<ItemRef, Violation> {
  const required = (name: string): Result<string, Violation> => {
    const value = id.attributes.get(name);
    return value === undefined ? fail(id, `The required attribute '${name}' is missing.`) : ok(value);
  };
  if (id.ns === NS.types && id.name === 'ItemId') {
    const value = required('Id');
    return value.ok ? ok({ kind: 'item', id: value.value }) : value;
  }
  if (id.ns === NS.types && id.name === 'OccurrenceItemId') {
    const master = required('RecurringMasterId');
    if (!master.ok) return master;
    const index = required('InstanceIndex');
    if (!index.ok) return index;
    const instanceIndex = parseXsInt(index.value);
    if (instanceIndex === undefined) {
      return fail(
        id,
        `The 'InstanceIndex' attribute is invalid - The value '${index.value}' is invalid according to its datatype 'http://www.w3.org/2001/XMLSchema:int' - The string '${index.value}' is not a valid Int32 value.`,
      );
    }
    return ok({ kind: 'occurrence', masterId: master.value, instanceIndex });
  }
  if (id.ns === NS.types && id.name === 'RecurringMasterItemId') {
    const occurrence = required('OccurrenceId');
    return occurrence.ok ? ok({ kind: 'master', occurrenceId: occurrence.value }) : occurrence;
  }
  return fail(
    id,
    `The simulator reads t:ItemId, t:OccurrenceItemId and t:RecurringMasterItemId in ItemIds, not '${id.name}'.`,
  );
}

function decodeSyncFolderItems(payload: XmlElement): Result<EwsRequest, Violation> {
  const parts = readSequence(payload, [
    particle(NS.messages, 'ItemShape'),
    particle(NS.messages, 'SyncFolderId'),
    particle(NS.messages, 'SyncState', 0),
    particle(NS.messages, 'Ignore', 0),
    particle(NS.messages, 'MaxChangesReturned'),
    particle(NS.messages, 'SyncScope', 0),
  ]);
  if (!parts.ok) return parts;
  const p = parts.value;
  const shape = decodeItemShape(requireFirst(p, 'ItemShape'));
  if (!shape.ok) return shape;
  const folderElements = requireFirst(p, 'SyncFolderId').children;
  const [folderElement] = folderElements;
  if (folderElement === undefined || folderElements.length !== 1) {
    return fail(
      folderElements[1] ?? requireFirst(p, 'SyncFolderId'),
      "The element 'SyncFolderId' must hold exactly one FolderId or DistinguishedFolderId.",
      { end: folderElement === undefined },
    );
  }
  const folder = decodeFolderRef(folderElement);
  if (!folder.ok) return folder;
  const max = parseInteger(p.text('MaxChangesReturned'));
  if (max === undefined || max < 1 || max > 512) {
    return fail(
      requireFirst(p, 'MaxChangesReturned'),
      `The 'MaxChangesReturned' element is invalid - The value '${p.text('MaxChangesReturned')}' is invalid according to its datatype 'MaxSyncChangesReturnedType' - it must be an integer from 1 to 512.`,
    );
  }
  const scopeElement = p.first('SyncScope');
  const scope = scopeElement?.text;
  if (scopeElement !== undefined && scope !== 'NormalItems' && scope !== 'NormalAndAssociatedItems') {
    return fail(
      scopeElement,
      enumerationViolation('SyncScope', scopeElement.text, 'SyncFolderItemsScopeType'),
    );
  }
  const ignore = (p.first('Ignore')?.children ?? [])
    .map((c) => c.attributes.get('Id'))
    .filter((id): id is string => id !== undefined);
  const syncState = p.first('SyncState');
  return ok({
    operation: 'SyncFolderItems',
    itemShape: shape.value,
    syncFolderId: folder.value,
    // An empty SyncState is how some clients say "first sync".
    syncState: syncState === undefined || syncState.text === '' ? null : syncState.text,
    ignore,
    maxChangesReturned: max,
  });
}

// ---- FindFolder ---------------------------------------------------------------------------------

const TRAVERSALS: readonly FolderTraversal[] = ['Shallow', 'Deep', 'SoftDeleted'];

function decodeFindFolder(payload: XmlElement): Result<EwsRequest, Violation> {
  const traversalText = payload.attributes.get('Traversal');
  if (traversalText === undefined) return fail(payload, "The required attribute 'Traversal' is missing.");
  const traversal = TRAVERSALS.find((t) => t === traversalText);
  if (traversal === undefined) {
    return fail(
      payload,
      attributeEnumerationViolation('Traversal', traversalText, 'FolderQueryTraversalType'),
      { attribute: 'Traversal' },
    );
  }
  const parts = readSequence(payload, [
    particle(NS.messages, 'FolderShape'),
    particle(NS.messages, 'IndexedPageFolderView', 0),
    particle(NS.messages, 'FractionalPageFolderView', 0),
    particle(NS.messages, 'Restriction', 0),
    particle(NS.messages, 'ParentFolderIds'),
  ]);
  if (!parts.ok) return parts;
  const p = parts.value;
  const indexed = p.first('IndexedPageFolderView');
  const fractional = p.first('FractionalPageFolderView');
  // The two views are an xs:choice: at most one of them.
  if (indexed !== undefined && fractional !== undefined) {
    return fail(
      fractional,
      `The element 'FindFolder' in namespace '${NS.messages}' has invalid child element 'FractionalPageFolderView' in namespace '${NS.messages}'. List of possible elements expected: 'Restriction' in namespace '${NS.messages}', 'ParentFolderIds' in namespace '${NS.messages}'.`,
    );
  }
  const shape = decodeFolderShape(requireFirst(p, 'FolderShape'));
  if (!shape.ok) return shape;
  let view: FolderView = { kind: 'none' };
  if (indexed !== undefined) {
    const decoded = decodeIndexedView(indexed);
    if (!decoded.ok) return decoded;
    view = decoded.value;
  } else if (fractional !== undefined) {
    view = { kind: 'fractional' };
  }
  const parents = decodeFolderRefs(requireFirst(p, 'ParentFolderIds'));
  if (!parents.ok) return parents;
  return ok({
    operation: 'FindFolder',
    traversal,
    folderShape: shape.value,
    view,
    restricted: p.first('Restriction') !== undefined,
    parentFolderIds: parents.value,
  });
}

// ---- GetFolder and ConvertId ------------------------------------------------------------------

function decodeGetFolder(payload: XmlElement): Result<EwsRequest, Violation> {
  const parts = readSequence(payload, [
    particle(NS.messages, 'FolderShape'),
    particle(NS.messages, 'FolderIds'),
  ]);
  if (!parts.ok) return parts;
  const shape = decodeFolderShape(requireFirst(parts.value, 'FolderShape'));
  if (!shape.ok) return shape;
  const folderIds = decodeFolderRefs(requireFirst(parts.value, 'FolderIds'));
  if (!folderIds.ok) return folderIds;
  return ok({ operation: 'GetFolder', folderShape: shape.value, folderIds: folderIds.value });
}

function decodeConvertId(payload: XmlElement): Result<EwsRequest, Violation> {
  const destination = payload.attributes.get('DestinationFormat');
  if (destination === undefined)
    return fail(payload, "The required attribute 'DestinationFormat' is missing.");
  const destinationFormat = ID_FORMATS.find((f) => f === destination);
  if (destinationFormat === undefined) {
    return fail(payload, attributeEnumerationViolation('DestinationFormat', destination, 'IdFormatType'), {
      attribute: 'DestinationFormat',
    });
  }
  const parts = readSequence(payload, [particle(NS.messages, 'SourceIds')]);
  if (!parts.ok) return parts;
  const sourceIds: AlternateId[] = [];
  const container = requireFirst(parts.value, 'SourceIds');
  for (const element of container.children) {
    if (element.ns !== NS.types || element.name !== 'AlternateId') {
      return fail(
        element,
        `The simulator reads only t:AlternateId in SourceIds, not '${element.name}' (public folders are not simulated).`,
      );
    }
    const format = element.attributes.get('Format');
    const id = element.attributes.get('Id');
    const mailbox = element.attributes.get('Mailbox');
    if (format === undefined) return fail(element, "The required attribute 'Format' is missing.");
    const known = ID_FORMATS.find((f) => f === format);
    if (known === undefined) {
      return fail(element, attributeEnumerationViolation('Format', format, 'IdFormatType'), {
        attribute: 'Format',
      });
    }
    if (id === undefined) return fail(element, "The required attribute 'Id' is missing.");
    if (!mailbox) {
      return fail(
        element,
        mailbox === undefined
          ? "The required attribute 'Mailbox' is missing."
          : `The 'Mailbox' attribute is invalid - The value '' is invalid according to its datatype '${NS.types}:NonEmptyStringType' - The actual length is less than the MinLength value.`,
        mailbox === undefined ? {} : { attribute: 'Mailbox' },
      );
    }
    sourceIds.push({ format: known, id, mailbox });
  }
  if (sourceIds.length === 0) {
    return fail(container, "The element 'SourceIds' has incomplete content. Expected 'AlternateId'.", {
      end: true,
    });
  }
  return ok({ operation: 'ConvertId', destinationFormat, sourceIds });
}

function decodeFolderShape(element: XmlElement): Result<FolderShape, Violation> {
  const parts = readSequence(element, [
    particle(NS.types, 'BaseShape'),
    particle(NS.types, 'AdditionalProperties', 0),
  ]);
  return parts.ok ? readShape(parts.value) : parts;
}

function decodeIndexedView(element: XmlElement): Result<FolderView, Violation> {
  const maxText = element.attributes.get('MaxEntriesReturned');
  const offsetText = element.attributes.get('Offset');
  const basePoint = element.attributes.get('BasePoint');
  const invalidInt = (name: string, text: string) =>
    `The '${name}' attribute is invalid - The value '${text}' is invalid according to its datatype 'http://www.w3.org/2001/XMLSchema:int' - The string '${text}' is not a valid Int32 value.`;
  const at = (attribute: string) => ({ attribute });
  const max = maxText === undefined ? null : parseXsInt(maxText);
  if (max === undefined)
    return fail(element, invalidInt('MaxEntriesReturned', maxText ?? ''), at('MaxEntriesReturned'));
  if (offsetText === undefined) return fail(element, "The required attribute 'Offset' is missing.");
  const offset = parseXsInt(offsetText);
  if (offset === undefined) return fail(element, invalidInt('Offset', offsetText), at('Offset'));
  if (basePoint === undefined) return fail(element, "The required attribute 'BasePoint' is missing.");
  if (basePoint !== 'Beginning' && basePoint !== 'End') {
    return fail(
      element,
      attributeEnumerationViolation('BasePoint', basePoint, 'IndexBasePointType'),
      at('BasePoint'),
    );
  }
  return ok({ kind: 'indexed', maxEntriesReturned: max, offset, basePoint });
}

/** An xs:int (32-bit signed), or undefined. */
function parseXsInt(text: string): number | undefined {
  if (!/^[+-]?\d{1,10}$/.test(text)) return undefined;
  const value = Number(text);
  return value >= -2_147_483_648 && value <= 2_147_483_647 ? value : undefined;
}

// ---- a strict xs:sequence reader ----------------------------------------------------------------

interface Particle {
  readonly ns: string;
  readonly name: string;
  readonly min: 0 | 1;
  /** The name the reader files it under, when two particles share a local name. */
  readonly key: string;
}
function particle(ns: string, name: string, min: 0 | 1 = 1, key: string = name): Particle {
  return { ns, name, min, key };
}

interface SequenceParts {
  first(name: string): XmlElement | undefined;
  /** The text of a required element (the reader has checked it is there). */
  text(name: string): string;
}

function requireFirst(parts: SequenceParts, name: string): XmlElement {
  const element = parts.first(name);
  if (element === undefined) throw new Error(`unreachable: readSequence checked that ${name} is present`);
  return element;
}

/**
 * Reads the children of an element as an xs:sequence of elements that occur at most once, in
 * order. Violations are worded like the .NET schema validator Exchange runs.
 */
function readSequence(parent: XmlElement, particles: readonly Particle[]): Result<SequenceParts, Violation> {
  const found = new Map<string, XmlElement>();
  let at = 0;
  const expected = (from: number) => {
    const names: string[] = [];
    for (let i = from; i < particles.length; i++) {
      const p = particles[i];
      if (p === undefined) break;
      names.push(`'${p.name}' in namespace '${p.ns}'`);
      if (p.min === 1) break;
    }
    return names.join(', ');
  };
  const where = `The element '${parent.name}' in namespace '${parent.ns}'`;
  for (const child of parent.children) {
    let index = at;
    while (index < particles.length) {
      const p = particles[index];
      if (p !== undefined && p.ns === child.ns && p.name === child.name) break;
      if (p?.min === 1) {
        index = particles.length;
        break;
      }
      index++;
    }
    const matched = particles[index];
    if (matched === undefined) {
      const list = expected(at);
      return fail(
        child,
        `${where} has invalid child element '${child.name}' in namespace '${child.ns}'.${list ? ` List of possible elements expected: ${list}.` : ''}`,
      );
    }
    found.set(matched.key, child);
    at = index + 1;
  }
  for (let i = at; i < particles.length; i++) {
    const p = particles[i];
    if (p?.min === 1) {
      return fail(
        parent,
        `${where} has incomplete content. List of possible elements expected: ${expected(at)}.`,
        {
          end: true,
        },
      );
    }
  }
  return ok({
    first: (name) => found.get(name),
    text: (name) => found.get(name)?.text ?? '',
  });
}

/**
 * A schema violation and where it is: the element, and the attribute when the attribute is at
 * fault; `end` when the fault shows at the element's end tag (content that stopped too soon), as
 * .NET's validating reader reports it.
 */
export interface Violation {
  readonly message: string;
  readonly node: XmlElement;
  readonly attribute?: string;
  readonly end?: boolean;
}

function fail(
  node: XmlElement,
  message: string,
  where: { attribute?: string; end?: boolean } = {},
): { ok: false; error: Violation } {
  return err({ message, node, ...where });
}

function attributeEnumerationViolation(attribute: string, value: string, type: string): string {
  return `The '${attribute}' attribute is invalid - The value '${value}' is invalid according to its datatype '${NS.types}:${type}' - The Enumeration constraint failed.`;
}

function enumerationViolation(element: string, value: string, type: string): string {
  return `The '${element}' element is invalid - The value '${value}' is invalid according to its datatype '${NS.types}:${type}' - The Enumeration constraint failed.`;
}

function parseInteger(text: string): number | undefined {
  return /^[+-]?\d{1,9}$/.test(text) ? Number(text) : undefined;
}

function parseBoolean(text: string): boolean | undefined {
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  return undefined;
}

// ---- responses --------------------------------------------------------------------------------

export type ResponseOperation =
  | 'Subscribe'
  | 'GetItem'
  | 'SyncFolderItems'
  | 'FindFolder'
  | 'GetFolder'
  | 'ConvertId'
  | 'Unsubscribe'
  | 'GetEvents';

/**
 * Exchange names its build and the newest RequestServerVersion it accepts in every response
 * header. The simulator accepts every t:ExchangeVersionType value of the schema, whose newest is
 * V2016_10_10: Exchange 2016's (15.1, CU23's build), so that is what it says it is.
 */
const SERVER_VERSION_INFO = `<h:ServerVersionInfo xmlns:h="${NS.types}" MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" MinorBuildNumber="6" Version="${NEWEST_VERSION}"/>`;

/** One response message: success (with its content) or an error with code, text and MessageXml values. */
export type ResponseMessage =
  | { readonly ok: true; readonly content: string }
  | {
      readonly ok: false;
      readonly responseCode: string;
      readonly messageText: string;
      readonly values?: ReadonlyArray<readonly [string, string]>;
      /** Content the schema requires even in an error message (GetItem's empty m:Items). */
      readonly content?: string;
    };

/** The whole response envelope for an operation, one response message per element of `messages`. */
export function encodeResponse(operation: ResponseOperation, messages: readonly ResponseMessage[]): string {
  const name = `${operation}ResponseMessage`;
  const body = messages
    .map((message) => {
      if (message.ok) {
        return `<m:${name} ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>${message.content}</m:${name}>`;
      }
      const values = message.values ?? [];
      const messageXml =
        values.length === 0
          ? ''
          : `<m:MessageXml>${values.map(([n, v]) => `<t:Value Name="${escapeAttribute(n)}">${escapeText(v)}</t:Value>`).join('')}</m:MessageXml>`;
      return (
        `<m:${name} ResponseClass="Error"><m:MessageText>${escapeText(message.messageText)}</m:MessageText>` +
        `<m:ResponseCode>${message.responseCode}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>` +
        `${messageXml}${message.content ?? ''}</m:${name}>`
      );
    })
    .join('');
  return writeEnvelope(
    `<m:${operation}Response><m:ResponseMessages>${body}</m:ResponseMessages></m:${operation}Response>`,
    {
      header: SERVER_VERSION_INFO,
    },
  );
}

export function subscribeSuccess(subscriptionId: string, watermark: string): ResponseMessage {
  return {
    ok: true,
    content: `<m:SubscriptionId>${escapeText(subscriptionId)}</m:SubscriptionId><m:Watermark>${escapeText(watermark)}</m:Watermark>`,
  };
}

export function getItemSuccess(view: ItemView, shape: ItemShape): ResponseMessage {
  return { ok: true, content: `<m:Items>${encodeItem(view, shape)}</m:Items>` };
}

export function syncFolderItemsSuccess(
  result: { syncState: string; includesLastItemInRange: boolean; changes: readonly SyncChange[] },
  shape: ItemShape,
  parentFolderId: string,
): ResponseMessage {
  const changes = result.changes
    .map((change) => {
      switch (change.kind) {
        case 'Create':
        case 'Update':
          return `<t:${change.kind}>${encodeItem({ item: change.item, parentFolderId }, shape)}</t:${change.kind}>`;
        case 'Delete':
          return `<t:Delete><t:ItemId Id="${escapeAttribute(change.itemId)}"/></t:Delete>`;
        case 'ReadFlagChange':
          return `<t:ReadFlagChange><t:ItemId Id="${escapeAttribute(change.itemId)}"/><t:IsRead>${change.isRead}</t:IsRead></t:ReadFlagChange>`;
      }
      return '';
    })
    .join('');
  return {
    ok: true,
    content:
      `<m:SyncState>${escapeText(result.syncState)}</m:SyncState>` +
      `<m:IncludesLastItemInRange>${result.includesLastItemInRange}</m:IncludesLastItemInRange>` +
      `<m:Changes>${changes}</m:Changes>`,
  };
}

/** One page of a FindFolder answer for one parent folder. */
export interface FolderPage {
  readonly folders: readonly FolderListing[];
  /** Where the next page starts (IndexedPagingOffset). */
  readonly indexedPagingOffset: number;
  /** How many folders the whole traversal found (TotalItemsInView). */
  readonly totalItemsInView: number;
  readonly includesLastItemInRange: boolean;
}

export function findFolderSuccess(page: FolderPage, shape: FolderShape): ResponseMessage {
  const folders = page.folders.map((folder) => encodeFolder(folder, shape)).join('');
  return {
    ok: true,
    content:
      `<m:RootFolder IndexedPagingOffset="${page.indexedPagingOffset}" TotalItemsInView="${page.totalItemsInView}" IncludesLastItemInRange="${page.includesLastItemInRange}">` +
      `<t:Folders>${folders}</t:Folders></m:RootFolder>`,
  };
}

/** A GetFolder answer for one folder. */
export function getFolderSuccess(folder: FolderListing, shape: FolderShape): ResponseMessage {
  return { ok: true, content: `<m:Folders>${encodeFolder(folder, shape)}</m:Folders>` };
}

/** A ConvertId answer for one id: the id in the form asked for. */
export function convertIdSuccess(converted: AlternateId): ResponseMessage {
  return {
    ok: true,
    content: `<m:AlternateId xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="t:AlternateIdType" Format="${converted.format}" Id="${escapeAttribute(converted.id)}" Mailbox="${escapeAttribute(converted.mailbox)}"/>`,
  };
}

/** Exchange's folder ChangeKeys are short and rarely change; the simulator keeps one. */
const FOLDER_CHANGE_KEY = 'AQAAAA==';

/**
 * A folder, with the properties the shape asks for, in the schema's element order (BaseFolderType,
 * then FolderType's UnreadCount, which calendar and contacts folders do not have). Default is
 * Exchange's folder default shape: FolderId, DisplayName, TotalCount, ChildFolderCount, UnreadCount.
 */
function encodeFolder(folder: FolderListing, shape: FolderShape): string {
  const wanted = (fieldUri: string, inDefault: boolean) =>
    shape.baseShape === 'AllProperties' ||
    (shape.baseShape === 'Default' && inDefault) ||
    shape.additionalProperties.has(fieldUri);
  const parts: string[] = [
    `<t:FolderId Id="${escapeAttribute(folder.folderId)}" ChangeKey="${FOLDER_CHANGE_KEY}"/>`,
  ];
  if (folder.parentFolderId !== null && wanted('folder:ParentFolderId', false)) {
    parts.push(
      `<t:ParentFolderId Id="${escapeAttribute(folder.parentFolderId)}" ChangeKey="${FOLDER_CHANGE_KEY}"/>`,
    );
  }
  if (folder.folderClass !== null && wanted('folder:FolderClass', false)) {
    parts.push(`<t:FolderClass>${escapeText(folder.folderClass)}</t:FolderClass>`);
  }
  if (wanted('folder:DisplayName', true))
    parts.push(`<t:DisplayName>${escapeText(folder.displayName)}</t:DisplayName>`);
  if (wanted('folder:TotalCount', true)) parts.push(`<t:TotalCount>${folder.totalCount}</t:TotalCount>`);
  if (wanted('folder:ChildFolderCount', true)) {
    parts.push(`<t:ChildFolderCount>${folder.childFolderCount}</t:ChildFolderCount>`);
  }
  const hasUnreadCount = folder.kind === 'Folder' || folder.kind === 'TasksFolder';
  if (hasUnreadCount && wanted('folder:UnreadCount', true)) {
    parts.push(`<t:UnreadCount>${folder.unreadCount}</t:UnreadCount>`);
  }
  return `<t:${folder.kind}>${parts.join('')}</t:${folder.kind}>`;
}

export { xsDateTime } from './item-codec.ts';

// ---- SOAP Faults ------------------------------------------------------------------------------

export interface FaultSpec {
  /** The EWS response code (`ErrorServerBusy`, …), or a SOAP fault code such as `soap:VersionMismatch`. */
  readonly code: string;
  readonly faultString: string;
  /** `detail/e:Message`, when it is not the faultstring. */
  readonly message?: string;
  /** `t:Value Name="…"` entries in `detail/t:MessageXml` (e.g. BackOffMilliseconds). */
  readonly values?: ReadonlyArray<readonly [string, string]>;
  /** Raw `t:` elements for MessageXml other than Value (ErrorSchemaValidation's t:Violation). */
  readonly messageXml?: string;
}

/**
 * A SOAP 1.1 Fault as Exchange sends it (ews-protocol.md §3.3): `faultcode` in the types namespace,
 * `detail` with `e:ResponseCode` and `e:Message`, and `t:MessageXml`. Sent with HTTP 500.
 */
export function encodeFault(spec: FaultSpec): string {
  const isEwsCode = spec.code.startsWith('Error');
  const faultCode = isEwsCode
    ? `<faultcode xmlns:a="${NS.types}">a:${spec.code}</faultcode>`
    : `<faultcode>${escapeText(spec.code)}</faultcode>`;
  const values = (spec.values ?? [])
    .map(([n, v]) => `<t:Value Name="${escapeAttribute(n)}">${escapeText(v)}</t:Value>`)
    .join('');
  const messageXml =
    values || spec.messageXml
      ? `<t:MessageXml xmlns:t="${NS.types}">${spec.messageXml ?? ''}${values}</t:MessageXml>`
      : '';
  const detail = isEwsCode
    ? `<detail><e:ResponseCode xmlns:e="${NS.errors}">${spec.code}</e:ResponseCode><e:Message xmlns:e="${NS.errors}">${escapeText(spec.message ?? spec.faultString)}</e:Message>${messageXml}</detail>`
    : '';
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    `<s:Envelope xmlns:s="${NS.soap11}"><s:Body><s:Fault>${faultCode}` +
    `<faultstring xml:lang="en-US">${escapeText(spec.faultString)}</faultstring>${detail}</s:Fault></s:Body></s:Envelope>`
  );
}

/**
 * The fault for a request that does not pass the schema: as Exchange's, the violation in the
 * faultstring, and LineNumber, LinePosition and Violation in MessageXml.
 */
export function schemaValidationFault(refusal: RequestRefusal): string {
  if (refusal.kind === 'VersionMismatch') {
    return encodeFault({ code: 's:VersionMismatch', faultString: refusal.violation });
  }
  return encodeFault({
    code: 'ErrorSchemaValidation',
    faultString: `The request failed schema validation: ${refusal.violation}`,
    message: 'The request failed schema validation.',
    messageXml:
      `<t:LineNumber>${refusal.line}</t:LineNumber><t:LinePosition>${refusal.position}</t:LinePosition>` +
      `<t:Violation>${escapeText(refusal.violation)}</t:Violation>`,
  });
}
