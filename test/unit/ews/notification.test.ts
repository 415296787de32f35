import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_NOTIFICATION_LIMITS,
  type DecodeRefusal,
  decodeSendNotification,
  encodeSendNotificationResult,
  lastWatermark,
  type SendNotification,
} from '../../../functions/ews/notification.ts';
import { itWithSchema, validateEnvelope } from '../../support/ews-schema.ts';

const fixtures = join(import.meta.dirname, '..', '..', 'fixtures', 'ews');
const notificationFiles = readdirSync(join(fixtures, 'notifications')).filter((f) => f.endsWith('.xml'));
const read = (...parts: string[]) => readFileSync(join(fixtures, ...parts));

function decodeOk(body: string | Uint8Array): SendNotification {
  const result = decodeSendNotification(body);
  if (!result.ok) throw new Error(`expected a notification, got ${result.error.message}`);
  return result.value;
}

function refusal(
  body: string | Uint8Array,
  limits = DEFAULT_NOTIFICATION_LIMITS,
): { reason: DecodeRefusal; message: string } {
  const result = decodeSendNotification(body, limits);
  if (result.ok) throw new Error('expected a refusal, got a notification');
  return { reason: result.error.reason, message: result.error.message };
}

/** A minimal valid push with the given Notification content, for targeted variations. */
function push(notificationContent: string, messageAttributes = 'ResponseClass="Success"'): string {
  return (
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>' +
    '<m:SendNotification xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">' +
    `<m:ResponseMessages><m:SendNotificationResponseMessage ${messageAttributes}><m:ResponseCode>NoError</m:ResponseCode>` +
    `<m:Notification>${notificationContent}</m:Notification>` +
    '</m:SendNotificationResponseMessage></m:ResponseMessages></m:SendNotification></soap:Body></soap:Envelope>'
  );
}
const created = (n: number) =>
  `<t:CreatedEvent><t:Watermark>W${n}</t:Watermark><t:TimeStamp>2026-11-21T00:00:00Z</t:TimeStamp><t:ItemId Id="I${n}"/><t:ParentFolderId Id="F"/></t:CreatedEvent>`;

