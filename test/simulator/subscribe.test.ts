/**
 * Subscribe as the simulator answers it: opaque ids, resuming from a watermark (replaying exactly
 * what was missed), the reasons a watermark is refused (unknown, other mailbox, moved mailbox,
 * older than 30 days), and every error a push client can meet — read with the project's own
 * decodeSubscribeResponse, as the bridge will read them.
 */
import { describe, expect, it, type TestContext } from 'vitest';
import { createScaledClock } from '../../functions/core/clock.ts';
import { EwsResponseError, EwsSoapFaultError } from '../../functions/ews/errors.ts';
import { openEnvelope, readResponseMessageHead } from '../../functions/ews/soap.ts';
import {
  decodeSubscribeResponse,
  encodeSubscribe,
  type PushSubscriptionRequest,
} from '../../functions/ews/subscribe.ts';
import { NS } from '../../functions/ews/xml.ts';
import type { Simulator, SimulatorOptions } from '../../simulator/server.ts';
import {
  as,
  createJumpableClock,
  elapse,
  failure,
  post,
  type Receiver,
  startWithReceiver,
  subscribe,
  value,
  waitFor,
} from './support.ts';

const ADA = 'ada@contoso.test';
const BOB = 'bob@contoso.test';
const DAY = 24 * 60 * 60 * 1000;

async function setUp(
  context: TestContext,
  options: SimulatorOptions = {},
): Promise<{ sim: Simulator; receiver: Receiver; request: PushSubscriptionRequest }> {
  const clock = options.clock ?? createScaledClock({ timeScale: 600 });
  const { sim, receiver } = await startWithReceiver(context.onTestFinished, {
    mailboxes: [ADA, BOB],
    ...options,
    clock,
  });
  const request: PushSubscriptionRequest = {
    folders: [{ distinguishedFolderId: 'inbox' }],
    eventTypes: ['CreatedEvent', 'ModifiedEvent', 'MovedEvent', 'DeletedEvent'],
    statusFrequency: 1,
    url: receiver.url,
  };
  return { sim, receiver, request };
}

/** The ResponseCode of the single response message of an operation the client codecs do not cover. */
function responseCodeOf(body: string): string | null {
  const opened = openEnvelope(body, { maxBytes: 1 << 20, maxDepth: 32 });
  if (!opened.ok) throw new Error(opened.error.message);
  const message = opened.value.payload.children.find((c) => c.name === 'ResponseMessages')?.children[0];
  if (message === undefined) throw new Error(`no response message in ${body}`);
  return value(readResponseMessageHead(message)).responseCode;
}

describe('SubscriptionIds and watermarks', () => {
  it('are unique, base64-looking and case-sensitive', async (context) => {
    const { sim, request } = await setUp(context);
    const results = [];
    for (let i = 0; i < 10; i++) results.push(value(await subscribe(sim, ADA, request)));
    const ids = results.map((r) => r.subscriptionId);
    const watermarks = results.map((r) => r.watermark);
    expect(new Set(ids).size).toBe(10);
    expect(new Set(watermarks).size).toBe(10);
    for (const opaque of [...ids, ...watermarks]) {
      expect(opaque).toMatch(/^[A-Za-z0-9+/]{20,}={0,2}$/);
      expect(opaque).toMatch(/[a-z]/);
      expect(opaque).toMatch(/[A-Z]/);
    }
    // The same watermark with its case changed is another (unknown) watermark.
    const watermark = watermarks[0] ?? '';
    const flipped = [...watermark]
      .map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()))
      .join('');
    const refused = failure(await subscribe(sim, ADA, { ...request, watermark: flipped }));
    expect(refused).toMatchObject({ responseCode: 'ErrorInvalidWatermark', category: 'InvalidWatermark' });
    value(await subscribe(sim, ADA, { ...request, watermark }));
  });
});

