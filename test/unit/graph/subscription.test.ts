import { describe, expect, it } from 'vitest';
import { decodeGraphError, GraphProtocolError, parseRetryAfter } from '../../../functions/graph/errors.ts';
import type { GraphReply } from '../../../functions/graph/request.ts';
import {
  buildCreateSubscription,
  buildDeleteSubscription,
  buildReauthorizeSubscription,
  buildRenewSubscription,
  decodeCreateSubscriptionResponse,
  decodeDeleteSubscriptionResponse,
  decodeReauthorizeResponse,
  decodeRenewSubscriptionResponse,
  expiryFrom,
  isAdoptable,
  renewalDueAt,
  resourcePath,
} from '../../../functions/graph/subscription.ts';

const now = Date.UTC(2026, 10, 21, 10, 0, 0);
const input = {
  resource: { kind: 'messages', userId: 'user1@contoso.test' } as const,
  notificationUrl: 'https://bridge.example/graph/notify',
  lifecycleNotificationUrl: 'https://bridge.example/graph/lifecycle',
  clientState: 'v1.x.1.y',
};

const reply = (status: number, body: unknown, headers: Record<string, string> = {}): GraphReply => ({
  status,
  headers: new Headers(headers),
  body: typeof body === 'string' ? body : JSON.stringify(body),
});
const graphError = (code: string, message: string) => ({ error: { code, message, innerError: {} } });

describe('subscription requests', () => {
  it('creates with all three change types, both URLs, the clientState, immutable ids and the longest safe expiry', () => {
    const request = buildCreateSubscription(input, now);
    expect(request).toMatchObject({
      operation: 'createSubscription',
      method: 'POST',
      path: '/subscriptions',
      mailbox: null,
    });
    expect(request.headers.Prefer).toBe('IdType="ImmutableId"');
    expect(JSON.parse(request.body ?? '')).toEqual({
      changeType: 'created,updated,deleted',
      notificationUrl: input.notificationUrl,
      lifecycleNotificationUrl: input.lifecycleNotificationUrl,
      resource: '/users/user1@contoso.test/messages',
      expirationDateTime: new Date(now + 10_080 * 60_000 - 10 * 60_000).toISOString(),
      clientState: input.clientState,
    });
  });

  it('names folder and calendar resources', () => {
    expect(resourcePath({ kind: 'messages', userId: 'u', folderId: 'inbox' })).toBe(
      '/users/u/mailFolders/inbox/messages',
    );
    expect(resourcePath({ kind: 'events', userId: 'u' })).toBe('/users/u/events');
    expect(resourcePath({ kind: 'events', userId: 'u', calendarId: 'AAMk-c_1=' })).toBe(
      '/users/u/calendars/AAMk-c_1=/events',
    );
  });

  it('refuses what Graph would refuse, naming the field and the value', () => {
    expect(() => buildCreateSubscription({ ...input, expiresAt: now + 10_081 * 60_000 }, now)).toThrow(
      /expirationDateTime "2026-11-28T10:01:00.000Z" must be in the future and at most 10080 minutes/,
    );
    expect(() => buildCreateSubscription({ ...input, expiresAt: now - 1 }, now)).toThrow(
      /expirationDateTime/,
    );
    expect(() => buildCreateSubscription({ ...input, clientState: 'x'.repeat(129) }, now)).toThrow(
      /129 characters/,
    );
    expect(() =>
      buildCreateSubscription({ ...input, notificationUrl: 'http://bridge.example/n' }, now),
    ).toThrow(/must be an https URL/);
    expect(() => buildCreateSubscription({ ...input, changeTypes: [] }, now)).toThrow(/changeType/);
    expect(() => buildCreateSubscription({ ...input, changeTypes: ['created', 'created'] }, now)).toThrow(
      /changeType/,
    );
    expect(() =>
      buildCreateSubscription({ ...input, resource: { kind: 'messages', userId: 'u/../../x' } }, now),
    ).toThrow(/cannot be one path segment/);
    // Loopback over plain HTTP is how the stand-in is reached.
    expect(() =>
      buildCreateSubscription({ ...input, notificationUrl: 'http://127.0.0.1:9/n' }, now),
    ).not.toThrow();
  });

  it('renews with only a new expiry, reauthorizes and deletes by id', () => {
    const renew = buildRenewSubscription('sub-1', expiryFrom(now), now);
    expect(renew).toMatchObject({ method: 'PATCH', path: '/subscriptions/sub-1' });
    expect(Object.keys(JSON.parse(renew.body ?? ''))).toEqual(['expirationDateTime']);
    expect(buildReauthorizeSubscription('sub-1')).toMatchObject({
      method: 'POST',
      path: '/subscriptions/sub-1/reauthorize',
    });
    expect(buildDeleteSubscription('sub-1')).toMatchObject({
      method: 'DELETE',
      path: '/subscriptions/sub-1',
    });
    expect(() => buildDeleteSubscription('a?b')).toThrow(/path segment/);
  });

  it('schedules renewal halfway through the lifetime', () => {
    const expiresAt = expiryFrom(now);
    expect(renewalDueAt(expiresAt)).toBe(expiresAt - 5_040 * 60_000);
  });
});

