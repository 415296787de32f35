/**
 * Property-based fuzzing of the push decoder: whatever arrives at the callback URL, the decoder
 * returns a notification or its own typed error. Never another exception, never a hang.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeSendNotification,
  NOTIFICATION_EVENT_TYPES,
  NotificationDecodeError,
} from '../../../functions/ews/notification.ts';

const dir = join(import.meta.dirname, '..', '..', 'fixtures', 'ews', 'notifications');
const seeds = readdirSync(dir)
  .filter((f) => f.endsWith('.xml'))
  .map((f) => readFileSync(join(dir, f), 'utf8'));

/** Decodes and checks the contract; returns what happened for statistics. */
function checkContract(input: string | Uint8Array): 'decoded' | 'refused' {
  let result: ReturnType<typeof decodeSendNotification>;
  try {
    result = decodeSendNotification(input);
  } catch (e) {
    throw new Error(`decoder threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  }
  if (!result.ok) {
    expect(result.error).toBeInstanceOf(NotificationDecodeError);
    // The decoder's safety net turns its own bugs into DecoderFailure; fuzzing must never reach it.
    expect(result.error.reason, result.error.message).not.toBe('DecoderFailure');
    expect(result.error.message).not.toMatch(/\n/);
    return 'refused';
  }
  for (const notification of result.value.notifications) {
    expect(['Success', 'Warning', 'Error']).toContain(notification.responseClass);
    for (const event of notification.events) {
      expect(NOTIFICATION_EVENT_TYPES).toContain(event.type);
      // Absent parts are null, never empty strings.
      for (const text of [
        event.watermark,
        event.timeStamp,
        notification.previousWatermark,
        notification.subscriptionId,
      ]) {
        expect(text).not.toBe('');
      }
    }
  }
  return 'decoded';
}

const xmlTokens = [
  '<',
  '>',
  '</',
  '/>',
  '<?xml version="1.0"?>',
  '<!DOCTYPE x>',
  '<!ENTITY e "x">',
  '<![CDATA[',
  ']]>',
  '<!--',
  '-->',
  '<?pi?>',
  '&amp;',
  '&lt;',
  '&#x41;',
  '&#0;',
  '&#xD800;',
  '&bogus;',
  '&',
  '"',
  "'",
  '=',
  ' ',
  '\n',
  '\uFEFF',
  '\u0000',
  'soap:',
  'm:',
  't:',
  'xmlns',
  'xmlns:t=',
  'xmlns:m=',
  'xmlns=""',
  '"http://schemas.xmlsoap.org/soap/envelope/"',
  '"http://schemas.microsoft.com/exchange/services/2006/messages"',
  '"http://schemas.microsoft.com/exchange/services/2006/types"',
  'Envelope',
  'Body',
  'Header',
  'SendNotification',
  'ResponseMessages',
  'SendNotificationResponseMessage',
  'ResponseClass',
  'Notification',
  'SubscriptionId',
  'PreviousWatermark',
  'MoreEvents',
  'Watermark',
  'TimeStamp',
  'ItemId',
  'Id=',
  'ChangeKey=',
  'StatusEvent',
  'CreatedEvent',
  'MovedEvent',
  'UnreadCount',
  'MessageXml',
  'Value',
  'Name=',
  'true',
  'false',
  '12',
  'x',
  '__proto__',
  'constructor',
  'hasOwnProperty',
];

/** Applies one random edit to a valid push: the damage real transports and hostile clients do. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom(...xmlTokens) }),
  fc.record({
    kind: fc.constant('duplicate' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 200 }),
  }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), text: fc.string({ maxLength: 3 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(source: string, m: Mutation): string {
  const at = m.at % (source.length + 1);
  switch (m.kind) {
    case 'truncate':
      return source.slice(0, at);
    case 'delete':
      return source.slice(0, at) + source.slice(at + m.length);
    case 'insert':
      return source.slice(0, at) + m.text + source.slice(at);
    case 'duplicate':
      return source.slice(0, at + m.length) + source.slice(at, at + m.length) + source.slice(at + m.length);
    case 'replace':
      return source.slice(0, at) + m.text + source.slice(at + m.text.length);
  }
}

describe('decodeSendNotification under fuzzing', () => {
  it('any string yields a notification or a NotificationDecodeError', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 2000 }), (s) => void checkContract(s)),
      { numRuns: 1000 },
    );
  });

  it('any bytes yield a notification or a NotificationDecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (b) => void checkContract(b)),
      { numRuns: 1000 },
    );
  });

  it('any sequence of XML-ish tokens yields a notification or a NotificationDecodeError', () => {
    const tokens = fc.array(fc.constantFrom(...xmlTokens), { maxLength: 120 }).map((t) => t.join(''));
    fc.assert(
      fc.property(tokens, (s) => void checkContract(s)),
      { numRuns: 2000 },
    );
  });

  it('valid pushes damaged by up to four edits yield a notification or a NotificationDecodeError', () => {
    const outcomes = { decoded: 0, refused: 0 };
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        (seed, edits) => {
          outcomes[checkContract(edits.reduce(mutate, seed))]++;
        },
      ),
      { numRuns: 3000 },
    );
    // Both paths were exercised: the property is about valid and refused inputs alike.
    expect(outcomes.decoded).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  });

  it('hostile shapes stay bounded: deep nesting, many attributes, long names, huge entity counts', () => {
    const hostile = [
      `${'<a>'.repeat(140_000)}`,
      `<a ${Array.from({ length: 20_000 }, (_, i) => `a${i}="${i}"`).join(' ')}/>`,
      `<${'n'.repeat(500_000)}/>`,
      `<a>${'&amp;'.repeat(150_000)}</a>`,
      `<a>${'&#x41;'.repeat(100_000)}</a>`,
      `<!--${'-'.repeat(500_000)}`,
      `<![CDATA[${']'.repeat(500_000)}`,
      `<a x="${'"'.repeat(1)}${'<'.repeat(500_000)}"/>`,
    ];
    for (const body of hostile) checkContract(body);
  });
});
