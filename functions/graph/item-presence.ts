/**
 * Whether Graph still has an item (`GET /users/{id}/messages/{id}` or `/events/{id}`, id only):
 * what a catch-up asks about the items consumers were told exist and that its delta rounds did
 * not name (renewer/graph-lifecycle.ts). Delta reports how a folder stands against its link; an
 * item created after the link and deleted again before the next round appears in neither, though
 * its creation was notified. Pure: builds the request, decodes the answer.
 */
import { err, ok, type Result } from '../core/result.ts';
import { decodeGraphError, type GraphResponseError } from './errors.ts';
import { type GraphReply, type GraphRequest, IMMUTABLE_ID_PREFERENCE, requireSegment } from './request.ts';

/** Which collection an item belongs to: the two resources the bridge subscribes to. */
export type GraphItemCollection = 'messages' | 'events';

export function buildItemPresenceRequest(input: {
  readonly userId: string;
  readonly collection: GraphItemCollection;
  readonly itemId: string;
}): GraphRequest {
  const user = requireSegment('userId', input.userId);
  const id = requireSegment('itemId', input.itemId);
  return {
    operation: 'getItem',
    method: 'GET',
    path: `/users/${user}/${input.collection}/${id}?$select=id`,
    // The ids the bridge published are immutable ids: ask in those terms.
    headers: { Accept: 'application/json', Prefer: IMMUTABLE_ID_PREFERENCE },
    body: null,
    mailbox: input.userId,
  };
}

/** 200 → present, 404 → missing; anything else is an error for the caller to judge. */
export function decodeItemPresence(
  reply: GraphReply,
  now: number,
): Result<'present' | 'missing', GraphResponseError> {
  if (reply.status === 200) return ok('present');
  if (reply.status === 404) return ok('missing');
  return err(decodeGraphError('getItem', reply.status, reply.headers, reply.body, now));
}