describe('resuming from a watermark', () => {
  it('replays exactly the events missed since it, in order, under a new SubscriptionId', async (context) => {
    const { sim, receiver, request } = await setUp(context);
    const first = value(await subscribe(sim, ADA, request));
    sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    await waitFor(
      sim.clock,
      () => sim.deliveries().some((d) => d.kind === 'events'),
      'the event push',
      60_000,
    );
    const lastSeen = sim.deliveries().find((d) => d.kind === 'events')?.watermark ?? '';
    // Exchange loses the subscription; meanwhile the mailbox changes, in and out of the inbox.
    sim.dropSubscription(first.subscriptionId);
    const missed = [
      sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' }),
      sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'calendar' }),
      sim.makeChange({ mailbox: ADA, kind: 'modify', folder: 'inbox' }),
      sim.makeChange({ mailbox: ADA, kind: 'move', folder: 'inbox' }),
      sim.makeChange({ mailbox: ADA, kind: 'delete', folder: 'inbox' }),
    ];
    await elapse(sim.clock, 120_000);
    const before = receiver.pushes.length;

    const resumed = value(await subscribe(sim, ADA, { ...request, watermark: lastSeen }));
    expect(resumed.subscriptionId).not.toBe(first.subscriptionId);
    expect(resumed.watermark).toBe(lastSeen);
    await waitFor(
      sim.clock,
      () =>
        sim
          .deliveries({ subscriptionId: resumed.subscriptionId })
          .some((d) => d.kind === 'events' && !d.moreEvents),
      'the replay',
      60_000,
    );
    const replay = receiver.pushes.slice(before).flatMap((p) => p.decoded?.notifications ?? []);
    expect(replay[0]?.previousWatermark).toBe(lastSeen);
    // The events of the missed changes that concern the inbox and the subscribed event types.
    const inboxId = sim.mailboxes().find((m) => m.address === ADA)?.folders.inbox?.folderId;
    const expected = missed
      .flatMap((c) => c.events)
      .filter((e) => request.eventTypes.includes(e.type))
      .filter(
        (e) => e.parentFolderId === inboxId || e.folderId === inboxId || e.oldParentFolderId === inboxId,
      );
    expect(expected.length).toBeGreaterThanOrEqual(8);
    const replayed = replay.flatMap((n) => n.events).filter((e) => e.type !== 'StatusEvent');
    expect(replayed.map((e) => e.watermark)).toEqual(expected.map((e) => e.watermark));
    expect(replayed.map((e) => e.type)).toEqual(expected.map((e) => e.type));
  });
});

