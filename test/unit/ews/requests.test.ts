import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Result } from '../../../functions/core/result.ts';
import {
  EwsProtocolError,
  EwsResponseError,
  EwsSoapFaultError,
  InvalidEwsRequestError,
} from '../../../functions/ews/errors.ts';
import {
  decodeFindFolderResponse,
  encodeFindFolder,
  type FindFolderRequest,
} from '../../../functions/ews/folders.ts';
import {
  decodeGetItemResponse,
  decodeSyncFolderItemsResponse,
  ENRICHMENT_SHAPE,
  encodeGetItem,
  encodeSyncFolderItems,
} from '../../../functions/ews/items.ts';
import {
  decodeSubscribeResponse,
  encodeSubscribe,
  type PushSubscriptionRequest,
} from '../../../functions/ews/subscribe.ts';
import { itWithSchema, validateEnvelope } from '../../support/ews-schema.ts';

const responses = join(import.meta.dirname, '..', '..', 'fixtures', 'ews', 'responses');
const response = (name: string) => readFileSync(join(responses, name));

function value<T, E>(result: Result<T, E>): T {
  if (!result.ok) throw new Error(`expected success, got ${String(result.error)}`);
  return result.value;
}
function failure<T, E>(result: Result<T, E>): E {
  if (result.ok) throw new Error('expected a failure');
  return result.error;
}

const base: PushSubscriptionRequest = {
  folders: [{ distinguishedFolderId: 'calendar' }, { distinguishedFolderId: 'inbox' }],
  eventTypes: ['CreatedEvent', 'ModifiedEvent', 'DeletedEvent'],
  statusFrequency: 5,
  url: 'https://abc123.execute-api.eu-west-1.amazonaws.com/ews/bWFpbGJveA/3/tok_en-123',
};