describe('decodeSendNotification: captured-shape fixtures', () => {
  it('has a fixture for every event type', () => {
    const types = new Set(
      notificationFiles.flatMap((f) =>
        decodeOk(read('notifications', f)).notifications.flatMap((n) => n.events.map((e) => e.type)),
      ),
    );
    expect([...types].sort()).toEqual([
      'CopiedEvent',
      'CreatedEvent',
      'DeletedEvent',
      'FreeBusyChangedEvent',
      'ModifiedEvent',
      'MovedEvent',
      'NewMailEvent',
      'StatusEvent',
    ]);
  });

  for (const file of notificationFiles) {
    it(`decodes ${file} exactly`, () => {
      const expected: unknown = JSON.parse(
        read('notifications', file.replace(/\.xml$/, '.expected.json')).toString('utf8'),
      );
      expect(decodeOk(read('notifications', file))).toEqual(expected);
    });
  }

  it('decodes the same bytes given as a string or as a Uint8Array', () => {
    for (const file of notificationFiles) {
      const bytes = read('notifications', file);
      expect(decodeOk(bytes.toString('utf8'))).toEqual(decodeOk(new Uint8Array(bytes)));
    }
  });

  it('matches namespaces by URI, not prefix: a t: prefix bound elsewhere does not count', () => {
    // The Envelope binds t: to an unrelated URI and SendNotification rebinds it correctly.
    const decoded = decodeOk(read('notifications', 'scattered-namespace-declarations.xml'));
    expect(decoded.notifications[0]?.subscriptionId).toBe('c2NhdHRlcmVk');
    // An event element in the wrong namespace is not an event.
    const wrongNs = push(
      `<t:SubscriptionId>S</t:SubscriptionId><x:CreatedEvent xmlns:x="urn:other"><x:Watermark>W</x:Watermark></x:CreatedEvent>`,
    );
    expect(decodeOk(wrongNs).notifications[0]?.events).toEqual([]);
  });

  it('decodes character references and CDATA exactly, keeping ids opaque and case-sensitive', () => {
    const [notification] = decodeOk(
      read('notifications', 'comments-pis-cdata-and-references.xml'),
    ).notifications;
    expect(notification?.subscriptionId).toBe('cmVmcy0x+/==');
    expect(notification?.previousWatermark).toBe('cmYtMSsv==');
    expect(notification?.events[0]?.itemId).toEqual({ id: 'aWQ+/&"\'', changeKey: 'Y2s=' });
    const mixedCase = decodeOk(
      push(
        '<t:SubscriptionId>AbC</t:SubscriptionId><t:StatusEvent><t:Watermark>aBc</t:Watermark></t:StatusEvent>',
      ),
    );
    expect(mixedCase.notifications[0]?.subscriptionId).toBe('AbC');
    expect(mixedCase.notifications[0]?.events[0]?.watermark).toBe('aBc');
  });

  it('reads the error push that has no Notification (ErrorReadEventsFailed) with its SubscriptionId from MessageXml', () => {
    const [notification] = decodeOk(read('notifications', 'error-push-read-events-failed.xml')).notifications;
    expect(notification).toMatchObject({
      responseClass: 'Error',
      responseCode: 'ErrorReadEventsFailed',
      subscriptionId: 'JABlcnJvci1wdXNoLXN1Yi0wMDE=',
      events: [],
    });
  });

  it('keeps absent optional parts null, never empty strings', () => {
    const [notification] = decodeOk(read('notifications', 'optional-parts-absent.xml')).notifications;
    expect(notification?.responseCode).toBeNull();
    expect(notification?.previousWatermark).toBeNull();
    expect(notification?.moreEvents).toBeNull();
    expect(notification?.events[0]?.watermark).toBeNull();
    const emptyValues = decodeOk(
      push(
        '<t:SubscriptionId>S</t:SubscriptionId><t:PreviousWatermark></t:PreviousWatermark><t:StatusEvent><t:Watermark/></t:StatusEvent>',
      ),
    );
    expect(emptyValues.notifications[0]?.previousWatermark).toBeNull();
    expect(emptyValues.notifications[0]?.events[0]?.watermark).toBeNull();
  });

  it('reads xs:boolean MoreEvents in all its spellings', () => {
    for (const [text, value] of [
      ['true', true],
      ['1', true],
      ['false', false],
      ['0', false],
    ] as const) {
      const decoded = decodeOk(
        push(`<t:SubscriptionId>S</t:SubscriptionId><t:MoreEvents>${text}</t:MoreEvents>${created(1)}`),
      );
      expect(decoded.notifications[0]?.moreEvents).toBe(value);
    }
  });

  it('keeps events in document order across types (the watermark chain depends on it)', () => {
    const decoded = decodeOk(read('notifications', 'all-event-types.xml'));
    expect(decoded.notifications[0]?.events.map((e) => e.watermark)).toEqual([
      'YWUtMQ==',
      'YWUtMg==',
      'YWUtMw==',
      'YWUtNA==',
      'YWUtNQ==',
      'YWUtNg==',
      'YWUtNw==',
      'YWUtOA==',
    ]);
    const [notification] = decoded.notifications;
    if (notification === undefined) throw new Error('no notification');
    expect(lastWatermark(notification)).toBe('YWUtOA==');
  });

  it('accepts a 50-event batch', () => {
    const body = push(
      `<t:SubscriptionId>S</t:SubscriptionId><t:MoreEvents>true</t:MoreEvents>${Array.from({ length: 50 }, (_, i) => created(i)).join('')}`,
    );
    expect(decodeOk(body).notifications[0]?.events).toHaveLength(50);
  });
});