describe('ErrorInvalidWatermark', () => {
  it('accepts one sent as m:Watermark (as exchangelib does) but, like Exchange, does not read it', async (context) => {
    const { sim, request } = await setUp(context);
    const first = value(await subscribe(sim, ADA, request));
    sim.dropSubscription(first.subscriptionId);
    sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    const typed = encodeSubscribe({ ...request, watermark: first.watermark }, as(ADA));
    const messages = typed.replace(/<t:Watermark>(.*?)<\/t:Watermark>/, '<m:Watermark>$1</m:Watermark>');
    expect(messages).toContain(`<m:Watermark>${first.watermark}</m:Watermark>`);
    const fresh = value(decodeSubscribeResponse((await post(sim.ewsUrl, messages)).body));
    // A fresh subscription: it starts now, so the change made meanwhile is not replayed.
    expect(fresh.watermark).not.toBe(first.watermark);
    expect(
      sim.subscriptions({ mailbox: ADA }).find((s) => s.subscriptionId === fresh.subscriptionId),
    ).toMatchObject({
      resumedFrom: null,
    });
    const resumed = value(decodeSubscribeResponse((await post(sim.ewsUrl, typed)).body));
    expect(resumed.watermark).toBe(first.watermark);
    expect(
      sim.subscriptions({ mailbox: ADA }).find((s) => s.subscriptionId === resumed.subscriptionId),
    ).toMatchObject({
      resumedFrom: first.watermark,
    });
  });

  it('refuses a watermark older than 30 days, and accepts one of 29 days', async (context) => {
    const clock = createJumpableClock(createScaledClock({ timeScale: 600 }));
    const { sim, request } = await setUp(context, { clock });
    const old = value(await subscribe(sim, ADA, request));
    clock.jump(29 * DAY);
    const young = value(await subscribe(sim, ADA, request));
    value(await subscribe(sim, ADA, { ...request, watermark: old.watermark }));
    clock.jump(2 * DAY);
    const expired = failure(await subscribe(sim, ADA, { ...request, watermark: old.watermark }));
    expect(expired).toBeInstanceOf(EwsResponseError);
    expect(expired).toMatchObject({ responseCode: 'ErrorInvalidWatermark', via: 'responseMessage' });
    expect(expired.message).toMatch(/older than 30 days/);
    value(await subscribe(sim, ADA, { ...request, watermark: young.watermark }));
  });

  it('refuses unknown watermarks, those of another mailbox, and those from before a mailbox move', async (context) => {
    const { sim, request } = await setUp(context, { faults: { mailboxMoveDurationMs: 0 } });
    const ada = value(await subscribe(sim, ADA, request));
    const unknown = failure(
      await subscribe(sim, ADA, { ...request, watermark: 'AQAAAJ2pH1D8a8hNqB0Yc2Zt1hQnKQAAAAAAAAE=' }),
    );
    expect(unknown).toMatchObject({ responseCode: 'ErrorInvalidWatermark' });
    expect(unknown.message).toMatch(/never issued/);
    const otherMailbox = failure(await subscribe(sim, BOB, { ...request, watermark: ada.watermark }));
    expect(otherMailbox.message).toMatch(/another mailbox/);
    sim.moveMailbox(ADA);
    const moved = failure(await subscribe(sim, ADA, { ...request, watermark: ada.watermark }));
    expect(moved).toMatchObject({ responseCode: 'ErrorInvalidWatermark' });
    expect(moved.message).toMatch(/moved to another database/);
  });
});

