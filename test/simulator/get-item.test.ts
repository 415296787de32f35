/**
 * GetItem returns real items: every BaseShape (IdOnly, Default, AllProperties, and FieldURIs in
 * AdditionalProperties) for each kind of item (message; calendar item single, recurring master,
 * occurrence, exception), valid against Microsoft's schema, with Exchange's default sets and
 * element order; the errors Exchange gives (a deleted item, a cancelled occurrence, an index out
 * of range, ErrorServerBusy with BackOffMilliseconds); control characters in subjects written as
 * Exchange writes them; and items made with given properties through the control API.
 */
import { describe, expect, it, type TestContext } from 'vitest';
import { createScaledClock } from '../../functions/core/clock.ts';
import { decodeGetItemResponse } from '../../functions/ews/items.ts';
import { writeHeader } from '../../functions/ews/request.ts';
import { writeEnvelope } from '../../functions/ews/soap.ts';
import { REPLACEMENT_CHARACTER } from '../../functions/ews/xml.ts';
import { parseOccurrenceItemId } from '../../simulator/recurrence.ts';
import { type Simulator, startSimulator } from '../../simulator/server.ts';
import { itWithSchema, validateEnvelope } from '../support/ews-schema.ts';
import { answers, child, itemId, names, getItemRequest as request, type Shape } from './get-item-support.ts';
import { as, defined, post } from './support.ts';

const getItemRequest = (shape: Shape, ids: readonly string[]) => request(shape, ids, ADA);

const ADA = 'ada@contoso.test';

async function setUp(context: TestContext): Promise<Simulator> {
  const sim = await startSimulator({
    clock: createScaledClock({ timeScale: 60 }),
    mailboxes: [ADA, 'bob@contoso.test'],
    initialItems: 0,
  });
  context.onTestFinished(() => sim.stop());
  return sim;
}

/**
 * One item of each kind, in ADA's mailbox: a message, a single meeting, a recurring master with
 * one exception and one cancelled occurrence, and one plain occurrence of it (by
 * t:OccurrenceItemId and by its own id).
 */
function eachKind(sim: Simulator) {
  const message = sim.makeChange({
    mailbox: ADA,
    kind: 'create',
    folder: 'inbox',
    item: {
      subject: 'Budget & forecast',
      ccRecipients: [{ name: 'Alan Turing', emailAddress: 'alan@contoso.test' }],
      categories: ['Project X'],
      importance: 'High',
      hasAttachments: true,
    },
  });
  const single = sim.makeChange({
    mailbox: ADA,
    calendarActivity: 'singleMeeting',
    item: {
      subject: 'Design review',
      start: Date.parse('2026-12-01T09:00:00Z'),
      end: Date.parse('2026-12-01T10:00:00Z'),
      organizer: { name: 'Ada', emailAddress: ADA },
      requiredAttendees: [
        {
          mailbox: { name: 'Alan Turing', emailAddress: 'alan@contoso.test' },
          responseType: 'Accept',
          lastResponseTime: null,
        },
      ],
      optionalAttendees: [
        {
          mailbox: { name: 'Ken Thompson', emailAddress: 'ken@fabrikam.test' },
          responseType: 'NoResponseReceived',
          lastResponseTime: null,
        },
      ],
    },
  });
  const series = sim.makeChange({
    mailbox: ADA,
    calendarActivity: 'recurringSeries',
    item: {
      subject: 'Weekly sync',
      start: Date.parse('2026-12-02T14:00:00Z'),
      end: Date.parse('2026-12-02T14:30:00Z'),
      organizer: { name: 'Grace Hopper', emailAddress: 'grace@fabrikam.test' },
      recurrence: { pattern: 'Weekly', interval: 1, occurrences: 8, range: 'EndDate' },
    },
  });
  // Cancelled first: an exception is made of an occurrence that is still there.
  const cancelled = sim.makeChange({
    mailbox: ADA,
    itemId: series.itemId,
    calendarActivity: 'occurrenceCancelled',
  });
  const exception = sim.makeChange({ mailbox: ADA, itemId: series.itemId, calendarActivity: 'exception' });
  const taken = new Set(
    [exception, cancelled].map((c) => defined(parseOccurrenceItemId(c.occurrenceItemId ?? '')).index),
  );
  const plainIndex = [1, 2, 3, 4, 5, 6, 7, 8].find((i) => !taken.has(i)) ?? 1;
  return {
    message,
    single,
    series,
    exception,
    cancelled,
    plainIndex,
    /** Message, single, master, occurrence (by OccurrenceItemId), exception (by its own id). */
    ids: [
      itemId(message.itemId),
      itemId(single.itemId),
      itemId(series.itemId),
      `<t:OccurrenceItemId RecurringMasterId="${series.itemId}" InstanceIndex="${plainIndex}"/>`,
      itemId(defined(exception.occurrenceItemId ?? undefined, 'the exception id')),
    ],
  };
}