describe('subscription answers', () => {
  const created = {
    '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity',
    id: 'sub-1',
    resource: '/users/u/messages',
    changeType: 'created,updated,deleted',
    clientState: 'cs',
    notificationUrl: 'https://n',
    lifecycleNotificationUrl: 'https://l',
    expirationDateTime: '2026-11-28T09:50:00.1234567Z',
  };

  it('decodes 201 into the id and expiry', () => {
    const decoded = decodeCreateSubscriptionResponse(reply(201, created), now);
    expect(decoded).toEqual({
      ok: true,
      value: {
        id: 'sub-1',
        resource: '/users/u/messages',
        changeTypes: ['created', 'updated', 'deleted'],
        expiresAt: Date.parse('2026-11-28T09:50:00.123Z'),
        clientState: 'cs',
        notificationUrl: 'https://n',
        lifecycleNotificationUrl: 'https://l',
      },
    });
    expect(decodeRenewSubscriptionResponse(reply(200, created), now).ok).toBe(true);
  });

  it('refuses a success it cannot use', () => {
    for (const body of [
      '<html>',
      { ...created, id: 7 },
      { ...created, expirationDateTime: 'soon' },
      [created],
    ]) {
      const decoded = decodeCreateSubscriptionResponse(reply(201, body), now);
      expect(!decoded.ok && decoded.error).toBeInstanceOf(GraphProtocolError);
    }
  });

  it('maps 409 to SubscriptionExists with the id to adopt', () => {
    const decoded = decodeCreateSubscriptionResponse(
      reply(
        409,
        graphError(
          'Conflict',
          'Subscription Id 0f4e2a1c-9b7d-4c3e-8a5f-6d2b1e0c9a87 already exists for the requested combination.',
        ),
      ),
      now,
    );
    if (decoded.ok) throw new Error('expected an error');
    expect(decoded.error).toMatchObject({
      category: 'SubscriptionExists',
      retryable: false,
      existingSubscriptionId: '0f4e2a1c-9b7d-4c3e-8a5f-6d2b1e0c9a87',
    });
    expect(decoded.error.message).toMatch(/adopt it/);
  });

  it('maps 404 of a renewal to SubscriptionGone, 429 to Throttled with Retry-After, 401/403 to AccessDenied', () => {
    const gone = decodeRenewSubscriptionResponse(reply(404, graphError('ResourceNotFound', 'gone')), now);
    expect(!gone.ok && gone.error).toMatchObject({ category: 'SubscriptionGone', httpStatus: 404 });
    const throttled = decodeRenewSubscriptionResponse(
      reply(429, graphError('ApplicationThrottled', 'Application is over its MailboxConcurrency limit.'), {
        'Retry-After': '7',
      }),
      now,
    );
    expect(!throttled.ok && throttled.error).toMatchObject({
      category: 'Throttled',
      retryable: true,
      retryAfterMs: 7000,
    });
    for (const status of [401, 403]) {
      const denied = decodeCreateSubscriptionResponse(
        reply(status, graphError('ErrorAccessDenied', 'Access is denied.')),
        now,
      );
      expect(!denied.ok && denied.error).toMatchObject({ category: 'AccessDenied', retryable: false });
    }
    const validation = decodeCreateSubscriptionResponse(
      reply(400, graphError('ValidationError', 'Subscription validation request failed.')),
      now,
    );
    expect(!validation.ok && validation.error).toMatchObject({
      category: 'ValidationFailed',
      retryable: true,
    });
    const server = decodeCreateSubscriptionResponse(reply(502, '<html>bad gateway</html>'), now);
    expect(!server.ok && server.error).toMatchObject({ category: 'Transient', code: null, retryable: true });
  });

  it('takes reauthorize 204 as done and a delete’s 404 as already gone', () => {
    expect(decodeReauthorizeResponse(reply(204, ''), now)).toEqual({ ok: true, value: undefined });
    expect(decodeDeleteSubscriptionResponse(reply(204, ''), now)).toEqual({ ok: true, value: 'deleted' });
    expect(decodeDeleteSubscriptionResponse(reply(404, ''), now)).toEqual({ ok: true, value: 'alreadyGone' });
    const conflict = decodeReauthorizeResponse(reply(409, graphError('Conflict', 'renewed recently')), now);
    expect(!conflict.ok && conflict.error).toMatchObject({ category: 'Conflict', retryable: true });
  });

  it('adopts only a subscription that verifies and has the lifecycle URL', () => {
    const found = {
      id: 's',
      resource: 'r',
      changeTypes: [],
      expiresAt: 0,
      clientState: 'cs',
      notificationUrl: 'n',
      lifecycleNotificationUrl: 'l',
    };
    const wanted = { clientState: 'cs', notificationUrl: 'n', lifecycleNotificationUrl: 'l' };
    expect(isAdoptable(found, wanted)).toBe(true);
    expect(isAdoptable({ ...found, lifecycleNotificationUrl: null }, wanted)).toBe(false);
    expect(isAdoptable({ ...found, clientState: 'old-generation' }, wanted)).toBe(false);
  });
});

describe('Graph errors', () => {
  it('reads Retry-After as seconds or a date, and ignores nonsense', () => {
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(new Date(now + 5000).toUTCString(), now)).toBe(5000);
    expect(parseRetryAfter('-1', now)).toBeNull();
    expect(parseRetryAfter('12345678901', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });

  it('says what was wrong and what to do, with the value cut for logs', () => {
    const error = decodeGraphError(
      'renewSubscription',
      404,
      new Headers(),
      JSON.stringify(graphError('ResourceNotFound', 'x'.repeat(1000))),
      now,
    );
    expect(error.message).toMatch(
      /^renewSubscription failed with HTTP 404 ResourceNotFound \("x{160}…"\): Graph no longer has this subscription/,
    );
    expect(error.messageText?.length).toBe(500);
  });

  it('does not take prototype keys for Graph’s error fields', () => {
    const error = decodeGraphError(
      'delta',
      400,
      new Headers(),
      '{"error":{"__proto__":{"code":"syncStateNotFound"}}}',
      now,
    );
    expect(error).toMatchObject({ code: null, category: 'InvalidRequest' });
  });
});
