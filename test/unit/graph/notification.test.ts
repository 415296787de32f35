/**
 * The notification decoder takes anything anyone POSTs: whole batches are refused only when they
 * are not batches; odd items are set aside with a reason; nothing throws, nothing pollutes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeNotificationBody,
  NotificationDecodeError,
  validationAnswer,
  validationTokenOf,
} from '../../../functions/graph/notification.ts';

const fixture = (name: string) =>
  readFileSync(join(import.meta.dirname, '../../fixtures/graph', name), 'utf8');

const change = (extra: Record<string, unknown> = {}) => ({
  subscriptionId: 'sub-1',
  changeType: 'updated',
  resource: 'Users/u/Messages/m',
  resourceData: { '@odata.type': '#Microsoft.Graph.Message', id: 'm', '@odata.etag': 'W/"1"' },
  clientState: 'cs',
  tenantId: 't',
  ...extra,
});

describe('decodeNotificationBody', () => {
  it('reads a batch of change notifications across subscriptions and tenants', () => {
    const decoded = decodeNotificationBody(fixture('change-batch.json'));
    if (!decoded.ok) throw decoded.error;
    expect(decoded.value.rejected).toEqual([]);
    expect(decoded.value.notifications).toHaveLength(2);
    const [first, second] = decoded.value.notifications;
    expect(first).toEqual({
      kind: 'change',
      subscriptionId: '7f105c7d-2dc5-4530-97cd-4e7ae6534c07',
      clientState: 'v1.AAAAAAAAAAAAAAAAAAAAAA.1.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
      changeType: 'created',
      resource:
        'Users/b8b9a6c3-5d7e-4f3a-9c1d-2e4f6a8b0c1d/Messages/AAMkAGUwNjQ4ZjIxLTQ3Y2YtNDViMi1iZjc4LTMA=',
      resourceData: {
        id: 'AAMkAGUwNjQ4ZjIxLTQ3Y2YtNDViMi1iZjc4LTMA=',
        odataType: '#Microsoft.Graph.Message',
        odataId:
          'Users/b8b9a6c3-5d7e-4f3a-9c1d-2e4f6a8b0c1d/Messages/AAMkAGUwNjQ4ZjIxLTQ3Y2YtNDViMi1iZjc4LTMA=',
        etag: 'W/"CQAAABYAAADkrWGo7bouTKlsgTZMr9KwAAAUWRHf"',
      },
      tenantId: '84bd8158-6d4d-4958-8b9f-9d6445542f95',
      subscriptionExpirationDateTime: '2026-11-28T09:50:00.0000000-08:00',
    });
    expect(second).toMatchObject({ changeType: 'deleted', resourceData: { etag: null } });
    expect(second?.tenantId).not.toBe(first?.tenantId);
  });

  it('reads lifecycle notifications of each kind', () => {
    const decoded = decodeNotificationBody(Buffer.from(fixture('lifecycle-batch.json')));
    if (!decoded.ok) throw decoded.error;
    expect(
      decoded.value.notifications.map((n) => (n.kind === 'lifecycle' ? n.lifecycleEvent : n.kind)),
    ).toEqual(['reauthorizationRequired', 'subscriptionRemoved', 'missed']);
  });

  it('sets aside items it cannot read, keeping what identifies them, and keeps the rest', () => {
    const body = JSON.stringify({
      value: [
        change(),
        change({ changeType: 'moved' }),
        change({ subscriptionId: 42 }),
        change({ resourceData: { id: ['m'] } }),
        change({ clientState: { nested: true } }),
        { subscriptionId: 'sub-2', clientState: 'cs2', lifecycleEvent: 'somethingNew' },
        'not an object',
        null,
        change({ resource: 'x'.repeat(5000) }),
      ],
    });
    const decoded = decodeNotificationBody(body);
    if (!decoded.ok) throw decoded.error;
    expect(decoded.value.notifications).toHaveLength(1);
    expect(decoded.value.rejected.map((r) => [r.index, r.subscriptionId, r.clientState])).toEqual([
      [1, 'sub-1', 'cs'],
      [2, null, 'cs'],
      [3, 'sub-1', 'cs'],
      [4, 'sub-1', null],
      [5, 'sub-2', 'cs2'],
      [6, null, null],
      [7, null, null],
      [8, 'sub-1', 'cs'],
    ]);
    expect(decoded.value.rejected[0]?.reason).toMatch(
      /changeType is "moved", expected one of created, updated, deleted/,
    );
    expect(decoded.value.rejected[4]?.reason).toMatch(/lifecycleEvent is "somethingNew"/);
  });

  it('refuses bodies that are not batches, saying why, without echoing them', () => {
    const cases: Array<[string | Uint8Array, string]> = [
      ['{"value": [', 'Malformed'],
      [new Uint8Array([0x7b, 0xff, 0x7d]), 'Malformed'],
      ['[1,2]', 'NotANotificationBatch'],
      ['{"values": []}', 'NotANotificationBatch'],
      ['{"value": {"0": {}}}', 'NotANotificationBatch'],
      ['"secret-looking-text"', 'NotANotificationBatch'],
    ];
    for (const [body, reason] of cases) {
      const decoded = decodeNotificationBody(body);
      expect(decoded.ok).toBe(false);
      if (decoded.ok) continue;
      expect(decoded.error).toBeInstanceOf(NotificationDecodeError);
      expect(decoded.error.reason).toBe(reason);
      expect(decoded.error.message).not.toMatch(/secret-looking-text/);
    }
  });

  it('bounds size and item count before doing any work on the items', () => {
    const huge = decodeNotificationBody(`{"value":[],"pad":"${'x'.repeat(1024 * 1024)}"}`);
    expect(!huge.ok && huge.error.reason).toBe('TooLarge');
    const many = decodeNotificationBody(JSON.stringify({ value: Array.from({ length: 1001 }, () => 0) }));
    expect(!many.ok && many.error.reason).toBe('TooManyItems');
    expect(!many.ok && many.error.message).toMatch(/1,001 items, more than the 1,000 accepted/);
    const custom = decodeNotificationBody(JSON.stringify({ value: [change(), change()] }), {
      maxBytes: 10_000,
      maxItems: 1,
    });
    expect(!custom.ok && custom.error.reason).toBe('TooManyItems');
  });

  it('is not fooled or polluted by prototype keys', () => {
    const body = `{"value":[{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"subscriptionId":"s","changeType":"created","resource":"Users/u/Messages/m","resourceData":{"__proto__":{"id":"inherited"}}}],"__proto__":{"value":[]}}`;
    const decoded = decodeNotificationBody(body);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    if (!decoded.ok) throw decoded.error;
    // resourceData has no own id: the inherited-looking one is not taken.
    expect(decoded.value.rejected[0]?.reason).toMatch(/resourceData has no usable id/);
    // A changeType of "constructor" or "toString" is not a change type, nor is a missing one read from the prototype.
    for (const changeType of ['constructor', 'toString', '__proto__']) {
      const odd = decodeNotificationBody(JSON.stringify({ value: [change({ changeType })] }));
      expect(odd.ok && odd.value.rejected).toHaveLength(1);
    }
    const noChangeType = decodeNotificationBody('{"value":[{"subscriptionId":"s","resource":"r"}]}');
    expect(noChangeType.ok && noChangeType.value.rejected[0]?.reason).toMatch(/changeType is undefined/);
  });

  it('notes validationTokens (rich notifications the bridge never asks for)', () => {
    const decoded = decodeNotificationBody(JSON.stringify({ value: [change()], validationTokens: ['jwt'] }));
    expect(decoded.ok && decoded.value.hasValidationTokens).toBe(true);
  });

  it('returns a batch or its own typed error for any input (fuzz)', () => {
    const item = fc.record(
      {
        subscriptionId: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
        changeType: fc.oneof(fc.constantFrom('created', 'updated', 'deleted'), fc.string()),
        lifecycleEvent: fc.oneof(fc.constantFrom('missed', 'subscriptionRemoved'), fc.anything()),
        resource: fc.oneof(fc.string(), fc.anything()),
        resourceData: fc.anything(),
        clientState: fc.anything(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.array(item, { maxLength: 20 }).map((value) => JSON.stringify({ value })),
          fc.uint8Array(),
        ),
        (body) => {
          const decoded = decodeNotificationBody(body);
          if (!decoded.ok) expect(decoded.error).toBeInstanceOf(NotificationDecodeError);
          else
            expect(decoded.value.notifications.length + decoded.value.rejected.length).toBeLessThanOrEqual(
              1000,
            );
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('the validation handshake', () => {
  const token = 'Validation: Testing client application reachability for subscription Request-Id: 1a2b';

  it('decodes the token from a raw query string, once', () => {
    const raw = new URLSearchParams({ validationToken: token }).toString();
    expect(validationTokenOf(raw)).toEqual({ ok: true, value: token });
    expect(validationTokenOf(`?${raw}`)).toEqual({ ok: true, value: token });
    // %2B stays a plus; %2525 decodes once to %25.
    expect(validationTokenOf('validationToken=a%2Bb%2525c%3A%20d')).toEqual({
      ok: true,
      value: 'a+b%25c: d',
    });
  });

  it('takes parameters API Gateway already decoded as they are', () => {
    expect(validationTokenOf({ validationToken: 'a%25b' })).toEqual({ ok: true, value: 'a%25b' });
    expect(validationTokenOf(new URLSearchParams([['validationToken', token]]))).toEqual({
      ok: true,
      value: token,
    });
  });

  it('says "not a validation request" for notifications', () => {
    expect(validationTokenOf(undefined)).toBeNull();
    expect(validationTokenOf('')).toBeNull();
    expect(validationTokenOf({ tenant: 'x' })).toBeNull();
    expect(validationTokenOf(JSON.parse('{"__proto__":{"validationToken":"x"}}'))).toBeNull();
  });

  it('refuses tokens it could not echo safely', () => {
    for (const query of [
      'validationToken=',
      'validationToken=a&validationToken=b',
      `validationToken=${'x'.repeat(1025)}`,
      'validationToken=a%0D%0AX-Injected:%201',
    ]) {
      const result = validationTokenOf(query);
      expect(result?.ok).toBe(false);
    }
  });

  it('answers 200 text/plain with the token as the whole body', () => {
    expect(validationAnswer(token)).toEqual({
      statusCode: 200,
      headers: {
        'Content-Type': 'text/plain; charset=utf-8',
        'X-Content-Type-Options': 'nosniff',
        'Cache-Control': 'no-store',
      },
      body: token,
    });
  });
});