const DEFAULT_MESSAGE = [
  'ItemId',
  'Subject',
  'Sensitivity',
  'Body',
  'Size',
  'DateTimeSent',
  'DateTimeCreated',
  'ResponseObjects',
  'HasAttachments',
  'IsAssociated',
  'ToRecipients',
  'IsReadReceiptRequested',
  'IsDeliveryReceiptRequested',
  'From',
  'IsRead',
];
const DEFAULT_CALENDAR = [
  'ItemId',
  'Subject',
  'ResponseObjects',
  'HasAttachments',
  'IsAssociated',
  'Start',
  'End',
  'LegacyFreeBusyStatus',
  'Location',
  'CalendarItemType',
  'Organizer',
];

describe('GetItem: each BaseShape for each kind of item', () => {
  const shapes: ReadonlyArray<readonly [string, Shape]> = [
    ['IdOnly', { baseShape: 'IdOnly' }],
    ['Default', { baseShape: 'Default' }],
    ['AllProperties', { baseShape: 'AllProperties' }],
    [
      'IdOnly + AdditionalProperties (Text body)',
      {
        baseShape: 'IdOnly',
        bodyType: 'Text',
        additional: ['item:Subject', 'calendar:Start', 'message:From', 'item:Body'],
      },
    ],
  ];
  for (const [name, shape] of shapes) {
    itWithSchema(
      `${name}: a message, a single meeting, a master, an occurrence and an exception validate`,
      async () => {
        const sim = await startSimulator({ mailboxes: [ADA], initialItems: 0 });
        try {
          const { ids } = eachKind(sim);
          const reply = await post(sim.ewsUrl, getItemRequest(shape, ids));
          expect(reply.status).toBe(200);
          const verdict = await validateEnvelope(reply.body);
          expect(verdict, verdict.output).toMatchObject({ exitCode: 0 });
          expect(answers(reply.body).map((a) => a.code)).toEqual(Array(5).fill('NoError'));
        } finally {
          await sim.stop();
        }
      },
    );
  }

  it('IdOnly answers the ItemId alone, with the current ChangeKey; an occurrence has its own id', async (context) => {
    const sim = await setUp(context);
    const kinds = eachKind(sim);
    const replies = answers(
      (await post(sim.ewsUrl, getItemRequest({ baseShape: 'IdOnly' }, kinds.ids))).body,
    );
    expect(replies.map((a) => a.item?.name)).toEqual([
      'Message',
      'CalendarItem',
      'CalendarItem',
      'CalendarItem',
      'CalendarItem',
    ]);
    for (const reply of replies) expect(names(reply.item)).toEqual(['ItemId']);
    const ids = replies.map((a) => child(a.item, 'ItemId')?.attributes.get('Id'));
    expect(ids.slice(0, 3)).toEqual([kinds.message.itemId, kinds.single.itemId, kinds.series.itemId]);
    // The series' last change (the exception) set the master's ChangeKey, and the exception's.
    expect(child(replies[2]?.item, 'ItemId')?.attributes.get('ChangeKey')).toBe(kinds.exception.changeKey);
    expect(child(replies[4]?.item, 'ItemId')?.attributes.get('ChangeKey')).toBe(kinds.exception.changeKey);
    expect(parseOccurrenceItemId(ids[3] ?? '')).toEqual({
      masterId: kinds.series.itemId,
      index: kinds.plainIndex,
    });
    expect(ids[4]).toBe(kinds.exception.occurrenceItemId);
  });

  it("Default answers Exchange's default set for the item type, in schema order", async (context) => {
    const sim = await setUp(context);
    const kinds = eachKind(sim);
    const replies = answers(
      (await post(sim.ewsUrl, getItemRequest({ baseShape: 'Default' }, kinds.ids))).body,
    );
    expect(names(replies[0]?.item)).toEqual(DEFAULT_MESSAGE);
    for (const reply of replies.slice(1)) expect(names(reply.item)).toEqual(DEFAULT_CALENDAR);
    expect(replies.slice(1).map((a) => child(a.item, 'CalendarItemType')?.text)).toEqual([
      'Single',
      'RecurringMaster',
      'Occurrence',
      'Exception',
    ]);
  });

  it('AllProperties answers every property the bridge reads, per kind', async (context) => {
    const sim = await setUp(context);
    const kinds = eachKind(sim);
    const body = (await post(sim.ewsUrl, getItemRequest({ baseShape: 'AllProperties' }, kinds.ids))).body;
    const [message, single, master, occurrence, exception] = answers(body).map((a) => a.item);
    for (const property of [
      'Subject',
      'Sensitivity',
      'Body',
      'DateTimeReceived',
      'Size',
      'Categories',
      'Importance',
      'DateTimeSent',
      'HasAttachments',
      'LastModifiedTime',
      'ConversationId',
      'ToRecipients',
      'CcRecipients',
      'From',
      'InternetMessageId',
      'IsRead',
    ]) {
      expect(names(message), property).toContain(property);
    }
    expect(child(child(message, 'Categories'), 'String')?.text).toBe('Project X');
    expect(child(message, 'Importance')?.text).toBe('High');
    expect(child(message, 'HasAttachments')?.text).toBe('true');
    expect(child(message, 'Subject')?.text).toBe('Budget & forecast');
    const calendarProperties = [
      'Subject',
      'Sensitivity',
      'LastModifiedTime',
      'UID',
      'Start',
      'End',
      'IsAllDayEvent',
      'Location',
      'IsCancelled',
      'CalendarItemType',
      'Organizer',
    ];
    for (const item of [single, master, occurrence, exception]) {
      for (const property of calendarProperties) expect(names(item), property).toContain(property);
    }
    // Attendees with their answers.
    const attendee = child(child(single, 'RequiredAttendees'), 'Attendee');
    expect(child(child(attendee, 'Mailbox'), 'EmailAddress')?.text).toBe('alan@contoso.test');
    expect(child(attendee, 'ResponseType')?.text).toBe('Accept');
    expect(names(single)).toContain('OptionalAttendees');
    expect(child(single, 'MyResponseType')?.text).toBe('Organizer');
    // The master holds the series; occurrences and exceptions do not, but know where they belong.
    for (const property of [
      'Recurrence',
      'FirstOccurrence',
      'LastOccurrence',
      'ModifiedOccurrences',
      'DeletedOccurrences',
    ]) {
      expect(names(master), property).toContain(property);
      expect(names(occurrence), property).not.toContain(property);
    }
    const recurrence = child(master, 'Recurrence');
    expect(names(recurrence)).toEqual(['WeeklyRecurrence', 'EndDateRecurrence']);
    expect(child(child(recurrence, 'WeeklyRecurrence'), 'DaysOfWeek')?.text).toBe('Wednesday');
    expect(child(child(recurrence, 'EndDateRecurrence'), 'EndDate')?.text).toBe('2027-01-20Z');
    expect(child(occurrence, 'Start')?.text).toBe(
      new Date(Date.parse('2026-12-02T14:00:00Z') + (kinds.plainIndex - 1) * 7 * 86_400_000)
        .toISOString()
        .replace('.000', ''),
    );
    for (const item of [occurrence, exception]) {
      expect(names(item)).toContain('OriginalStart');
      expect(names(item)).toContain('RecurrenceId');
      expect(child(item, 'UID')?.text).toBe(child(master, 'UID')?.text);
      expect(child(item, 'IsRecurring')?.text).toBe('true');
    }
    // The owner is an attendee of this series, so IsRecurring is true on the master too.
    expect(child(master, 'IsRecurring')?.text).toBe('true');
    expect(child(single, 'IsRecurring')?.text).toBe('false');
    expect(child(exception, 'ItemClass')?.text).toBe('IPM.OLE.CLASS.{00061055-0000-0000-C000-000000000046}');
    // The project's own decoder reads all of it.
    const decoded = decodeGetItemResponse(body);
    expect(decoded.ok && decoded.value.every((r) => r.ok)).toBe(true);
  });

  it('AdditionalProperties adds what is named, skips another kind’s FieldURIs, and converts the body', async (context) => {
    const sim = await setUp(context);
    const kinds = eachKind(sim);
    const shape: Shape = {
      baseShape: 'IdOnly',
      bodyType: 'Text',
      additional: ['item:Subject', 'calendar:Start', 'message:From', 'item:Body'],
    };
    const replies = answers((await post(sim.ewsUrl, getItemRequest(shape, kinds.ids.slice(0, 2)))).body);
    expect(names(replies[0]?.item)).toEqual(['ItemId', 'Subject', 'Body', 'From']);
    expect(names(replies[1]?.item)).toEqual(['ItemId', 'Subject', 'Body', 'Start']);
    expect(child(replies[0]?.item, 'Body')?.attributes.get('BodyType')).toBe('Text');
    expect(child(replies[0]?.item, 'Body')?.text).not.toContain('<');
    const html = answers(
      (await post(sim.ewsUrl, getItemRequest({ ...shape, bodyType: 'HTML' }, kinds.ids.slice(0, 1)))).body,
    );
    expect(child(html[0]?.item, 'Body')?.attributes.get('BodyType')).toBe('HTML');
    expect(child(html[0]?.item, 'Body')?.text).toMatch(/^<html>/);
  });
});

