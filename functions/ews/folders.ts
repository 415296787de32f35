/**
 * `FindFolder`: every folder under a folder (by default the top of the information store,
 * `msgfolderroot`), page by page, so that a mailbox watched with "all folders" can be synchronized
 * folder by folder. Only what that needs is asked for: the ids, the FolderClass (what the folder
 * holds) and the DisplayName (for people reading logs).
 */
import { err, ok, type Result } from '../core/result.ts';
import { showValue } from '../core/show.ts';
import { type EwsError, EwsProtocolError } from './errors.ts';
import {
  type FolderRef,
  type RequestContext,
  requireIntegerInRange,
  writeFolderRef,
  writeHeader,
} from './request.ts';
import { singleSuccessfulMessage, writeEnvelope } from './soap.ts';
import { NS, type XmlElement } from './xml.ts';

// ---- request side ---------------------------------------------------------------------------

/**
 * Most folders one FindFolder page may ask for: EWSFindCountLimit, 1000 in Exchange Online's
 * default throttling policy and on-premises (ews-throttling-in-exchange.md). Exchange counts every
 * folder a Find call holds in memory against it; asking for more gets a truncated or refused page.
 */
export const MAX_FIND_FOLDER_ENTRIES = 1000;

/** Largest xs:int: the schema type of `Offset` and `IndexedPagingOffset`. */
const MAX_XS_INT = 2_147_483_647;

export interface FindFolderRequest {
  /** Whose descendants to list. @default { distinguishedFolderId: 'msgfolderroot' } */
  readonly parentFolderId?: FolderRef;
  /** Page size, 1–1000 (MAX_FIND_FOLDER_ENTRIES). */
  readonly maxEntriesReturned: number;
  /** Where the page starts: 0, then the previous page's `nextOffset`. @default 0 */
  readonly offset?: number;
}

/** The folder properties asked for on top of the ids (`t:AdditionalProperties`). */
const FOLDER_FIELDS = ['folder:FolderClass', 'folder:DisplayName'] as const;

export function encodeFindFolder(request: FindFolderRequest, context: RequestContext = {}): string {
  const max = requireIntegerInRange(
    'MaxEntriesReturned',
    request.maxEntriesReturned,
    1,
    MAX_FIND_FOLDER_ENTRIES,
  );
  const offset = requireIntegerInRange('Offset', request.offset ?? 0, 0, MAX_XS_INT);
  const parent = writeFolderRef(request.parentFolderId ?? { distinguishedFolderId: 'msgfolderroot' });
  // FindFolderType (messages.xsd): FolderShape, the paging view, Restriction?, ParentFolderIds.
  const body =
    '<m:FindFolder Traversal="Deep">' +
    '<m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>' +
    FOLDER_FIELDS.map((field) => `<t:FieldURI FieldURI="${field}"/>`).join('') +
    '</t:AdditionalProperties></m:FolderShape>' +
    `<m:IndexedPageFolderView MaxEntriesReturned="${max}" Offset="${offset}" BasePoint="Beginning"/>` +
    `<m:ParentFolderIds>${parent}</m:ParentFolderIds>` +
    '</m:FindFolder>';
  return writeEnvelope(body, { header: writeHeader(context) });
}

// ---- response side --------------------------------------------------------------------------

/** The folder elements of `t:ArrayOfFoldersType`: what a folder is, by what it holds. */
export const FOUND_FOLDER_KINDS = [
  'Folder',
  'CalendarFolder',
  'ContactsFolder',
  'TasksFolder',
  'SearchFolder',
] as const;
export type FoundFolderKind = (typeof FOUND_FOLDER_KINDS)[number];

function isFoundFolderKind(name: string): name is FoundFolderKind {
  return FOUND_FOLDER_KINDS.some((kind) => kind === name);
}

export interface FoundFolder {
  readonly folderId: string;
  readonly changeKey: string | null;
  /** The element Exchange used: `Folder` for mail and other folders. */
  readonly kind: FoundFolderKind;
  /** `IPF.Note`, `IPF.Appointment`, `IPF.Contact`, `IPF.Task`, …; null when absent or empty. */
  readonly folderClass: string | null;
  /** null when absent or empty. */
  readonly displayName: string | null;
}

export interface FindFolderResult {
  /** In the order Exchange listed them. */
  readonly folders: readonly FoundFolder[];
  /** False while more folders wait: ask again from `nextOffset`. */
  readonly includesLastItemInRange: boolean;
  /** `IndexedPagingOffset`: where the next page starts; null on the last page. */
  readonly nextOffset: number | null;
}

export function decodeFindFolderResponse(body: string | Uint8Array): Result<FindFolderResult, EwsError> {
  const opened = singleSuccessfulMessage('FindFolder', body);
  if (!opened.ok) return opened;
  const rootFolder = opened.value.children.find((c) => c.ns === NS.messages && c.name === 'RootFolder');
  if (rootFolder === undefined) {
    return err(new EwsProtocolError('FindFolder', 'the successful response has no m:RootFolder'));
  }
  const lastText = rootFolder.attributes.get('IncludesLastItemInRange');
  const includesLastItemInRange = lastText === undefined ? undefined : parseBoolean(lastText);
  if (includesLastItemInRange === undefined) {
    return err(
      new EwsProtocolError(
        'FindFolder',
        `m:RootFolder IncludesLastItemInRange is ${showValue(lastText ?? '(absent)')}, expected true or false`,
      ),
    );
  }
  let nextOffset: number | null = null;
  if (!includesLastItemInRange) {
    const offsetText = rootFolder.attributes.get('IndexedPagingOffset');
    const parsed = offsetText === undefined ? undefined : parseOffset(offsetText);
    if (parsed === undefined) {
      return err(
        new EwsProtocolError(
          'FindFolder',
          `m:RootFolder IndexedPagingOffset is ${showValue(offsetText ?? '(absent)')} while IncludesLastItemInRange is false, expected the offset of the next page (a whole number)`,
        ),
      );
    }
    nextOffset = parsed;
  }
  const folders: FoundFolder[] = [];
  // t:Folders may be left out when nothing was found (FindFolderParentType, minOccurs 0).
  const list = rootFolder.children.find((c) => c.ns === NS.types && c.name === 'Folders');
  for (const element of list?.children ?? []) {
    const folder = decodeFolder(element);
    if (!folder.ok) return err(new EwsProtocolError('FindFolder', folder.error));
    folders.push(folder.value);
  }
  return ok({ folders, includesLastItemInRange, nextOffset });
}

function decodeFolder(element: XmlElement): Result<FoundFolder, string> {
  if (element.ns !== NS.types || !isFoundFolderKind(element.name)) {
    return err(
      `t:Folders holds an unexpected element ${showValue(element.name)}, expected one of ${FOUND_FOLDER_KINDS.join(', ')}`,
    );
  }
  const child = (name: string) => element.children.find((c) => c.ns === NS.types && c.name === name);
  const folderId = child('FolderId');
  const id = folderId?.attributes.get('Id');
  if (!id) return err(`t:${element.name} has no t:FolderId with an Id`);
  return ok({
    folderId: id,
    changeKey: folderId?.attributes.get('ChangeKey') || null,
    kind: element.name,
    folderClass: child('FolderClass')?.text || null,
    displayName: child('DisplayName')?.text || null,
  });
}

function parseBoolean(text: string): boolean | undefined {
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  return undefined;
}

function parseOffset(text: string): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const offset = Number(text);
  return offset <= MAX_XS_INT ? offset : undefined;
}