describe('what Subscribe refuses', () => {
  it('answers a callback URL Exchange would not push to with ErrorInvalidPushSubscriptionUrl', async (context) => {
    const { sim, request } = await setUp(context);
    const xml = encodeSubscribe(request, as(ADA)).replace(
      /<t:URL>[^<]*<\/t:URL>/,
      '<t:URL>ftp://files.test/drop</t:URL>',
    );
    const error = failure(decodeSubscribeResponse((await post(sim.ewsUrl, xml)).body));
    expect(error).toMatchObject({
      responseCode: 'ErrorInvalidPushSubscriptionUrl',
      category: 'InvalidRequest',
    });
  });

  it('allows 20 subscriptions per mailbox, then answers ErrorExceededSubscriptionCount', async (context) => {
    const { sim, request } = await setUp(context);
    for (let i = 0; i < 20; i++) value(await subscribe(sim, ADA, request));
    const error = failure(await subscribe(sim, ADA, request));
    if (!(error instanceof EwsResponseError)) throw error;
    expect(error.category).toBe('SubscriptionLimit');
    expect(Object.fromEntries(error.messageXml)).toEqual({
      Policy: 'MaxSubscriptions',
      MaxSubscriptions: '20',
      CurrentCount: '20',
    });
    // Another mailbox has its own budget; and an ended subscription frees a place.
    value(await subscribe(sim, BOB, request));
    sim.dropSubscription(sim.subscriptions({ mailbox: ADA })[0]?.subscriptionId ?? '');
    value(await subscribe(sim, ADA, request));
  });

  it('refuses delegate access, and a caller without a mailbox that does not impersonate', async (context) => {
    const { sim, request } = await setUp(context);
    const delegate = failure(
      await subscribe(sim, ADA, { ...request, folders: [{ distinguishedFolderId: 'inbox', mailbox: BOB }] }),
    );
    expect(delegate).toMatchObject({ responseCode: 'ErrorSubscriptionDelegateAccessNotSupported' });
    const anonymous = failure(
      decodeSubscribeResponse((await post(sim.ewsUrl, encodeSubscribe(request))).body),
    );
    expect(anonymous).toMatchObject({ responseCode: 'ErrorMissingEmailAddress' });
    const nobody = failure(await subscribe(sim, 'nobody@contoso.test', request));
    expect(nobody).toMatchObject({ responseCode: 'ErrorNonExistentMailbox', via: 'soapFault' });
  });

  it('answers ErrorMailboxMoveInProgress while a mailbox moves, and works again after', async (context) => {
    const { sim, request } = await setUp(context, { faults: { mailboxMoveDurationMs: 120_000 } });
    sim.moveMailbox(ADA);
    expect(failure(await subscribe(sim, ADA, request))).toMatchObject({
      responseCode: 'ErrorMailboxMoveInProgress',
      category: 'MailboxMoved',
    });
    await elapse(sim.clock, 130_000);
    value(await subscribe(sim, ADA, request));
  });

  it('answers requests that break the schema with the ErrorSchemaValidation fault', async (context) => {
    const { sim, request } = await setUp(context);
    const valid = encodeSubscribe(request, as(ADA));
    const broken = [
      valid.replace(/(<t:StatusFrequency>1<\/t:StatusFrequency>)(<t:URL>[^<]*<\/t:URL>)/, '$2$1'),
      valid.replace('<t:StatusFrequency>1<', '<t:StatusFrequency>1441<'),
      valid.replace('<t:EventType>CreatedEvent<', '<t:EventType>StatusEvent<'),
      valid.replace('DistinguishedFolderId Id="inbox"', 'DistinguishedFolderId Id="Inbox"'),
      valid.replace('<t:URL>', '<t:Url>').replace('</t:URL>', '</t:Url>'),
      valid.slice(0, -30),
    ];
    for (const xml of broken) {
      expect(xml).not.toBe(valid);
      const reply = await post(sim.ewsUrl, xml);
      expect(reply.status).toBe(500);
      expect(failure(decodeSubscribeResponse(reply.body))).toMatchObject({
        responseCode: 'ErrorSchemaValidation',
        category: 'InvalidRequest',
        via: 'soapFault',
      });
    }
    const swapped = failure(decodeSubscribeResponse((await post(sim.ewsUrl, broken[0] ?? '')).body));
    if (!(swapped instanceof EwsResponseError)) throw swapped;
    expect(swapped.messageText).toMatch(/invalid child element 'URL'.*'StatusFrequency'/);
  });

  it('answers a SOAP 1.2 envelope with VersionMismatch, and operations it does not simulate with ErrorInvalidRequest', async (context) => {
    const { sim, request } = await setUp(context);
    const soap12 = encodeSubscribe(request, as(ADA)).replace(NS.soap11, NS.soap12);
    expect(failure(decodeSubscribeResponse((await post(sim.ewsUrl, soap12)).body))).toBeInstanceOf(
      EwsSoapFaultError,
    );
    const findItem = encodeSubscribe(request, as(ADA)).replace(
      /<m:Subscribe>.*<\/m:Subscribe>/,
      '<m:FindItem/>',
    );
    expect(failure(decodeSubscribeResponse((await post(sim.ewsUrl, findItem)).body))).toMatchObject({
      responseCode: 'ErrorInvalidRequest',
    });
  });

  it('creates push subscriptions only, and cannot end one with Unsubscribe or read it with GetEvents', async (context) => {
    const { sim, request } = await setUp(context);
    const pull = encodeSubscribe(request, as(ADA))
      .replace('<m:PushSubscriptionRequest>', '<m:PullSubscriptionRequest>')
      .replace('</m:PushSubscriptionRequest>', '</m:PullSubscriptionRequest>');
    expect(failure(decodeSubscribeResponse((await post(sim.ewsUrl, pull)).body))).toMatchObject({
      responseCode: 'ErrorInvalidSubscriptionRequest',
    });
    const { subscriptionId } = value(await subscribe(sim, ADA, request));
    const envelope = (body: string) =>
      `<s:Envelope xmlns:s="${NS.soap11}" xmlns:m="${NS.messages}"><s:Body>${body}</s:Body></s:Envelope>`;
    const unsubscribe = await post(
      sim.ewsUrl,
      envelope(`<m:Unsubscribe><m:SubscriptionId>${subscriptionId}</m:SubscriptionId></m:Unsubscribe>`),
    );
    // [MS-OXWSNTIF]: a push subscription is ended by answering a push with Unsubscribe, not by
    // the Unsubscribe operation, which Exchange answers ErrorInvalidSubscription.
    expect(responseCodeOf(unsubscribe.body)).toBe('ErrorInvalidSubscription');
    const getEvents = await post(
      sim.ewsUrl,
      envelope(
        `<m:GetEvents><m:SubscriptionId>${subscriptionId}</m:SubscriptionId><m:Watermark>W</m:Watermark></m:GetEvents>`,
      ),
    );
    expect(responseCodeOf(getEvents.body)).toBe('ErrorInvalidPullSubscriptionId');
    const unknown = await post(
      sim.ewsUrl,
      envelope('<m:Unsubscribe><m:SubscriptionId>nope</m:SubscriptionId></m:Unsubscribe>'),
    );
    expect(responseCodeOf(unknown.body)).toBe('ErrorSubscriptionNotFound');
    expect(sim.subscriptions({ mailbox: ADA }).find((s) => s.subscriptionId === subscriptionId)?.state).toBe(
      'active',
    );
  });
});