/** Every request shape the bridge sends; each must be valid against messages.xsd. */
const sentMessages: Array<[string, () => string]> = [
  ['Subscribe: distinguished folders, no watermark', () => encodeSubscribe(base)],
  [
    'Subscribe: all folders, every event type, watermark, caller data, impersonation',
    () =>
      encodeSubscribe(
        {
          folders: 'all',
          eventTypes: [
            'CopiedEvent',
            'CreatedEvent',
            'DeletedEvent',
            'ModifiedEvent',
            'MovedEvent',
            'NewMailEvent',
            'FreeBusyChangedEvent',
          ],
          watermark: 'AQAAAJ2pH1D8a8hNqB0Yc2Zt1hQnKQAAAAAAAAE=',
          statusFrequency: 1440,
          url: 'http://localhost:8080/ews/a/1/t?x=1&y=<2>',
          callerData: 'mailbox=a&b',
        },
        {
          requestServerVersion: 'V2016_10_10',
          impersonation: { kind: 'PrimarySmtpAddress', value: 'ada@example.test' },
        },
      ),
  ],
  [
    'Subscribe: folder ids with change keys, a folder in another mailbox, SmtpAddress impersonation',
    () =>
      encodeSubscribe(
        {
          ...base,
          folders: [
            { folderId: 'AAMkAGI2=', changeKey: 'AQAAAA==' },
            { distinguishedFolderId: 'calendar', mailbox: 'room-4.12@example.test' },
          ],
          statusFrequency: 1,
        },
        { impersonation: { kind: 'SmtpAddress', value: 'ada@example.test' } },
      ),
  ],
  [
    'Subscribe: PrincipalName and SID impersonation headers',
    () => encodeSubscribe(base, { impersonation: { kind: 'PrincipalName', value: 'ada@corp.example.test' } }),
  ],
  [
    'Subscribe: SID impersonation',
    () => encodeSubscribe(base, { impersonation: { kind: 'SID', value: 'S-1-5-21-1-2-3-1001' } }),
  ],
  [
    'GetItem: enrichment shape, several ids',
    () =>
      encodeGetItem({ itemShape: ENRICHMENT_SHAPE, itemIds: [{ id: 'A=' }, { id: 'B=', changeKey: 'CK' }] }),
  ],
  [
    // The catch-up's check of the pushed-item list entries SyncFolderItems did not name (renewer/reconcile.ts).
    'GetItem: IdOnly existence check, a batch of ids',
    () =>
      encodeGetItem({
        itemShape: { baseShape: 'IdOnly' },
        itemIds: Array.from({ length: 50 }, (_, i) => ({ id: `AAMkAD${i}=` })),
      }),
  ],
  [
    'GetItem: AllProperties',
    () =>
      encodeGetItem(
        { itemShape: { baseShape: 'AllProperties' }, itemIds: [{ id: 'A=' }] },
        { requestServerVersion: 'Exchange2010_SP2' },
      ),
  ],
  [
    'SyncFolderItems: first sync of a distinguished folder',
    () =>
      encodeSyncFolderItems({
        itemShape: { baseShape: 'IdOnly' },
        syncFolderId: { distinguishedFolderId: 'calendar' },
        maxChangesReturned: 512,
      }),
  ],
  [
    'SyncFolderItems: resumed from a SyncState, folder id, scope, impersonation',
    () =>
      encodeSyncFolderItems(
        {
          itemShape: ENRICHMENT_SHAPE,
          syncFolderId: { folderId: 'AAMkAGI2=', changeKey: 'AQ==' },
          syncState: 'H4sIAAAAAAAEAO29B2AcSZYlJi9t',
          maxChangesReturned: 1,
          syncScope: 'NormalAndAssociatedItems',
        },
        { impersonation: { kind: 'PrimarySmtpAddress', value: 'ada@example.test' } },
      ),
  ],
  [
    'FindFolder: every folder under msgfolderroot, first page of the largest size',
    () => encodeFindFolder({ maxEntriesReturned: 1000 }),
  ],
  [
    'FindFolder: a later page under a folder id, impersonation',
    () =>
      encodeFindFolder(
        { parentFolderId: { folderId: 'AAMkAGI2=', changeKey: 'AQ==' }, maxEntriesReturned: 1, offset: 6 },
        {
          requestServerVersion: 'Exchange2010_SP2',
          impersonation: { kind: 'PrimarySmtpAddress', value: 'ada@example.test' },
        },
      ),
  ],
  [
    'FindFolder: a distinguished folder of a named mailbox',
    () =>
      encodeFindFolder({
        parentFolderId: { distinguishedFolderId: 'msgfolderroot', mailbox: 'room-4.12@example.test' },
        maxEntriesReturned: 100,
        offset: 100,
      }),
  ],
];

describe('every request the bridge sends is valid against the official EWS schema', () => {
  for (const [name, build] of sentMessages) {
    itWithSchema(name, async () => {
      const verdict = await validateEnvelope(build());
      expect(verdict.exitCode, verdict.output).toBe(0);
    });
  }

  itWithSchema('the check is not vacuous: URL before StatusFrequency is rejected', async () => {
    const swapped = encodeSubscribe(base).replace(
      /(<t:StatusFrequency>5<\/t:StatusFrequency>)(<t:URL>[^<]*<\/t:URL>)/,
      '$2$1',
    );
    expect(swapped).not.toBe(encodeSubscribe(base));
    const verdict = await validateEnvelope(swapped);
    expect(verdict.exitCode, verdict.output).toBe(1);
  });
});

