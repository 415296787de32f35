/**
 * Graph item reads for enrichment (graph/items.ts): the request (`$select` of what an enriched
 * event carries, immutable ids, UTC, text bodies) and the answers of Learn's "Get message" and
 * "Get event" decoded into the same item shape EWS GetItem gives; errors typed.
 */
import { describe, expect, it } from 'vitest';
import {
  GraphProtocolError,
  GraphResponseError,
  InvalidGraphRequestError,
} from '../../../functions/graph/errors.ts';
import { buildGetItem, decodeGetItem } from '../../../functions/graph/items.ts';

const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
  status,
  headers: new Headers(headers),
  body: typeof body === 'string' ? body : JSON.stringify(body),
});
const options = { maxBodyChars: 10 };

describe('Graph item reads', () => {
  it('builds GET /users/{id}/messages/{id} with $select, immutable ids and UTC; the body as text only when asked', () => {
    const plain = buildGetItem({ userId: 'ada@contoso.com', kind: 'message', itemId: 'AAMk-1', body: false });
    expect(plain).toMatchObject({
      method: 'GET',
      operation: 'getItem',
      mailbox: 'ada@contoso.com',
      body: null,
    });
    expect(plain.path).toMatch(
      /^\/users\/ada@contoso\.com\/messages\/AAMk-1\?\$select=id,changeKey,subject,/,
    );
    expect(plain.path).not.toMatch(/body/);
    expect(plain.headers.Prefer).toBe('IdType="ImmutableId", outlook.timezone="UTC"');
    const full = buildGetItem({ userId: 'u-1', kind: 'event', itemId: 'E-1', body: true });
    expect(full.path).toMatch(/^\/users\/u-1\/events\/E-1\?\$select=.*iCalUId.*,attendees,recurrence,body$/);
    expect(full.headers.Prefer).toContain('outlook.body-content-type="text"');
    expect(() => buildGetItem({ userId: 'u', kind: 'message', itemId: '../x', body: false })).toThrow(
      InvalidGraphRequestError,
    );
  });

  it('decodes a message into the EWS item shape: EWS casing of enums, recipients, what Graph lacks null', () => {
    const decoded = decodeGetItem(
      reply(200, {
        '@odata.context': "https://graph.microsoft.com/v1.0/$metadata#users('ada')/messages/$entity",
        '@odata.etag': 'W/"CQAAABYAAAA"',
        id: 'AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0A',
        changeKey: 'CQAAABYAAAA',
        subject: 'Quarterly numbers',
        importance: 'high',
        categories: ['Red category', 7],
        hasAttachments: true,
        receivedDateTime: '2026-11-30T09:00:00Z',
        sentDateTime: '2026-11-30T08:59:58Z',
        lastModifiedDateTime: '2026-11-30T09:00:01Z',
        conversationId: 'AAQkAGI2',
        internetMessageId: '<abc@contoso.com>',
        isRead: false,
        from: { emailAddress: { name: 'Bob', address: 'bob@contoso.com' } },
        toRecipients: [{ emailAddress: { name: 'Ada', address: 'ada@contoso.com' } }, 'junk'],
        ccRecipients: [],
        body: { contentType: 'text', content: 'Hello there, Ada' },
      }),
      0,
      'message',
      options,
    );
    expect(decoded).toEqual({
      ok: true,
      value: {
        kind: 'message',
        itemType: 'Message',
        itemId: { id: 'AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0A', changeKey: 'CQAAABYAAAA' },
        itemClass: null,
        subject: 'Quarterly numbers',
        sensitivity: null,
        importance: 'High',
        categories: ['Red category'],
        hasAttachments: true,
        size: null,
        dateTimeReceived: '2026-11-30T09:00:00Z',
        dateTimeSent: '2026-11-30T08:59:58Z',
        lastModifiedTime: '2026-11-30T09:00:01Z',
        conversationId: 'AAQkAGI2',
        from: { name: 'Bob', emailAddress: 'bob@contoso.com' },
        toRecipients: [{ name: 'Ada', emailAddress: 'ada@contoso.com' }],
        ccRecipients: [],
        internetMessageId: '<abc@contoso.com>',
        isRead: false,
        body: { bodyType: 'Text', text: 'Hello ther', truncated: true },
      },
    });
  });

  it('decodes an event: UTC instants, EWS calendar item and response types, attendees by kind, recurrence rebuilt', () => {
    const decoded = decodeGetItem(
      reply(200, {
        id: 'AAMkEvent',
        changeKey: 'DwAAABYAAAA',
        subject: 'Standup',
        importance: 'normal',
        sensitivity: 'private',
        categories: [],
        hasAttachments: false,
        lastModifiedDateTime: '2026-11-30T09:00:01.1234567Z',
        iCalUId: '040000008200E00074C5B7101A82E008',
        start: { dateTime: '2026-12-01T09:00:00.0000000', timeZone: 'UTC' },
        end: { dateTime: '2026-12-01T09:15:00.0000000', timeZone: 'UTC' },
        isAllDay: false,
        location: { displayName: 'Room 1' },
        isCancelled: false,
        type: 'seriesMaster',
        organizer: { emailAddress: { name: 'Ada', address: 'ada@contoso.com' } },
        attendees: [
          {
            type: 'required',
            status: { response: 'accepted', time: '2026-11-29T10:00:00Z' },
            emailAddress: { name: 'Bob', address: 'bob@contoso.com' },
          },
          { type: 'optional', status: { response: 'none' }, emailAddress: { address: 'eve@contoso.com' } },
          { type: 'resource', emailAddress: { address: 'room1@contoso.com' } },
        ],
        recurrence: {
          pattern: { type: 'weekly', interval: 1, daysOfWeek: ['monday'] },
          range: { type: 'noEnd', startDate: '2026-12-01' },
          '@odata.type': 'x',
        },
      }),
      0,
      'event',
      options,
    );
    expect(decoded.ok && decoded.value).toMatchObject({
      kind: 'calendar',
      itemType: 'CalendarItem',
      importance: 'Normal',
      sensitivity: 'Private',
      uid: '040000008200E00074C5B7101A82E008',
      start: '2026-12-01T09:00:00.000Z',
      end: '2026-12-01T09:15:00.000Z',
      isAllDayEvent: false,
      location: 'Room 1',
      isCancelled: false,
      calendarItemType: 'RecurringMaster',
      organizer: { name: 'Ada', emailAddress: 'ada@contoso.com' },
      requiredAttendees: [
        {
          mailbox: { name: 'Bob', emailAddress: 'bob@contoso.com' },
          responseType: 'Accept',
          lastResponseTime: '2026-11-29T10:00:00Z',
        },
      ],
      optionalAttendees: [
        {
          mailbox: { name: null, emailAddress: 'eve@contoso.com' },
          responseType: 'Unknown',
          lastResponseTime: null,
        },
      ],
      recurrence: {
        pattern: { type: 'weekly', interval: 1, daysOfWeek: ['monday'] },
        range: { type: 'noEnd', startDate: '2026-12-01' },
      },
      dateTimeReceived: null,
      conversationId: null,
    });
    expect(decoded.ok && decoded.value.body).toBeUndefined();
  });

  it('types what is not an item: 404 NotFound (gone), 429 with its Retry-After, and answers that are not Graph’s', () => {
    const gone = decodeGetItem(
      reply(404, {
        error: { code: 'ErrorItemNotFound', message: 'The specified object was not found in the store.' },
      }),
      0,
      'message',
      options,
    );
    expect(!gone.ok && gone.error).toMatchObject({
      category: 'NotFound',
      code: 'ErrorItemNotFound',
      retryable: false,
    });
    const throttled = decodeGetItem(
      reply(429, { error: { code: 'ApplicationThrottled' } }, { 'retry-after': '7' }),
      0,
      'event',
      options,
    );
    expect(!throttled.ok && throttled.error).toBeInstanceOf(GraphResponseError);
    expect(!throttled.ok && throttled.error).toMatchObject({ retryable: true, retryAfterMs: 7000 });
    for (const body of ['not json', '[1]', '{"subject":"no id"}'])
      expect(decodeGetItem(reply(200, body), 0, 'message', options)).toMatchObject({
        ok: false,
        error: expect.any(GraphProtocolError),
      });
  });
});
