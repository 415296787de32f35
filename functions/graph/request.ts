/**
 * The shape every request builder returns and every decoder reads: plain data, so the builders
 * and decoders stay pure and the one module that does I/O (graph-client.ts) stays small.
 */
import { type GraphOperation, type HeaderReader, InvalidGraphRequestError } from './errors.ts';

export interface GraphRequest {
  readonly operation: GraphOperation;
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /**
   * A path under the Graph base URL (`/subscriptions`), or an absolute link Graph handed out
   * (`@odata.nextLink`, `@odata.deltaLink`), which the client sends only to Graph's own origin.
   */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | null;
  /**
   * The mailbox (user id or address) whose Outlook limits the request counts against (4
   * concurrent requests per app per mailbox); null for `/subscriptions`, which are not Outlook
   * requests.
   */
  readonly mailbox: string | null;
}

/** What came back, as the decoders need it. */
export interface GraphReply {
  readonly status: number;
  readonly headers: HeaderReader;
  readonly body: string | Uint8Array;
}

/**
 * Immutable ids survive moves between folders, so a delete and a create of one moved message
 * name the same item, and notification ids match delta ids. Graph applies the preference to the
 * notifications of a subscription only when the *create* request carries it.
 */
export const IMMUTABLE_ID_PREFERENCE = 'IdType="ImmutableId"';

/**
 * A user id (object id GUID or UPN/SMTP address) or a folder, calendar or subscription id, as it
 * may appear as one path segment: Graph's ids are base64url-like; anything with a path, query or
 * quote character would change what the request means.
 */
export function requireSegment(field: string, value: string): string {
  if (value === '' || value.length > 512 || /[\s/?#%'"\\]/.test(value)) {
    throw new InvalidGraphRequestError(
      field,
      value,
      'cannot be one path segment (empty, too long, or holds whitespace, /, ?, #, %, quotes or \\)',
    );
  }
  return value;
}

/**
 * Graph requires HTTPS for notification URLs. Plain HTTP is accepted only on loopback, where the
 * local run and the tests talk to the Graph stand-in (which delivers only to loopback).
 */
export function requireWebhookUrl(field: string, url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidGraphRequestError(field, url, 'is not an absolute URL');
  }
  const loopback = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i.test(parsed.hostname);
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && loopback)) {
    throw new InvalidGraphRequestError(field, url, 'must be an https URL (Graph delivers only over HTTPS)');
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new InvalidGraphRequestError(field, url, 'must not carry credentials');
  }
  return url;
}