describe('encodeSubscribe', () => {
  it('writes the push request in schema order, with the header', () => {
    const xml = encodeSubscribe(
      { ...base, watermark: 'W1', callerData: 'c' },
      { impersonation: { kind: 'SmtpAddress', value: 'a@b.test' } },
    );
    expect(xml).toMatch(
      /<t:RequestServerVersion Version="Exchange2013"\/><t:ExchangeImpersonation><t:ConnectingSID><t:SmtpAddress>a@b.test<\/t:SmtpAddress>/,
    );
    const order = [
      '<t:FolderIds>',
      '<t:EventTypes>',
      '<t:Watermark>',
      '<t:StatusFrequency>',
      '<t:URL>',
      '<t:CallerData>',
    ].map((tag) => xml.indexOf(tag));
    expect(order.every((at) => at > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('escapes values rather than letting them break the XML', () => {
    const xml = encodeSubscribe({ ...base, url: 'https://h.test/cb?a=1&b=<x>' });
    expect(xml).toContain('<t:URL>https://h.test/cb?a=1&amp;b=&lt;x&gt;</t:URL>');
  });

  it.each([
    [{ statusFrequency: 0 }, /StatusFrequency "0" must be a whole number from 1 to 1440/],
    [{ statusFrequency: 1441 }, /StatusFrequency "1441"/],
    [{ statusFrequency: 2.5 }, /StatusFrequency "2.5"/],
    [
      { url: 'ftp://h.test/x' },
      /URL "ftp:\/\/h.test\/x" has scheme ftp; Exchange pushes only to http or https/,
    ],
    [{ url: '' }, /URL "" is 0 characters/],
    [{ url: `https://h.test/${'a'.repeat(2070)}` }, /is 2085 characters; Exchange accepts 1 to 2082/],
    [{ url: 'not a url' }, /is not an absolute URL/],
    [{ eventTypes: [] }, /EventTypes "\[\]" is empty/],
    [{ eventTypes: ['StatusEvent'] }, /EventType "StatusEvent" cannot be subscribed to/],
    [{ eventTypes: ['CreatedEvent', 'CreatedEvent'] }, /listed twice/],
    [{ folders: [] }, /FolderIds "\[\]" is empty/],
    [
      { folders: [{ distinguishedFolderId: 'Inbox' }] },
      /DistinguishedFolderId "Inbox" is not a well-known folder name/,
    ],
    [{ folders: [{ folderId: '' }] }, /FolderId "" is empty/],
    [{ watermark: '' }, /Watermark "" is empty/],
    [{ callerData: 'a\u0001b' }, /CallerData "a\\u0001b" contains characters XML cannot carry/],
  ])('refuses %j before sending anything', (override, message) => {
    // The override deliberately includes values the types forbid, as untrusted configuration would.
    const request = { ...base, ...override } as PushSubscriptionRequest;
    expect(() => encodeSubscribe(request)).toThrow(InvalidEwsRequestError);
    expect(() => encodeSubscribe(request)).toThrow(message);
  });

  it('accepts the URL length limit exactly', () => {
    const url = `https://h.test/${'a'.repeat(2082 - 'https://h.test/'.length)}`;
    expect(url).toHaveLength(2082);
    expect(() => encodeSubscribe({ ...base, url })).not.toThrow();
  });
});

describe('decodeSubscribeResponse', () => {
  it('returns the new SubscriptionId and starting Watermark', () => {
    expect(value(decodeSubscribeResponse(response('subscribe-success.xml')))).toEqual({
      subscriptionId: 'FQBuZXctcHVzaC1zdWJzY3JpcHRpb24tMDAxEAAAAA==',
      watermark: 'AQAAAJ2pH1D8a8hNqB0Yc2Zt1hQnKQAAAAAAAAE=',
    });
  });

  it('types ErrorInvalidWatermark so the lifecycle can subscribe fresh', () => {
    const error = failure(decodeSubscribeResponse(response('subscribe-invalid-watermark.xml')));
    expect(error).toBeInstanceOf(EwsResponseError);
    expect(error).toMatchObject({
      responseCode: 'ErrorInvalidWatermark',
      category: 'InvalidWatermark',
      via: 'responseMessage',
    });
    expect(error.message).toMatch(
      /Subscribe failed with ErrorInvalidWatermark \("The watermark used .*"\): .*subscribe without it/,
    );
  });

  it('types ErrorExceededSubscriptionCount and keeps the MessageXml values', () => {
    const error = failure(decodeSubscribeResponse(response('subscribe-exceeded-subscription-count.xml')));
    if (!(error instanceof EwsResponseError)) throw error;
    expect(error.category).toBe('SubscriptionLimit');
    expect(error.messageXml.get('MaxSubscriptions')).toBe('20');
  });

  it('reads ErrorServerBusy SOAP faults with BackOffMilliseconds', () => {
    const error = failure(decodeSubscribeResponse(response('fault-server-busy.xml')));
    expect(error).toMatchObject({
      responseCode: 'ErrorServerBusy',
      category: 'ServerBusy',
      backOffMilliseconds: 297749,
      via: 'soapFault',
    });
    expect(error.message).toContain('BackOffMilliseconds=297749');
  });

  it('acts on the code Exchange wraps in ErrorInternalServerError, keeping the outer one', () => {
    const busy = failure(decodeSubscribeResponse(response('subscribe-internal-error-inner-server-busy.xml')));
    expect(busy).toMatchObject({
      responseCode: 'ErrorInternalServerError',
      category: 'ServerBusy',
      backOffMilliseconds: 30000,
    });
    expect(busy.message).toMatch(
      /^Subscribe failed with ErrorInternalServerError \(inner ErrorServerBusy: "The server cannot service this request right now\. Try again later\."\); BackOffMilliseconds=30000: Exchange is throttling/,
    );
    const [unlicensed] = value(
      decodeGetItemResponse(response('get-item-internal-error-inner-invalid-license.xml')),
    );
    expect(failure(unlicensed ?? failureResult())).toMatchObject({
      responseCode: 'ErrorInternalServerError',
      category: 'AccessDenied',
    });
  });

  it('reads schema-validation faults as InvalidRequest', () => {
    expect(failure(decodeSubscribeResponse(response('fault-schema-validation.xml')))).toMatchObject({
      responseCode: 'ErrorSchemaValidation',
      category: 'InvalidRequest',
    });
  });

  it('keeps faults without an EWS code as SOAP faults', () => {
    const error = failure(decodeSubscribeResponse(response('fault-generic-server.xml')));
    expect(error).toBeInstanceOf(EwsSoapFaultError);
    expect(error).toMatchObject({ faultCode: 'soap:Server' });
  });

  it('tells a Client fault (the request refused as sent) from a Server fault, and says why', () => {
    const fault = (code: string, text: string) =>
      `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>${code}</faultcode><faultstring>${text}</faultstring></soap:Fault></soap:Body></soap:Envelope>`;
    const client = failure(decodeSubscribeResponse(fault('soap:Client', 'User is not mailbox owner.')));
    expect(client).toMatchObject({ faultCode: 'soap:Client', retryable: false });
    expect(client.message).toMatch(/refused the request as sent .*will not help/);
    expect(client.message).not.toMatch(/retry with backoff/);
    const server = failure(decodeSubscribeResponse(fault('soap:Server', 'Internal error.')));
    expect(server).toMatchObject({ faultCode: 'soap:Server', retryable: true });
    expect(server.message).toMatch(/retry with backoff/);
  });

  it('counts ErrorTooManyObjectsOpened as a transient server limit', () => {
    const body =
      '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:SubscribeResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:ResponseMessages><m:SubscribeResponseMessage ResponseClass="Error"><m:MessageText>Too many objects are open.</m:MessageText><m:ResponseCode>ErrorTooManyObjectsOpened</m:ResponseCode></m:SubscribeResponseMessage></m:ResponseMessages></m:SubscribeResponse></s:Body></s:Envelope>';
    expect(failure(decodeSubscribeResponse(body))).toMatchObject({
      responseCode: 'ErrorTooManyObjectsOpened',
      category: 'Transient',
    });
  });

  it('says when the answer is not an EWS response at all', () => {
    const html = '<html><head><title>Sign in</title></head><body>login</body></html>';
    const cases: Array<[string | Uint8Array, RegExp]> = [
      [html, /root element is "html"/],
      ['', /not well-formed/],
      [response('get-item-mixed.xml'), /holds ".*GetItemResponse", expected .*SubscribeResponse/],
      [
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:SubscribeResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"/></s:Body></s:Envelope>',
        /holds no m:SubscribeResponseMessage/,
      ],
      [
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:SubscribeResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:ResponseMessages><m:SubscribeResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Watermark>W</m:Watermark></m:SubscribeResponseMessage></m:ResponseMessages></m:SubscribeResponse></s:Body></s:Envelope>',
        /no m:SubscriptionId/,
      ],
    ];
    for (const [body, pattern] of cases) {
      const error = failure(decodeSubscribeResponse(body));
      expect(error).toBeInstanceOf(EwsProtocolError);
      expect(error.message).toMatch(pattern);
    }
  });
});

describe('GetItem', () => {
  it('refuses empty and oversized id lists', () => {
    expect(() => encodeGetItem({ itemShape: ENRICHMENT_SHAPE, itemIds: [] })).toThrow(
      /ItemIds "\[\]" is empty/,
    );
    const many = Array.from({ length: 101 }, (_, i) => ({ id: `I${i}` }));
    expect(() => encodeGetItem({ itemShape: ENRICHMENT_SHAPE, itemIds: many })).toThrow(/more than 100/);
  });

  it('decodes calendar items, messages (and their meeting kinds), other items and per-item errors, in request order', () => {
    const results = value(decodeGetItemResponse(response('get-item-mixed.xml')));
    expect(results).toHaveLength(5);
    expect(value(results[0] ?? failureResult())).toEqual({
      kind: 'CalendarItem',
      element: 'CalendarItem',
      id: 'Y2FsLWl0ZW0tMQ==',
      changeKey: 'RwAAAA==',
      subject: 'Quarterly review & planning',
      itemClass: 'IPM.Appointment',
      lastModified: '2026-11-20T16:05:00Z',
      start: '2026-11-24T09:00:00Z',
      end: '2026-11-24T10:30:00Z',
      organizer: { name: 'Ada Example', emailAddress: 'ada@example.test' },
      location: 'Room 4.12',
    });
    expect(value(results[1] ?? failureResult())).toEqual({
      kind: 'Message',
      element: 'Message',
      id: 'bXNnLTE=',
      changeKey: 'CQAAAA==',
      subject: 'Invoice 2026-118',
      itemClass: 'IPM.Note',
      lastModified: '2026-11-21T07:44:13Z',
      from: { name: 'Billing', emailAddress: 'billing@vendor.test' },
      received: '2026-11-21T07:44:12Z',
      isRead: false,
    });
    expect(failure(results[2] ?? failureResult())).toMatchObject({
      responseCode: 'ErrorItemNotFound',
      category: 'NotFound',
    });
    expect(value(results[3] ?? failureResult())).toMatchObject({
      kind: 'Message',
      element: 'MeetingRequest',
      isRead: true,
      from: { name: null, emailAddress: 'lin@example.test' },
      changeKey: null,
    });
    expect(value(results[4] ?? failureResult())).toEqual({
      kind: 'Item',
      element: 'Contact',
      id: 'Y29udGFjdC0x',
      changeKey: 'RQAAAA==',
      subject: 'Grace Example',
      itemClass: null,
      lastModified: null,
    });
  });
});

describe('SyncFolderItems', () => {
  it('refuses MaxChangesReturned outside 1–512', () => {
    for (const max of [0, 513, 1.5]) {
      expect(() =>
        encodeSyncFolderItems({
          itemShape: ENRICHMENT_SHAPE,
          syncFolderId: { distinguishedFolderId: 'inbox' },
          maxChangesReturned: max,
        }),
      ).toThrow(/MaxChangesReturned .* must be a whole number from 1 to 512/);
    }
  });

  it('omits SyncState on the first call and sends it afterwards', () => {
    const first = encodeSyncFolderItems({
      itemShape: ENRICHMENT_SHAPE,
      syncFolderId: { distinguishedFolderId: 'inbox' },
      maxChangesReturned: 512,
    });
    expect(first).not.toContain('SyncState');
    const next = encodeSyncFolderItems({
      itemShape: ENRICHMENT_SHAPE,
      syncFolderId: { distinguishedFolderId: 'inbox' },
      syncState: 'S+/=',
      maxChangesReturned: 512,
    });
    expect(next).toContain('<m:SyncState>S+/=</m:SyncState>');
  });

  it('decodes every kind of change, the SyncState and IncludesLastItemInRange', () => {
    const result = value(decodeSyncFolderItemsResponse(response('sync-folder-items-changes.xml')));
    expect(result.syncState).toMatch(/^H4sIAAAA.*\/$/);
    expect(result.includesLastItemInRange).toBe(false);
    expect(result.changes.map((c) => c.kind)).toEqual(['Create', 'Update', 'Delete', 'ReadFlagChange']);
    expect(result.changes[0]).toMatchObject({
      item: { kind: 'CalendarItem', id: 'c3luYy1jcmVhdGU=', subject: 'Onboarding' },
    });
    expect(result.changes[1]).toMatchObject({
      item: { kind: 'Message', id: 'c3luYy11cGRhdGU=', isRead: true },
    });
    expect(result.changes[2]).toEqual({ kind: 'Delete', itemId: 'c3luYy1kZWxldGU=', changeKey: 'CQAAAD==' });
    expect(result.changes[3]).toEqual({
      kind: 'ReadFlagChange',
      itemId: 'c3luYy1yZWFk',
      changeKey: null,
      isRead: false,
    });
  });

  it('types ErrorInvalidSyncStateData', () => {
    expect(
      failure(decodeSyncFolderItemsResponse(response('sync-folder-items-invalid-sync-state.xml'))),
    ).toMatchObject({
      responseCode: 'ErrorInvalidSyncStateData',
      category: 'InvalidSyncState',
    });
  });
});

describe('FindFolder', () => {
  it('writes a Deep FindFolder under msgfolderroot in schema order: shape, paging view, parent', () => {
    const xml = encodeFindFolder(
      { maxEntriesReturned: 250, offset: 500 },
      { impersonation: { kind: 'PrimarySmtpAddress', value: 'ada@example.test' } },
    );
    expect(xml).toContain('<t:PrimarySmtpAddress>ada@example.test</t:PrimarySmtpAddress>');
    expect(xml).toContain(
      '<m:FindFolder Traversal="Deep"><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>' +
        '<t:FieldURI FieldURI="folder:FolderClass"/><t:FieldURI FieldURI="folder:DisplayName"/>' +
        '</t:AdditionalProperties></m:FolderShape>' +
        '<m:IndexedPageFolderView MaxEntriesReturned="250" Offset="500" BasePoint="Beginning"/>' +
        '<m:ParentFolderIds><t:DistinguishedFolderId Id="msgfolderroot"/></m:ParentFolderIds></m:FindFolder>',
    );
    expect(encodeFindFolder({ maxEntriesReturned: 10 })).toContain('Offset="0"');
    expect(encodeFindFolder({ parentFolderId: { folderId: 'F&<=' }, maxEntriesReturned: 10 })).toContain(
      '<m:ParentFolderIds><t:FolderId Id="F&amp;&lt;="/></m:ParentFolderIds>',
    );
  });

  it.each([
    [{ maxEntriesReturned: 0 }, /MaxEntriesReturned "0" must be a whole number from 1 to 1000/],
    [{ maxEntriesReturned: 1001 }, /MaxEntriesReturned "1001" must be a whole number from 1 to 1000/],
    [{ maxEntriesReturned: 2.5 }, /MaxEntriesReturned "2.5"/],
    [{ maxEntriesReturned: 10, offset: -1 }, /Offset "-1" must be a whole number from 0 to 2147483647/],
    [{ maxEntriesReturned: 10, offset: 1.5 }, /Offset "1.5"/],
    [{ maxEntriesReturned: 10, offset: 2 ** 31 }, /Offset "2147483648"/],
    [{ maxEntriesReturned: 10, parentFolderId: { folderId: '' } }, /FolderId "" is empty/],
    [
      { maxEntriesReturned: 10, parentFolderId: { distinguishedFolderId: 'Projects' } },
      /DistinguishedFolderId "Projects" is not a well-known folder name/,
    ],
  ])('refuses %j before sending anything', (request, message) => {
    // Deliberately includes values the types forbid, as untrusted input would.
    const built = () => encodeFindFolder(request as FindFolderRequest);
    expect(built).toThrow(InvalidEwsRequestError);
    expect(built).toThrow(message);
  });

  it('decodes every folder kind, in order, with ids, classes, names and the next page offset', () => {
    const result = value(decodeFindFolderResponse(response('find-folder-page.xml')));
    expect(result.includesLastItemInRange).toBe(false);
    expect(result.nextOffset).toBe(6);
    expect(result.folders.map((f) => [f.kind, f.folderClass, f.displayName])).toEqual([
      ['CalendarFolder', 'IPF.Appointment', 'Calendar'],
      ['ContactsFolder', 'IPF.Contact', 'Contacts'],
      ['Folder', 'IPF.Note', 'Inbox'],
      ['Folder', 'IPF.Note', 'R&D <2026>'],
      ['TasksFolder', 'IPF.Task', 'Tasks'],
      ['SearchFolder', 'IPF.Note', 'Unread Mail'],
    ]);
    expect(result.folders[2]).toEqual({
      folderId:
        'AAMkADk3YzE0ZDlhLTU4ZjUtNDk3Yy1hOWRkLTZmZGJmNTQ3MTQ5MwAuAAAAAADJrX0w7wzKT4VnZl0bxtFOAQBaI5ok8PWKTqq5oU3bp4JGAAAAAAEMAAA=',
      changeKey: 'AQAAABYAAABaI5ok8PWKTqq5oU3bp4JGAAAAAAQ1',
      kind: 'Folder',
      folderClass: 'IPF.Note',
      displayName: 'Inbox',
    });
    expect(new Set(result.folders.map((f) => f.folderId)).size).toBe(6);
  });

  it('ends paging on the last page, whatever IndexedPagingOffset says, and reads absent properties as null', () => {
    const last = response('find-folder-page.xml')
      .toString('utf8')
      .replace('IncludesLastItemInRange="false"', 'IncludesLastItemInRange="true"');
    expect(value(decodeFindFolderResponse(last))).toMatchObject({
      includesLastItemInRange: true,
      nextOffset: null,
    });
    const bare = findFolderResponse(
      '<m:RootFolder TotalItemsInView="1" IncludesLastItemInRange="true"><t:Folders><t:Folder><t:FolderId Id="Rg=="/></t:Folder></t:Folders></m:RootFolder>',
    );
    expect(value(decodeFindFolderResponse(bare)).folders).toEqual([
      { folderId: 'Rg==', changeKey: null, kind: 'Folder', folderClass: null, displayName: null },
    ]);
    const empty = findFolderResponse(
      '<m:RootFolder IndexedPagingOffset="0" TotalItemsInView="0" IncludesLastItemInRange="true"/>',
    );
    expect(value(decodeFindFolderResponse(empty))).toEqual({
      folders: [],
      includesLastItemInRange: true,
      nextOffset: null,
    });
  });

  it('types ErrorFolderNotFound as NotFound, for the FindFolder operation', () => {
    const error = failure(decodeFindFolderResponse(response('find-folder-folder-not-found.xml')));
    expect(error).toBeInstanceOf(EwsResponseError);
    expect(error).toMatchObject({
      operation: 'FindFolder',
      responseCode: 'ErrorFolderNotFound',
      category: 'NotFound',
      via: 'responseMessage',
    });
    expect(error.message).toMatch(/^FindFolder failed with ErrorFolderNotFound/);
  });

  it('reads ErrorServerBusy SOAP faults with BackOffMilliseconds', () => {
    expect(failure(decodeFindFolderResponse(response('fault-server-busy.xml')))).toMatchObject({
      operation: 'FindFolder',
      category: 'ServerBusy',
      backOffMilliseconds: 297749,
    });
  });

  it('refuses a malformed answer with an EwsProtocolError that says what is wrong', () => {
    const folder = '<t:Folder><t:FolderId Id="Rg=="/></t:Folder>';
    const cases: Array<[string | Uint8Array, RegExp]> = [
      [
        response('sync-folder-items-changes.xml'),
        /holds ".*SyncFolderItemsRes.*", expected .*FindFolderResponse/,
      ],
      [findFolderResponse(''), /the successful response has no m:RootFolder/],
      [
        findFolderResponse(
          `<m:RootFolder IndexedPagingOffset="1"><t:Folders>${folder}</t:Folders></m:RootFolder>`,
        ),
        /IncludesLastItemInRange is "\(absent\)", expected true or false/,
      ],
      [
        findFolderResponse('<m:RootFolder IncludesLastItemInRange="maybe"/>'),
        /IncludesLastItemInRange is "maybe"/,
      ],
      [
        findFolderResponse(
          `<m:RootFolder IncludesLastItemInRange="false"><t:Folders>${folder}</t:Folders></m:RootFolder>`,
        ),
        /IndexedPagingOffset is "\(absent\)" while IncludesLastItemInRange is false/,
      ],
      [
        findFolderResponse('<m:RootFolder IndexedPagingOffset="-1" IncludesLastItemInRange="false"/>'),
        /IndexedPagingOffset is "-1"/,
      ],
      [
        findFolderResponse(
          '<m:RootFolder IndexedPagingOffset="1" IncludesLastItemInRange="true"><t:Folders><t:CalendarFolder><t:DisplayName>Calendar</t:DisplayName></t:CalendarFolder></t:Folders></m:RootFolder>',
        ),
        /t:CalendarFolder has no t:FolderId with an Id/,
      ],
      [
        findFolderResponse(
          '<m:RootFolder IndexedPagingOffset="1" IncludesLastItemInRange="true"><t:Folders><t:Message><t:ItemId Id="SQ=="/></t:Message></t:Folders></m:RootFolder>',
        ),
        /t:Folders holds an unexpected element "Message"/,
      ],
    ];
    for (const [body, pattern] of cases) {
      const error = failure(decodeFindFolderResponse(body));
      expect(error).toBeInstanceOf(EwsProtocolError);
      expect(error.message).toMatch(pattern);
    }
  });

  itWithSchema('the page fixture is itself a schema-valid FindFolder response', async () => {
    const verdict = await validateEnvelope(response('find-folder-page.xml').toString('utf8'));
    expect(verdict.exitCode, verdict.output).toBe(0);
  });
});

/** A successful FindFolder response message holding `content`. */
function findFolderResponse(content: string): string {
  return (
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>' +
    '<m:FindFolderResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">' +
    '<m:ResponseMessages><m:FindFolderResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>' +
    `${content}</m:FindFolderResponseMessage></m:ResponseMessages></m:FindFolderResponse></s:Body></s:Envelope>`
  );
}

function failureResult(): never {
  throw new Error('missing result');
}