describe('decodeSendNotification: refusals', () => {
  const cases: Array<[string, DecodeRefusal]> = [
    ['billion-laughs.xml', 'Doctype'],
    ['external-entity.xml', 'Doctype'],
    ['entity-declaration-without-doctype-keyword.xml', 'Doctype'],
    ['html-login-page.xml', 'Doctype'],
    ['plain-xml-not-soap.xml', 'NotSoapEnvelope'],
    ['wrong-soap-envelope-namespace.xml', 'NotSoapEnvelope'],
    ['send-notification-in-types-namespace.xml', 'NotSendNotification'],
    ['subscribe-request-posted-to-callback.xml', 'NotSendNotification'],
  ];
  for (const [file, reason] of cases) {
    it(`refuses ${file} as ${reason}`, () => {
      expect(refusal(read('refused', file)).reason).toBe(reason);
    });
  }

  it('refuses a DOCTYPE without expanding anything, however the entities are nested', () => {
    const { message } = refusal(read('refused', 'billion-laughs.xml'));
    expect(message).toMatch(/^Doctype: .*DOCTYPE.*offset 39/);
    expect(message.length).toBeLessThan(400);
  });

  it('refuses truncated bodies wherever they are cut, including between two events', () => {
    const whole = push(`<t:SubscriptionId>S</t:SubscriptionId>${created(1)}${created(2)}`);
    const betweenEvents = whole.indexOf('<t:CreatedEvent>', whole.indexOf('</t:CreatedEvent>'));
    expect(refusal(whole.slice(0, betweenEvents)).reason).toBe('Malformed');
    for (let cut = 1; cut < whole.length; cut += 7) {
      expect(refusal(whole.slice(0, cut)).reason, `cut at ${cut}`).toMatch(/Malformed|NotSoapEnvelope/);
    }
  });

  it('refuses malformed XML with a one-line reason', () => {
    const bodies = [
      '',
      'not xml at all',
      '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body></soap:Envelope></soap:Body>',
      '<a/><b/>',
      push('<t:SubscriptionId>S&bogus;</t:SubscriptionId>'),
      push('<t:SubscriptionId>S & T</t:SubscriptionId>'),
      push('<t:SubscriptionId>S</t:SubscriptionId><u:StatusEvent/>'),
      push('<t:SubscriptionId x="1" x="2">S</t:SubscriptionId>'),
      '<?xml version="1.0" encoding="utf-16"?><a/>',
      new Uint8Array([0x3c, 0x61, 0x3e, 0xff, 0xfe, 0x3c, 0x2f, 0x61, 0x3e]),
    ];
    for (const body of bodies) {
      const { reason, message } = refusal(body);
      expect(reason, String(body)).toMatch(/Malformed|NotSoapEnvelope/);
      expect(message).not.toContain('\n');
    }
  });

  it('reads a reference to a character XML forbids as U+FFFD rather than refusing the push', () => {
    // Exchange writes control characters of item text as such references; losing the whole push
    // for one of them would be worse than showing the replacement character.
    const decoded = decodeSendNotification(push('<t:SubscriptionId>S&#0;&#x1A;T</t:SubscriptionId>'));
    if (!decoded.ok) throw decoded.error;
    expect(decoded.value.notifications[0]?.subscriptionId).toBe('S\uFFFD\uFFFDT');
  });

  it('refuses bodies over the size limit before parsing them', () => {
    const big = push(`<t:SubscriptionId>S</t:SubscriptionId>${created(1)}`).replace(
      '<m:ResponseCode>',
      `<!--${'x'.repeat(1024 * 1024)}--><m:ResponseCode>`,
    );
    const { reason, message } = refusal(big);
    expect(reason).toBe('TooLarge');
    expect(message).toContain('1,048,576-byte limit');
    expect(refusal(Buffer.from(big)).reason).toBe('TooLarge');
    // The limit is configurable, and counts UTF-8 bytes, not characters.
    const accented = push(`<t:SubscriptionId>${'é'.repeat(400)}</t:SubscriptionId>${created(1)}`);
    const limits = { ...DEFAULT_NOTIFICATION_LIMITS, maxBytes: accented.length + 100 };
    expect(refusal(accented, limits).reason).toBe('TooLarge');
  });

  it('refuses nesting deeper than the bound', () => {
    const deep = push(`<t:SubscriptionId>S</t:SubscriptionId>${'<t:x>'.repeat(40)}${'</t:x>'.repeat(40)}`);
    expect(refusal(deep).reason).toBe('TooDeep');
    const veryDeep = `${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}`;
    expect(refusal(veryDeep).reason).toBe('TooDeep');
  });

  it('refuses more events than the cap, counted over all notifications of the request', () => {
    const limits = { ...DEFAULT_NOTIFICATION_LIMITS, maxEvents: 10 };
    const eleven = push(
      `<t:SubscriptionId>S</t:SubscriptionId>${Array.from({ length: 11 }, (_, i) => created(i)).join('')}`,
    );
    expect(refusal(eleven, limits).reason).toBe('TooManyEvents');
    const ten = push(
      `<t:SubscriptionId>S</t:SubscriptionId>${Array.from({ length: 10 }, (_, i) => created(i)).join('')}`,
    );
    expect(decodeSendNotification(ten, limits).ok).toBe(true);
  });

  it('refuses notifications it cannot interpret, naming what is wrong', () => {
    const cases: Array<[string, RegExp]> = [
      [push(created(1)), /no t:SubscriptionId/],
      [
        push('<t:SubscriptionId>S</t:SubscriptionId><t:SubscriptionId>T</t:SubscriptionId>'),
        /more than one t:SubscriptionId/,
      ],
      [push('<t:SubscriptionId>S</t:SubscriptionId><t:MoreEvents>yes</t:MoreEvents>'), /MoreEvents is "yes"/],
      [
        push(
          '<t:SubscriptionId>S</t:SubscriptionId><t:CreatedEvent><t:ItemId ChangeKey="c"/></t:CreatedEvent>',
        ),
        /ItemId in t:CreatedEvent has no Id/,
      ],
      [
        push(
          '<t:SubscriptionId>S</t:SubscriptionId><t:ModifiedEvent><t:UnreadCount>many</t:UnreadCount></t:ModifiedEvent>',
        ),
        /UnreadCount is "many"/,
      ],
      [push('<t:SubscriptionId>S</t:SubscriptionId><t:RenamedEvent/>'), /unexpected element t:RenamedEvent/],
      [push('<t:SubscriptionId>S</t:SubscriptionId>', 'ResponseClass="success"'), /ResponseClass "success"/],
      [push('<t:SubscriptionId>S</t:SubscriptionId>', 'Class="Success"'), /no ResponseClass/],
      [
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><m:SendNotification xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:ResponseMessages/></m:SendNotification></soap:Body></soap:Envelope>',
        /holds no m:SendNotificationResponseMessage/,
      ],
    ];
    for (const [body, pattern] of cases) {
      const { reason, message } = refusal(body);
      expect(reason).toBe('InvalidNotification');
      expect(message).toMatch(pattern);
    }
  });
});

