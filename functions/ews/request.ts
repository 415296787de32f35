/**
 * What every EWS request the bridge sends shares: the SOAP header (`RequestServerVersion`,
 * optional `ExchangeImpersonation`) and the folder-id vocabulary, with input checks that fail
 * before anything is sent.
 */
import { InvalidEwsRequestError } from './errors.ts';
import { escapeAttribute, escapeText, isXmlSafe } from './xml.ts';

/** `t:ExchangeVersionType` (types.xsd). */
export const EXCHANGE_VERSIONS = [
  'Exchange2007',
  'Exchange2007_SP1',
  'Exchange2009',
  'Exchange2010',
  'Exchange2010_SP1',
  'Exchange2010_SP2',
  'Exchange2012',
  'Exchange2013',
  'Exchange2013_SP1',
  'Exchange2015',
  'Exchange2016',
  'V2015_10_05',
  'V2016_01_06',
  'V2016_04_13',
  'V2016_07_13',
  'V2016_10_10',
] as const;
export type ExchangeVersion = (typeof EXCHANGE_VERSIONS)[number];

/** Exchange 2013 is the oldest version with everything the bridge uses (CallerData included). */
export const DEFAULT_EXCHANGE_VERSION: ExchangeVersion = 'Exchange2013';

/** `t:DistinguishedFolderIdNameType` (types.xsd): well-known folders addressable by name. */
export const DISTINGUISHED_FOLDER_NAMES = [
  'calendar',
  'contacts',
  'deleteditems',
  'drafts',
  'inbox',
  'journal',
  'notes',
  'outbox',
  'sentitems',
  'tasks',
  'msgfolderroot',
  'publicfoldersroot',
  'root',
  'junkemail',
  'searchfolders',
  'voicemail',
  'recoverableitemsroot',
  'recoverableitemsdeletions',
  'recoverableitemsversions',
  'recoverableitemspurges',
  'recoverableitemsdiscoveryholds',
  'archiveroot',
  'archivemsgfolderroot',
  'archivedeleteditems',
  'archiveinbox',
  'archiverecoverableitemsroot',
  'archiverecoverableitemsdeletions',
  'archiverecoverableitemsversions',
  'archiverecoverableitemspurges',
  'archiverecoverableitemsdiscoveryholds',
  'syncissues',
  'conflicts',
  'localfailures',
  'serverfailures',
  'recipientcache',
  'quickcontacts',
  'conversationhistory',
  'adminauditlogs',
  'todosearch',
  'mycontacts',
  'directory',
  'imcontactlist',
  'peopleconnect',
  'favorites',
  'mecontact',
  'personmetadata',
  'teamspaceactivity',
  'teamspacemessaging',
  'teamspaceworkitems',
  'scheduled',
  'orionnotes',
  'tagitems',
  'alltaggeditems',
  'externalcontacts',
  'teamchat',
  'yammerroot',
  'yammerinbound',
  'yammeroutbound',
  'yammerfeeds',
  'onedriveroot',
  'onedriverecylebin',
  'onedrivesystem',
  'onedrivevolume',
] as const;
export type DistinguishedFolderName = (typeof DISTINGUISHED_FOLDER_NAMES)[number];
const DISTINGUISHED: ReadonlySet<string> = new Set(DISTINGUISHED_FOLDER_NAMES);
export function isDistinguishedFolderName(value: string): value is DistinguishedFolderName {
  return DISTINGUISHED.has(value);
}

/**
 * A folder reference: a well-known folder by name (optionally in a named mailbox), or a folder by
 * its EWS id. Mirrors `t:DistinguishedFolderId` / `t:FolderId`.
 */
export type FolderRef =
  | {
      readonly distinguishedFolderId: DistinguishedFolderName;
      readonly changeKey?: string;
      /** `t:Mailbox/t:EmailAddress`: the folder of another mailbox (needs delegate or impersonation rights). */
      readonly mailbox?: string;
    }
  | { readonly folderId: string; readonly changeKey?: string };

/** How the caller acts as the mailbox owner: `t:ExchangeImpersonation/t:ConnectingSID/t:{kind}`. */
export interface Impersonation {
  readonly kind: 'PrimarySmtpAddress' | 'SmtpAddress' | 'PrincipalName' | 'SID';
  readonly value: string;
}

export interface RequestContext {
  /** @default 'Exchange2013' */
  readonly requestServerVersion?: ExchangeVersion;
  /** Required for app-only access (Exchange Online OAuth); send X-AnchorMailbox with the same address. */
  readonly impersonation?: Impersonation;
}

export function writeHeader(context: RequestContext): string {
  const version = context.requestServerVersion ?? DEFAULT_EXCHANGE_VERSION;
  if (!(EXCHANGE_VERSIONS as readonly string[]).includes(version)) {
    throw new InvalidEwsRequestError(
      'RequestServerVersion',
      version,
      `is not one of ${EXCHANGE_VERSIONS.join(', ')}`,
    );
  }
  let header = `<t:RequestServerVersion Version="${version}"/>`;
  const impersonation = context.impersonation;
  if (impersonation) {
    requireText('ExchangeImpersonation', impersonation.value);
    header +=
      '<t:ExchangeImpersonation><t:ConnectingSID>' +
      `<t:${impersonation.kind}>${escapeText(impersonation.value)}</t:${impersonation.kind}>` +
      '</t:ConnectingSID></t:ExchangeImpersonation>';
  }
  return header;
}

export function writeFolderRef(folder: FolderRef): string {
  const changeKey =
    folder.changeKey === undefined
      ? ''
      : ` ChangeKey="${escapeAttribute(requireText('ChangeKey', folder.changeKey))}"`;
  if ('folderId' in folder) {
    return `<t:FolderId Id="${escapeAttribute(requireText('FolderId', folder.folderId))}"${changeKey}/>`;
  }
  if (!isDistinguishedFolderName(folder.distinguishedFolderId)) {
    throw new InvalidEwsRequestError(
      'DistinguishedFolderId',
      folder.distinguishedFolderId,
      'is not a well-known folder name (e.g. inbox, calendar, deleteditems); use folderId for other folders',
    );
  }
  const open = `<t:DistinguishedFolderId Id="${folder.distinguishedFolderId}"${changeKey}`;
  if (folder.mailbox === undefined) return `${open}/>`;
  return `${open}><t:Mailbox><t:EmailAddress>${escapeText(requireText('Mailbox', folder.mailbox))}</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId>`;
}

/** A value that must be non-empty and writable as XML (opaque ids, addresses). */
export function requireText(field: string, value: string): string {
  if (value === '') throw new InvalidEwsRequestError(field, value, 'is empty; Exchange requires a value');
  if (!isXmlSafe(value)) {
    throw new InvalidEwsRequestError(
      field,
      value,
      'contains characters XML cannot carry (control characters or broken surrogates)',
    );
  }
  return value;
}

/** An integer in [min, max], or a typed error naming the field. */
export function requireIntegerInRange(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidEwsRequestError(field, String(value), `must be a whole number from ${min} to ${max}`);
  }
  return value;
}
