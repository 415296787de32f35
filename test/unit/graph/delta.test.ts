import { describe, expect, it } from 'vitest';
import {
  buildCalendarViewDelta,
  buildDeltaFollow,
  buildMessagesDelta,
  decodeDeltaPage,
} from '../../../functions/graph/delta.ts';
import { GraphProtocolError, GraphResponseError } from '../../../functions/graph/errors.ts';
import type { GraphReply } from '../../../functions/graph/request.ts';

const now = Date.UTC(2026, 10, 21, 10, 0, 0);
const reply = (status: number, body: unknown, headers: Record<string, string> = {}): GraphReply => ({
  status,
  headers: new Headers(headers),
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

describe('delta requests', () => {
  it('asks for one folder’s messages, few properties, immutable ids and a page size', () => {
    const request = buildMessagesDelta({ userId: 'user1@contoso.test', folderId: 'inbox' });
    expect(request).toMatchObject({
      operation: 'delta',
      method: 'GET',
      path: '/users/user1@contoso.test/mailFolders/inbox/messages/delta?$select=id,changeKey,parentFolderId,lastModifiedDateTime,isRead,subject',
      mailbox: 'user1@contoso.test',
    });
    expect(request.headers.Prefer).toBe('IdType="ImmutableId", odata.maxpagesize=50');
    expect(buildMessagesDelta({ userId: 'u', folderId: 'f', select: [], maxPageSize: 5 }).path).toBe(
      '/users/u/mailFolders/f/messages/delta',
    );
    expect(() => buildMessagesDelta({ userId: 'u', folderId: 'f', select: ['id&$x=1'] })).toThrow(/\$select/);
    expect(() => buildMessagesDelta({ userId: 'u', folderId: 'f', maxPageSize: 0 })).toThrow(/maxPageSize/);
  });

  it('asks for the calendar view within a window', () => {
    const request = buildCalendarViewDelta({ userId: 'u', start: now, end: now + 86_400_000 });
    expect(request.path).toBe(
      '/users/u/calendarView/delta?startDateTime=2026-11-21T10%3A00%3A00.000Z&endDateTime=2026-11-22T10%3A00%3A00.000Z',
    );
    expect(() => buildCalendarViewDelta({ userId: 'u', start: now, end: now })).toThrow(/window/);
  });

  it('follows links as given', () => {
    const link = 'https://graph.microsoft.com/v1.0/users/u/mailFolders/inbox/messages/delta?$deltatoken=abc';
    expect(buildDeltaFollow(link, { mailbox: 'u' })).toMatchObject({ path: link, mailbox: 'u' });
    expect(() => buildDeltaFollow('/relative', { mailbox: 'u' })).toThrow(/store the link exactly/);
    expect(() => buildDeltaFollow('https://a:b@graph.microsoft.com/v1.0/x', { mailbox: 'u' })).toThrow(
      /credentials/,
    );
  });
});

describe('decodeDeltaPage', () => {
  it('reads removed and present items and the next link', () => {
    const decoded = decodeDeltaPage(
      reply(200, {
        '@odata.context': 'x',
        '@odata.nextLink':
          'https://graph.microsoft.com/v1.0/users/u/mailFolders/inbox/messages/delta?$skiptoken=1',
        value: [
          {
            '@odata.type': '#microsoft.graph.message',
            id: 'm1',
            changeKey: 'ck',
            isRead: false,
            parentFolderId: 'inbox',
            '@odata.etag': 'W/"1"',
          },
          { id: 'm2', '@removed': { reason: 'deleted' } },
          { '@odata.type': '#microsoft.graph.event', id: 'e1', type: 'occurrence', seriesMasterId: 'e0' },
        ],
      }),
      now,
    );
    if (!decoded.ok) throw decoded.error;
    expect(decoded.value.next).toEqual({
      kind: 'nextLink',
      url: 'https://graph.microsoft.com/v1.0/users/u/mailFolders/inbox/messages/delta?$skiptoken=1',
    });
    expect(decoded.value.changes).toEqual([
      {
        kind: 'present',
        id: 'm1',
        odataType: '#microsoft.graph.message',
        changeKey: 'ck',
        parentFolderId: 'inbox',
        lastModifiedDateTime: null,
        isRead: false,
        eventType: null,
        seriesMasterId: null,
      },
      { kind: 'removed', id: 'm2', reason: 'deleted' },
      expect.objectContaining({ kind: 'present', id: 'e1', eventType: 'occurrence', seriesMasterId: 'e0' }),
    ]);
  });

  it('reads the delta link of the last page', () => {
    const decoded = decodeDeltaPage(
      reply(200, { value: [], '@odata.deltaLink': 'https://g/v1.0/x?$deltatoken=2' }),
      now,
    );
    expect(decoded.ok && decoded.value.next).toEqual({
      kind: 'deltaLink',
      url: 'https://g/v1.0/x?$deltatoken=2',
    });
  });

  it('maps 410 syncStateNotFound to ResyncRequired', () => {
    const decoded = decodeDeltaPage(
      reply(
        410,
        { error: { code: 'syncStateNotFound', message: 'The sync state generation is not found.' } },
        {
          Location: 'https://graph.microsoft.com/v1.0/users/u/mailFolders/inbox/messages/delta',
        },
      ),
      now,
    );
    if (decoded.ok) throw new Error('expected an error');
    expect(decoded.error).toBeInstanceOf(GraphResponseError);
    expect(decoded.error).toMatchObject({ category: 'ResyncRequired', retryable: false });
    expect(decoded.error.message).toMatch(/synchronize the folder again from scratch/);
    // Learn also allows another 40X with the same code.
    const other = decodeDeltaPage(reply(400, { error: { code: 'syncStateNotFound', message: '' } }), now);
    expect(!other.ok && other.error).toMatchObject({ category: 'ResyncRequired' });
    const throttled = decodeDeltaPage(reply(429, '', { 'Retry-After': '2' }), now);
    expect(!throttled.ok && throttled.error).toMatchObject({ category: 'Throttled', retryAfterMs: 2000 });
  });

  it('refuses a page it cannot take whole: one lost item would be lost for good once the link is stored', () => {
    for (const body of [
      { value: [] },
      { value: [], '@odata.nextLink': 'a', '@odata.deltaLink': 'b' },
      { value: [{ id: 'ok' }, { noId: true }], '@odata.deltaLink': 'b' },
      { value: [{ id: 7 }], '@odata.deltaLink': 'b' },
      { value: 'x', '@odata.deltaLink': 'b' },
      { value: Array.from({ length: 10_001 }, (_, i) => ({ id: String(i) })), '@odata.deltaLink': 'b' },
      'not json',
    ]) {
      const decoded = decodeDeltaPage(reply(200, body), now);
      expect(!decoded.ok && decoded.error).toBeInstanceOf(GraphProtocolError);
    }
  });

  it('does not read prototype keys as @removed or ids', () => {
    const decoded = decodeDeltaPage(
      reply(200, '{"value":[{"id":"m","__proto__":{"@removed":{}}}],"@odata.deltaLink":"d"}'),
      now,
    );
    expect(decoded.ok && decoded.value.changes[0]?.kind).toBe('present');
  });
});