describe('what a subscription covers', () => {
  it('pushes only the folders and event types asked for; FolderId and SubscribeToAllFolders work too', async (context) => {
    const { sim, receiver, request } = await setUp(context);
    const calendarId = sim.mailboxes().find((m) => m.address === ADA)?.folders.calendar?.folderId ?? '';
    const calendar = value(
      await subscribe(sim, ADA, {
        ...request,
        folders: [{ folderId: calendarId }],
        eventTypes: ['CreatedEvent'],
      }),
    );
    const all = value(
      await subscribe(sim, ADA, {
        ...request,
        folders: 'all',
        eventTypes: ['DeletedEvent'],
        callerData: 'tenant-7',
      }),
    );
    await waitFor(sim.clock, () => receiver.pushes.length >= 2, 'the first heartbeats', 60_000);
    const inbox = sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'inbox' });
    const meeting = sim.makeChange({ mailbox: ADA, kind: 'create', folder: 'calendar' });
    const deleted = sim.makeChange({ mailbox: ADA, kind: 'delete', folder: 'inbox' });
    const pushed = (id: string) => sim.deliveries({ subscriptionId: id }).some((d) => d.kind === 'events');
    await waitFor(
      sim.clock,
      () => pushed(calendar.subscriptionId) && pushed(all.subscriptionId),
      'both event pushes',
      60_000,
    );
    // Anything else (events the filters should have held back) would have come with them or just after.
    await elapse(sim.clock, 30_000);
    const eventsOf = (id: string) =>
      receiver.pushes
        .flatMap((p) => p.decoded?.notifications ?? [])
        .filter((n) => n.subscriptionId === id)
        .flatMap((n) => n.events)
        .filter((e) => e.type !== 'StatusEvent');
    expect(eventsOf(calendar.subscriptionId).map((e) => [e.type, e.itemId?.id])).toEqual([
      ['CreatedEvent', meeting.itemId],
    ]);
    expect(eventsOf(all.subscriptionId).map((e) => [e.type, e.itemId?.id])).toEqual([
      ['DeletedEvent', deleted.itemId],
    ]);
    expect(eventsOf(calendar.subscriptionId).some((e) => e.itemId?.id === inbox.itemId)).toBe(false);
    expect(sim.subscriptions().find((s) => s.subscriptionId === all.subscriptionId)).toMatchObject({
      folders: 'all',
      callerData: 'tenant-7',
    });
  });
});
