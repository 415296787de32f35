/**
 * The client over a scripted fetch: token caching and refresh, 401 → one fresh token, 429 with
 * Retry-After waited on the injected clock (bounded), at most 4 requests in flight per mailbox,
 * links followed only on Graph's origin. The real-HTTP version is test/integration/graph.
 */
import { describe, expect, it } from 'vitest';
import { buildDeltaFollow, buildMessagesDelta } from '../../../functions/graph/delta.ts';
import { createGraphClient } from '../../../functions/graph/graph-client.ts';
import {
  buildTokenRequest,
  decodeTokenResponse,
  GRAPH_SCOPE,
  GraphTokenError,
} from '../../../functions/graph/token.ts';
import { steppedClock } from '../../support/stepped-clock.ts';

const credentials = { tenantId: 'contoso.test', clientId: 'app', clientSecret: 's3cret-value' };
const now = Date.UTC(2026, 10, 21, 10, 0, 0);

interface Call {
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;
}

/** A fetch that answers from `answer`; each call can be held until released. */
function scriptedFetch(
  answer: (call: Call, index: number, signal: AbortSignal | null) => Response | Promise<Response>,
) {
  const calls: Call[] = [];
  const fetchFn: typeof fetch = async (input, init) => {
    const call = { url: String(input), method: init?.method ?? 'GET', headers: new Headers(init?.headers) };
    calls.push(call);
    return answer(call, calls.length - 1, init?.signal ?? null);
  };
  return { calls, fetchFn };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
const token = (value: string, expiresIn = 3600) =>
  json(200, { token_type: 'Bearer', access_token: value, expires_in: expiresIn });
const page = json(200, { value: [], '@odata.deltaLink': 'https://graph.microsoft.com/v1.0/x?$deltatoken=1' });
const isToken = (call: Call) => call.url.includes('/oauth2/v2.0/token');

describe('token request and answer', () => {
  it('asks for the Graph scope with client credentials', () => {
    const request = buildTokenRequest(credentials);
    expect(request.url).toBe('https://login.microsoftonline.com/contoso.test/oauth2/v2.0/token');
    expect(Object.fromEntries(new URLSearchParams(request.body))).toEqual({
      grant_type: 'client_credentials',
      client_id: 'app',
      client_secret: 's3cret-value',
      scope: GRAPH_SCOPE,
    });
    expect(() => buildTokenRequest({ ...credentials, tenantId: 'a/b' })).toThrow(/tenantId/);
  });

  it('decodes tokens and Entra’s refusals without showing the secret', () => {
    const decoded = decodeTokenResponse(
      200,
      new Headers(),
      JSON.stringify({ access_token: 'tok', expires_in: '600' }),
      now,
    );
    expect(decoded).toEqual({
      ok: true,
      value: { accessToken: 'tok', expiresAt: now + 600_000, refreshAt: now + 300_000 },
    });
    const refused = decodeTokenResponse(
      401,
      new Headers(),
      JSON.stringify({
        error: 'invalid_client',
        error_description: 'AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1',
      }),
      now,
    );
    if (refused.ok) throw new Error('expected a refusal');
    expect(refused.error).toBeInstanceOf(GraphTokenError);
    expect(refused.error).toMatchObject({ retryable: false, oauthError: 'invalid_client' });
    expect(refused.error.message).toMatch(
      /AADSTS7000215: Invalid client secret provided\."\): the client secret is wrong/,
    );
    expect(refused.error.message).not.toMatch(/Trace ID/);
    const busy = decodeTokenResponse(503, new Headers({ 'Retry-After': '4' }), '', now);
    expect(!busy.ok && busy.error).toMatchObject({ retryable: true, retryAfterMs: 4000 });
    const wrongType = decodeTokenResponse(
      200,
      new Headers(),
      JSON.stringify({ access_token: 't', token_type: 'mac' }),
      now,
    );
    expect(wrongType.ok).toBe(false);
  });
});

describe('createGraphClient', () => {
  it('caches the token until shortly before it expires, sharing one request among concurrent callers', async () => {
    const clock = steppedClock(now);
    let tokens = 0;
    const { calls, fetchFn } = scriptedFetch((call) =>
      isToken(call) ? token(`t${++tokens}`, 600) : page.clone(),
    );
    const client = createGraphClient({ credentials, fetch: fetchFn, clock });
    const request = buildMessagesDelta({ userId: 'u', folderId: 'inbox' });
    await Promise.all([client.deltaPage(request), client.deltaPage(request), client.deltaPage(request)]);
    expect(calls.filter(isToken)).toHaveLength(1);
    expect(calls.filter((c) => !isToken(c)).map((c) => c.headers.get('authorization'))).toEqual([
      'Bearer t1',
      'Bearer t1',
      'Bearer t1',
    ]);
    clock.advance(300_000);
    await client.deltaPage(request);
    expect(calls.filter(isToken)).toHaveLength(2);
    expect(calls.at(-1)?.headers.get('authorization')).toBe('Bearer t2');
  });

  it('gets one fresh token after a 401, then gives up with AccessDenied', async () => {
    let tokens = 0;
    const { calls, fetchFn } = scriptedFetch((call) =>
      isToken(call)
        ? token(`t${++tokens}`)
        : json(401, { error: { code: 'InvalidAuthenticationToken', message: 'expired' } }),
    );
    const client = createGraphClient({ credentials, fetch: fetchFn, clock: steppedClock(now) });
    const result = await client.deltaPage(buildMessagesDelta({ userId: 'u', folderId: 'inbox' }));
    expect(!result.ok && result.error).toMatchObject({ category: 'AccessDenied', httpStatus: 401 });
    expect(calls.map((c) => (isToken(c) ? 'token' : c.headers.get('authorization')))).toEqual([
      'token',
      'Bearer t1',
      'token',
      'Bearer t2',
    ]);
  });

  it('waits out 429 Retry-After on the injected clock, then succeeds', async () => {
    const clock = steppedClock(now);
    let graphCalls = 0;
    const { calls, fetchFn } = scriptedFetch((call) => {
      if (isToken(call)) return token('t');
      graphCalls++;
      return graphCalls <= 2
        ? json(429, { error: { code: 'ApplicationThrottled', message: 'over' } }, { 'Retry-After': '5' })
        : page.clone();
    });
    const client = createGraphClient({ credentials, fetch: fetchFn, clock });
    const pending = client.deltaPage(buildMessagesDelta({ userId: 'u', folderId: 'inbox' }));
    for (let i = 0; i < 2; i++) {
      await until(() => clock.pendingTimers() > 0 && graphCalls === i + 1);
      clock.advance(4_999);
      expect(graphCalls).toBe(i + 1);
      clock.advance(1);
    }
    const result = await pending;
    expect(result.ok).toBe(true);
    expect(calls.filter((c) => !isToken(c))).toHaveLength(3);
  });

  it('returns Throttled with retryAfterMs when the wait is longer than it may sleep, or retries run out', async () => {
    const { fetchFn } = scriptedFetch((call) =>
      isToken(call)
        ? token('t')
        : json(429, { error: { code: 'ApplicationThrottled', message: 'over' } }, { 'Retry-After': '600' }),
    );
    const client = createGraphClient({
      credentials,
      fetch: fetchFn,
      clock: steppedClock(now),
      maxRetryWaitMs: 30_000,
    });
    const result = await client.deltaPage(buildMessagesDelta({ userId: 'u', folderId: 'inbox' }));
    expect(!result.ok && result.error).toMatchObject({ category: 'Throttled', retryAfterMs: 600_000 });

    const clock = steppedClock(now);
    const again = scriptedFetch((call) =>
      isToken(call) ? token('t') : json(503, {}, { 'Retry-After': '1' }),
    );
    const limited = createGraphClient({ credentials, fetch: again.fetchFn, clock, maxRetries: 2 });
    const pending = limited.deltaPage(buildMessagesDelta({ userId: 'u', folderId: 'inbox' }));
    for (let i = 1; i <= 2; i++) {
      await until(() => clock.pendingTimers() > 0);
      clock.advance(1000);
    }
    const last = await pending;
    expect(!last.ok && last.error).toMatchObject({ category: 'Throttled', httpStatus: 503 });
    expect(again.calls.filter((c) => !isToken(c))).toHaveLength(3);
  });

  it('keeps at most 4 requests in flight per mailbox, and other mailboxes unaffected', async () => {
    const held: Array<() => void> = [];
    let inFlight = 0;
    let most = 0;
    const { fetchFn } = scriptedFetch((call) => {
      if (isToken(call)) return token('t');
      inFlight++;
      most = Math.max(most, inFlight);
      return new Promise<Response>((resolve) =>
        held.push(() => {
          inFlight--;
          resolve(page.clone());
        }),
      );
    });
    const client = createGraphClient({ credentials, fetch: fetchFn, clock: steppedClock(now) });
    const forA = Array.from({ length: 9 }, () =>
      client.deltaPage(buildMessagesDelta({ userId: 'A@x.test', folderId: 'inbox' })),
    );
    const forB = client.deltaPage(buildMessagesDelta({ userId: 'b@x.test', folderId: 'inbox' }));
    await until(() => held.length === 5);
    // Mailbox keys are case-insensitive, as Exchange compares addresses.
    expect(client.inFlight('a@x.test')).toBe(9);
    expect(inFlight).toBe(5);
    while (held.length > 0) {
      held.shift()?.();
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all([...forA, forB]);
    expect(most).toBe(5);
    expect(client.inFlight('a@x.test')).toBe(0);
  });

  it('never sends the token to a link outside the Graph base URL', async () => {
    const { calls, fetchFn } = scriptedFetch(() => token('t'));
    const client = createGraphClient({ credentials, fetch: fetchFn, clock: steppedClock(now) });
    for (const link of [
      'https://evil.example/v1.0/x?$deltatoken=1',
      'https://graph.microsoft.com/beta/x',
      'https://graph.microsoft.com/v1.0.evil.example/x',
    ]) {
      const result = await client.deltaPage(buildDeltaFollow(link, { mailbox: 'u' }));
      expect(!result.ok && result.error.name).toBe('InvalidGraphRequestError');
    }
    expect(calls).toHaveLength(0);
  });

  it('turns network failures and timeouts into GraphUnreachableError without the query string', async () => {
    const clock = steppedClock(now);
    const failing = scriptedFetch((call) => {
      if (isToken(call)) return token('t');
      throw new TypeError('fetch failed');
    });
    const client = createGraphClient({ credentials, fetch: failing.fetchFn, clock });
    const link = 'https://graph.microsoft.com/v1.0/users/u/x/delta?$deltatoken=SECRETSTATE';
    const result = await client.deltaPage(buildDeltaFollow(link, { mailbox: 'u' }));
    expect(!result.ok && result.error).toMatchObject({ name: 'GraphUnreachableError', reason: 'network' });
    expect(!result.ok && result.error.message).not.toMatch(/SECRETSTATE/);

    const hanging = scriptedFetch((_call, index, signal) =>
      index === 0
        ? token('t')
        : new Promise<Response>((_resolve, reject) => {
            // Never answers; rejects when aborted, as fetch does.
            signal?.addEventListener('abort', () => reject(signal.reason));
          }),
    );
    const slow = createGraphClient({ credentials, fetch: hanging.fetchFn, clock, timeoutMs: 10_000 });
    const pending = slow.deltaPage(buildMessagesDelta({ userId: 'u', folderId: 'inbox' }));
    await until(() => hanging.calls.length === 2);
    clock.advance(10_000);
    const timedOut = await pending;
    expect(!timedOut.ok && timedOut.error).toMatchObject({
      name: 'GraphUnreachableError',
      reason: 'timeout',
    });
  });

  it('returns a bad request as a typed error instead of throwing', async () => {
    const { fetchFn } = scriptedFetch(() => token('t'));
    const client = createGraphClient({ credentials, fetch: fetchFn, clock: steppedClock(now) });
    const result = await client.renewSubscription('sub', now + 20_000 * 60_000);
    expect(!result.ok && result.error.name).toBe('InvalidGraphRequestError');
  });
});

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error('condition never held');
}