describe('GetItem errors', () => {
  it('answers ErrorItemNotFound for a deleted item or a moved id, and Exchange’s occurrence errors', async (context) => {
    const sim = await setUp(context);
    const kinds = eachKind(sim);
    const deleted = sim.makeChange({ mailbox: ADA, kind: 'delete', itemId: kinds.message.itemId });
    const moved = sim.makeChange({
      mailbox: ADA,
      kind: 'move',
      itemId: kinds.single.itemId,
      toFolder: 'deleteditems',
    });
    const replies = answers(
      (
        await post(
          sim.ewsUrl,
          getItemRequest({ baseShape: 'IdOnly' }, [
            itemId(deleted.itemId),
            itemId(defined(moved.oldItemId ?? undefined)),
            itemId(defined(kinds.cancelled.occurrenceItemId ?? undefined)),
            `<t:OccurrenceItemId RecurringMasterId="${kinds.series.itemId}" InstanceIndex="9"/>`,
            `<t:RecurringMasterItemId OccurrenceId="${kinds.exception.occurrenceItemId}"/>`,
            itemId(moved.itemId),
          ]),
        )
      ).body,
    );
    expect(replies.map((a) => a.code)).toEqual([
      'ErrorItemNotFound',
      'ErrorItemNotFound',
      'ErrorCalendarOccurrenceIsDeletedFromRecurrence',
      'ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange',
      'NoError',
      'NoError',
    ]);
    // RecurringMasterItemId answers the master.
    expect(child(replies[4]?.item, 'ItemId')?.attributes.get('Id')).toBe(kinds.series.itemId);
    for (const reply of replies.slice(0, 4)) {
      expect(reply.message.attributes.get('ResponseClass')).toBe('Error');
      expect(names(reply.message)).toEqual(['MessageText', 'ResponseCode', 'DescriptiveLinkKey', 'Items']);
    }
  });

  itWithSchema('the error responses validate', async () => {
    const sim = await startSimulator({ mailboxes: [ADA], initialItems: 0 });
    try {
      const kinds = eachKind(sim);
      const reply = await post(
        sim.ewsUrl,
        getItemRequest({ baseShape: 'Default' }, [
          itemId(defined(kinds.cancelled.occurrenceItemId ?? undefined)),
          `<t:OccurrenceItemId RecurringMasterId="${kinds.series.itemId}" InstanceIndex="99"/>`,
          itemId('AAAAAAAAAAAAAAAAAAAA'),
        ]),
      );
      const verdict = await validateEnvelope(reply.body);
      expect(verdict, verdict.output).toMatchObject({ exitCode: 0 });
    } finally {
      await sim.stop();
    }
  });

  it('getItemServerBusyRate throttles GetItem alone: the ErrorServerBusy fault with BackOffMilliseconds', async (context) => {
    const sim = await setUp(context);
    const { ids } = eachKind(sim);
    sim.setFaults({ getItemServerBusyRate: 1, serverBusyBackOffMs: 4321 });
    const reply = await post(sim.ewsUrl, getItemRequest({ baseShape: 'IdOnly' }, ids.slice(0, 1)));
    expect(reply.status).toBe(500);
    expect(reply.body).toContain(
      '<faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorServerBusy</faultcode>',
    );
    expect(reply.body).toMatch(
      /<t:MessageXml[^>]*><t:Value Name="BackOffMilliseconds">4321<\/t:Value><\/t:MessageXml>/,
    );
    const decoded = decodeGetItemResponse(reply.body);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok)
      expect(decoded.error).toMatchObject({ responseCode: 'ErrorServerBusy', backOffMilliseconds: 4321 });
    // Other operations go on.
    const sync = await post(
      sim.ewsUrl,
      writeEnvelope(
        '<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId><m:MaxChangesReturned>10</m:MaxChangesReturned></m:SyncFolderItems>',
        { header: writeHeader(as(ADA)) },
      ),
    );
    expect(sync.status).toBe(200);
  });
});

