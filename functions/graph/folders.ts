/**
 * The mailbox's mail folders (`GET /users/{id}/mailFolders`, top level and children): message
 * delta is per folder, so a catch-up of a subscription on `/users/{id}/messages` runs one delta
 * round per folder. Pure: builds requests, decodes pages.
 */
import { err, ok, type Result } from '../core/result.ts';
import { decodeGraphError, GraphProtocolError, type GraphResponseError } from './errors.ts';
import { isJsonObject, own, ownText, parseJsonBody } from './json.ts';
import { type GraphReply, type GraphRequest, requireSegment } from './request.ts';

export interface MailFolder {
  readonly id: string;
  readonly displayName: string | null;
  readonly childFolderCount: number;
}

export interface MailFolderPage {
  readonly folders: readonly MailFolder[];
  /** More pages: follow with `buildDeltaFollow`-like GET of this link. */
  readonly nextLink: string | null;
}

/** The top-level folders of the mailbox, or the children of `parentId`; hidden folders included. */
export function buildListMailFolders(input: {
  readonly userId: string;
  readonly parentId?: string;
}): GraphRequest {
  const user = requireSegment('userId', input.userId);
  const under =
    input.parentId === undefined ? '' : `/${requireSegment('parentId', input.parentId)}/childFolders`;
  return {
    operation: 'mailFolders',
    method: 'GET',
    path: `/users/${user}/mailFolders${under}?$top=100&includeHiddenFolders=true&$select=id,displayName,childFolderCount`,
    headers: { Accept: 'application/json', Prefer: 'IdType="ImmutableId"' },
    body: null,
    mailbox: input.userId,
  };
}

/** The next page of a folder listing (a link Graph gave). */
export function buildMailFoldersFollow(link: string, mailbox: string): GraphRequest {
  return {
    operation: 'mailFolders',
    method: 'GET',
    path: link,
    headers: { Accept: 'application/json' },
    body: null,
    mailbox,
  };
}

export function decodeMailFolderPage(
  reply: GraphReply,
  now: number,
): Result<MailFolderPage, GraphResponseError | GraphProtocolError> {
  if (reply.status !== 200)
    return err(decodeGraphError('mailFolders', reply.status, reply.headers, reply.body, now));
  const parsed = parseJsonBody(reply.body, 4 * 1024 * 1024);
  if (!parsed.ok) return err(new GraphProtocolError('mailFolders', parsed.error.detail));
  if (!isJsonObject(parsed.value))
    return err(new GraphProtocolError('mailFolders', 'the page is not a JSON object'));
  const value = own(parsed.value, 'value');
  if (!Array.isArray(value))
    return err(new GraphProtocolError('mailFolders', 'the page has no "value" array'));
  const folders: MailFolder[] = [];
  for (const [index, item] of value.entries()) {
    const id = isJsonObject(item) ? ownText(item, 'id', 512) : undefined;
    if (!isJsonObject(item) || id === undefined)
      return err(new GraphProtocolError('mailFolders', `item ${index} has no usable id`));
    const count = own(item, 'childFolderCount');
    folders.push({
      id,
      displayName: ownText(item, 'displayName', 512) ?? null,
      childFolderCount: typeof count === 'number' && Number.isSafeInteger(count) && count > 0 ? count : 0,
    });
  }
  return ok({ folders, nextLink: ownText(parsed.value, '@odata.nextLink', 8192) ?? null });
}