describe('encodeSendNotificationResult', () => {
  it('answers OK or Unsubscribe in the messages namespace, with the SOAP version of the request', () => {
    expect(encodeSendNotificationResult('OK').body).toContain(
      '<m:SubscriptionStatus>OK</m:SubscriptionStatus>',
    );
    expect(encodeSendNotificationResult('Unsubscribe').contentType).toBe('text/xml; charset=utf-8');
    const soap12 = encodeSendNotificationResult('OK', '1.2');
    expect(soap12.body).toContain('http://www.w3.org/2003/05/soap-envelope');
    expect(soap12.contentType).toBe('application/soap+xml; charset=utf-8');
  });

  for (const status of ['OK', 'Unsubscribe'] as const) {
    for (const version of ['1.1', '1.2'] as const) {
      itWithSchema(
        `SendNotificationResult ${status} (SOAP ${version}) is valid against messages.xsd`,
        async () => {
          const verdict = await validateEnvelope(encodeSendNotificationResult(status, version).body);
          expect(verdict.exitCode, verdict.output).toBe(0);
        },
      );
    }
  }

  itWithSchema('the schema check is not vacuous: a wrong-case status is rejected', async () => {
    const wrong = encodeSendNotificationResult('OK').body.replace('>OK<', '>Ok<');
    const verdict = await validateEnvelope(wrong);
    expect(verdict.exitCode, verdict.output).toBe(1);
  });
});