describe('control characters in subjects', () => {
  it('are written as the character references Exchange writes, which the bridge reads as U+FFFD', async (context) => {
    const sim = await setUp(context);
    const given = sim.makeChange({
      mailbox: ADA,
      kind: 'create',
      folder: 'inbox',
      item: { subject: 'Null\u0000 and SUB\u001A' },
    });
    sim.setFaults({ controlCharacterRate: 1 });
    const drawn = sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'calendar' });
    const body = (
      await post(
        sim.ewsUrl,
        getItemRequest({ baseShape: 'AllProperties' }, [itemId(given.itemId), itemId(drawn.itemId)]),
      )
    ).body;
    expect(body).toContain('<t:Subject>Null&#x0; and SUB&#x1A;</t:Subject>');
    expect(body).toMatch(/<t:Subject>[^<]*#\d+ &#x[0-9A-F]{1,2};<\/t:Subject>/);
    const decoded = decodeGetItemResponse(body);
    if (!decoded.ok) throw decoded.error;
    const [first, second] = decoded.value;
    expect(first?.ok && first.value.subject).toBe(
      `Null${REPLACEMENT_CHARACTER} and SUB${REPLACEMENT_CHARACTER}`,
    );
    expect(second?.ok && second.value.subject).toMatch(new RegExp(`${REPLACEMENT_CHARACTER}$`));
  });
});

describe('POST /_sim/changes with item properties', () => {
  it('creates a recurring meeting with the given properties, and refuses bad ones saying why', async (context) => {
    const sim = await setUp(context);
    const call = async (body: unknown) => {
      const response = await fetch(`${sim.controlUrl}/changes`, {
        method: 'POST',
        body: JSON.stringify(body),
      });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    };
    const created = await call({
      mailbox: ADA,
      calendarActivity: 'recurringSeries',
      item: {
        subject: 'Stand-up',
        start: '2026-12-07T08:30:00Z',
        end: '2026-12-07T08:45:00Z',
        location: 'Teams',
        requiredAttendees: [
          'alan@contoso.test',
          { emailAddress: 'ken@fabrikam.test', name: 'Ken', responseType: 'Tentative' },
        ],
        recurrence: { pattern: 'Daily', interval: 1, occurrences: 5 },
        sensitivity: 'Private',
      },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      kind: 'create',
      calendarActivity: 'recurringSeries',
      folder: 'calendar',
    });
    const id = String(created.json.itemId);
    const [reply] = answers(
      (await post(sim.ewsUrl, getItemRequest({ baseShape: 'AllProperties' }, [itemId(id)]))).body,
    );
    expect(child(reply?.item, 'Subject')?.text).toBe('Stand-up');
    expect(child(reply?.item, 'Location')?.text).toBe('Teams');
    expect(child(reply?.item, 'Sensitivity')?.text).toBe('Private');
    expect(child(reply?.item, 'Start')?.text).toBe('2026-12-07T08:30:00Z');
    expect(child(reply?.item, 'Duration')?.text).toBe('PT15M');
    expect(
      child(child(child(reply?.item, 'Recurrence'), 'NumberedRecurrence'), 'NumberOfOccurrences')?.text,
    ).toBe('5');
    expect(child(child(reply?.item, 'LastOccurrence'), 'Start')?.text).toBe('2026-12-11T08:30:00Z');
    const attendees = child(reply?.item, 'RequiredAttendees')?.children ?? [];
    expect(attendees.map((a) => child(a, 'ResponseType')?.text)).toEqual(['NoResponseReceived', 'Tentative']);

    const answered = await call({ mailbox: ADA, itemId: id, calendarActivity: 'attendeeResponse' });
    expect(answered.json).toMatchObject({ kind: 'modify', calendarActivity: 'attendeeResponse', itemId: id });

    const refusals = await Promise.all([
      call({ mailbox: ADA, kind: 'create', item: { colour: 'red' } }),
      call({ mailbox: ADA, kind: 'create', folder: 'inbox', item: { start: 'tomorrow' } }),
      call({ mailbox: ADA, kind: 'modify', item: { subject: 'x' } }),
      call({ mailbox: ADA, calendarActivity: 'dance' }),
      call({
        mailbox: ADA,
        kind: 'create',
        folder: 'inbox',
        item: { recurrence: { pattern: 'Daily', occurrences: 3 } },
      }),
      call({ mailbox: ADA, kind: 'create', calendarActivity: 'exception' }),
    ]);
    expect(refusals.map((r) => r.status)).toEqual([400, 400, 400, 400, 400, 400]);
    expect(refusals.map((r) => String(r.json.error))).toEqual([
      expect.stringMatching(/^item: unknown field "colour"; an item has subject, /),
      expect.stringMatching(/^item: start must be an ISO 8601 date/),
      'item gives the properties of a new item; send it with kind "create"',
      expect.stringMatching(
        /^calendarActivity "dance" is unknown; use one of singleMeeting, recurringSeries/,
      ),
      expect.stringMatching(/recurring series, which lives in the calendar/),
      'calendarActivity "exception" is a modify; give kind "modify" or leave kind out',
    ]);
  });
});
