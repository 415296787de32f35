/**
 * The EWS client against a real HTTP server on a loopback port that plays Exchange and the
 * Microsoft identity platform: canned SOAP answers and faults, 401/403/5xx, hangs, resets, a
 * closed port and a TLS mismatch. Each test checks what the client sent (headers, body, token
 * form) and the typed result it made of the answer; every error goes through `failure`, which
 * also proves that no secret or token appears in it in any form. FindFolder is also run against
 * the EWS simulator, end to end.
 */
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEwsClient } from '../../functions/adapters/ews/client.ts';
import {
  EwsAuthError,
  type EwsCallError,
  EwsUnavailableError,
  EwsUnreachableError,
  isRetryable,
  retryAfterMs,
} from '../../functions/adapters/ews/errors.ts';
import { createScaledClock } from '../../functions/core/clock.ts';
import type { Result } from '../../functions/core/result.ts';
import { type ExchangeConnection, parseConnections } from '../../functions/ews/connection.ts';
import {
  EwsProtocolError,
  EwsResponseError,
  EwsSoapFaultError,
  InvalidEwsRequestError,
} from '../../functions/ews/errors.ts';
import { encodeFindFolder, type FindFolderResult, type FoundFolder } from '../../functions/ews/folders.ts';
import { ENRICHMENT_SHAPE, encodeGetItem, encodeSyncFolderItems } from '../../functions/ews/items.ts';
import { encodeSubscribe, type PushSubscriptionRequest } from '../../functions/ews/subscribe.ts';
import { startSimulator } from '../../simulator/server.ts';
import { closedPort, type RecordingServer, startRecordingServer } from '../support/recording-server.ts';
import { steppedClock } from '../support/stepped-clock.ts';

const CLIENT_SECRET = 'cs~Very.Secret-Value_0123456789';
const PASSWORD = 'on-prem Passw0rd!';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const MAILBOX = 'ada@example.com';
const EWS = '/EWS/Exchange.asmx';
const TOKEN = `/${TENANT}/oauth2/v2.0/token`;
/** Every access token the fake token endpoint hands out starts with this. */
const TOKEN_PREFIX = 'eyJ0eXAiOiJKV1Qi.access-token-';

const responses = join(import.meta.dirname, '..', 'fixtures', 'ews', 'responses');
const fixture = (name: string) => readFileSync(join(responses, name), 'utf8');
const loginPage = readFileSync(
  join(import.meta.dirname, '..', 'fixtures', 'ews', 'refused', 'html-login-page.xml'),
  'utf8',
);

const subscribeRequest: PushSubscriptionRequest = {
  folders: [{ distinguishedFolderId: 'inbox' }, { distinguishedFolderId: 'calendar' }],
  eventTypes: ['CreatedEvent', 'ModifiedEvent', 'DeletedEvent'],
  statusFrequency: 5,
  url: 'https://abc123.execute-api.eu-west-1.amazonaws.com/ews/bWFpbGJveA/1/tok',
};

let server: RecordingServer;
beforeAll(async () => {
  server = await startRecordingServer();
});
beforeEach(() => server.reset());
afterAll(() => server.close());

function connection(config: Record<string, unknown>): ExchangeConnection {
  const parsed = parseConnections({ test: config });
  if (!parsed.ok) throw parsed.error;
  const found = parsed.value.get('test');
  if (found === undefined) throw new Error('no connection');
  return found;
}

const basic = (extra: Record<string, unknown> = {}) =>
  connection({
    ewsUrl: `${server.origin}${EWS}`,
    auth: { kind: 'basic', username: 'EXAMPLE\\svc-ews', password: PASSWORD },
    requestServerVersion: 'Exchange2016',
    ...extra,
  });

const oauth = (extra: Record<string, unknown> = {}) =>
  connection({
    ewsUrl: `${server.origin}${EWS}`,
    auth: {
      kind: 'oauth2',
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: CLIENT_SECRET,
      tokenUrl: `${server.origin}${TOKEN}`,
    },
    ...extra,
  });

function reply(status: number, body = '', headers: Record<string, string> = {}) {
  return (_request: unknown, response: ServerResponse) => {
    response.writeHead(status, { 'Content-Type': 'text/xml; charset=utf-8', ...headers }).end(body);
  };
}

/** A token endpoint that hands out access-token-1, -2, … valid for `expiresIn` seconds. */
function tokenEndpoint(expiresIn: number | string = 3599) {
  let issued = 0;
  return (_request: unknown, response: ServerResponse) => {
    issued++;
    response.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' }).end(
      JSON.stringify({
        token_type: 'Bearer',
        expires_in: expiresIn,
        ext_expires_in: expiresIn,
        access_token: `${TOKEN_PREFIX}${issued}`,
      }),
    );
  };
}

function value<T>(result: Result<T, EwsCallError>): T {
  if (!result.ok) throw new Error(`expected success, got ${result.error.message}`);
  return result.value;
}

/** The error of a failed call, after proving no secret or token appears in it anywhere. */
function failure<T>(result: Result<T, EwsCallError>): EwsCallError {
  if (result.ok) throw new Error('expected a failure');
  const error = result.error;
  const everything = [
    error.message,
    String(error.stack),
    inspect(error, { depth: 20, showHidden: true }),
    JSON.stringify(error),
  ].join('\n');
  for (const secret of [
    CLIENT_SECRET,
    PASSWORD,
    TOKEN_PREFIX,
    Buffer.from(`EXAMPLE\\svc-ews:${PASSWORD}`).toString('base64'),
  ]) {
    expect(everything).not.toContain(secret);
  }
  return error;
}

function expectInstance<T>(value: unknown, type: abstract new (...args: never[]) => T): T {
  expect(value).toBeInstanceOf(type);
  if (!(value instanceof type)) throw new Error('unreachable');
  return value;
}

/** Yields to the event loop a few times, so that a request that should not happen would have. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('what the client sends', () => {
  it('Subscribe with Basic: headers, impersonation, version, and the protocol module’s exact envelope', async () => {
    server.route(EWS, reply(200, fixture('subscribe-success.xml')));
    const client = createEwsClient(basic());
    const result = value(await client.subscribe(MAILBOX, subscribeRequest));
    expect(result).toEqual({
      subscriptionId: 'FQBuZXctcHVzaC1zdWJzY3JpcHRpb24tMDAxEAAAAA==',
      watermark: 'AQAAAJ2pH1D8a8hNqB0Yc2Zt1hQnKQAAAAAAAAE=',
    });
    const [sent] = server.received(EWS);
    expect(server.requests).toHaveLength(1);
    expect(sent?.method).toBe('POST');
    expect(sent?.headers).toMatchObject({
      'content-type': 'text/xml; charset=utf-8',
      soapaction: '"http://schemas.microsoft.com/exchange/services/2006/messages/Subscribe"',
      'x-anchormailbox': MAILBOX,
      authorization: `Basic ${Buffer.from(`EXAMPLE\\svc-ews:${PASSWORD}`, 'utf8').toString('base64')}`,
    });
    expect(sent?.body).toBe(
      encodeSubscribe(subscribeRequest, {
        requestServerVersion: 'Exchange2016',
        impersonation: { kind: 'PrimarySmtpAddress', value: MAILBOX },
      }),
    );
    expect(sent?.body).toContain(
      '<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>ada@example.com</t:PrimarySmtpAddress>',
    );
    expect(sent?.body).toContain('<t:RequestServerVersion Version="Exchange2016"/>');
  });

  it('without impersonation: no ExchangeImpersonation header and no X-AnchorMailbox', async () => {
    server.route(EWS, reply(200, fixture('subscribe-success.xml')));
    value(await createEwsClient(basic({ impersonation: false })).subscribe(MAILBOX, subscribeRequest));
    const [sent] = server.received(EWS);
    expect(sent?.headers['x-anchormailbox']).toBeUndefined();
    expect(sent?.body).not.toContain('ExchangeImpersonation');
    expect(sent?.body).toBe(encodeSubscribe(subscribeRequest, { requestServerVersion: 'Exchange2016' }));
  });

  it('no Authorization header at all for auth "none" (the local simulator)', async () => {
    server.route(EWS, reply(200, fixture('subscribe-success.xml')));
    const client = createEwsClient(connection({ ewsUrl: `${server.origin}${EWS}`, auth: { kind: 'none' } }));
    value(await client.subscribe(MAILBOX, subscribeRequest));
    expect(server.received(EWS)[0]?.headers.authorization).toBeUndefined();
  });

  it('GetItem with the enrichment shape by default, decoding one result per id', async () => {
    server.route(EWS, reply(200, fixture('get-item-mixed.xml')));
    const ids = ['Y2FsLWl0ZW0tMQ==', 'bXNnLTE=', 'Z29uZQ==', 'bXRnLXJlcS0x', 'Y29udGFjdC0x'].map((id) => ({
      id,
    }));
    const items = value(await createEwsClient(basic()).getItems(MAILBOX, ids));
    expect(items.map((item) => (item.ok ? item.value.kind : item.error.name))).toEqual([
      'CalendarItem',
      'Message',
      'EwsResponseError',
      'Message',
      'Item',
    ]);
    const [sent] = server.received(EWS);
    expect(sent?.headers.soapaction).toBe(
      '"http://schemas.microsoft.com/exchange/services/2006/messages/GetItem"',
    );
    expect(sent?.body).toBe(
      encodeGetItem(
        { itemShape: ENRICHMENT_SHAPE, itemIds: ids },
        {
          requestServerVersion: 'Exchange2016',
          impersonation: { kind: 'PrimarySmtpAddress', value: MAILBOX },
        },
      ),
    );
  });

  it('SyncFolderItems, with the SOAPAction of its operation', async () => {
    server.route(EWS, reply(200, fixture('sync-folder-items-changes.xml')));
    const request = {
      itemShape: { baseShape: 'IdOnly' as const },
      syncFolderId: { distinguishedFolderId: 'calendar' as const },
      syncState: 'H4sIAAAAAAAEAO29B2AcSZ',
      maxChangesReturned: 100,
    };
    const result = value(await createEwsClient(basic()).syncFolderItems(MAILBOX, request));
    expect(result.syncState).not.toBe('');
    expect(result.changes.length).toBeGreaterThan(0);
    const [sent] = server.received(EWS);
    expect(sent?.headers.soapaction).toBe(
      '"http://schemas.microsoft.com/exchange/services/2006/messages/SyncFolderItems"',
    );
    expect(sent?.body).toBe(
      encodeSyncFolderItems(request, {
        requestServerVersion: 'Exchange2016',
        impersonation: { kind: 'PrimarySmtpAddress', value: MAILBOX },
      }),
    );
  });

  it('FindFolder, with the SOAPAction of its operation', async () => {
    server.route(EWS, reply(200, fixture('find-folder-page.xml')));
    const request = { maxEntriesReturned: 6, offset: 0 };
    const result = value(await createEwsClient(basic()).findFolders(MAILBOX, request));
    expect(result).toMatchObject({ includesLastItemInRange: false, nextOffset: 6 });
    expect(result.folders).toHaveLength(6);
    const [sent] = server.received(EWS);
    expect(sent?.headers).toMatchObject({
      soapaction: '"http://schemas.microsoft.com/exchange/services/2006/messages/FindFolder"',
      'x-anchormailbox': MAILBOX,
    });
    expect(sent?.body).toBe(
      encodeFindFolder(request, {
        requestServerVersion: 'Exchange2016',
        impersonation: { kind: 'PrimarySmtpAddress', value: MAILBOX },
      }),
    );
  });

  it.each([
    ['not an address', 'ada'],
    ['a header injection', 'ada@example.com\r\nX-Evil: 1'],
    ['non-ASCII', 'zoë@example.com'],
  ])('refuses a mailbox that is %s before sending anything', async (_label, mailbox) => {
    const error = failure(await createEwsClient(basic()).subscribe(mailbox, subscribeRequest));
    expect(expectInstance(error, InvalidEwsRequestError).field).toBe('Mailbox');
    expect(isRetryable(error)).toBe(false);
    await settle();
    expect(server.requests).toHaveLength(0);
  });

  it('returns the encoder’s InvalidEwsRequestError for a request Exchange would refuse, sending nothing', async () => {
    const error = failure(
      await createEwsClient(basic()).subscribe(MAILBOX, { ...subscribeRequest, statusFrequency: 0 }),
    );
    expect(expectInstance(error, InvalidEwsRequestError).field).toBe('StatusFrequency');
    await settle();
    expect(server.requests).toHaveLength(0);
  });
});

describe('OAuth2 client credentials', () => {
  it('posts the client-credentials form, then calls EWS with the bearer token and impersonation', async () => {
    server.route(TOKEN, tokenEndpoint());
    server.route(EWS, reply(200, fixture('subscribe-success.xml')));
    value(await createEwsClient(oauth()).subscribe(MAILBOX, subscribeRequest));
    const [tokenRequest] = server.received(TOKEN);
    expect(tokenRequest?.method).toBe('POST');
    expect(tokenRequest?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(tokenRequest?.body))).toEqual({
      grant_type: 'client_credentials',
      client_id: CLIENT,
      client_secret: CLIENT_SECRET,
      scope: 'https://outlook.office365.com/.default',
    });
    const [sent] = server.received(EWS);
    expect(sent?.headers.authorization).toBe(`Bearer ${TOKEN_PREFIX}1`);
    expect(sent?.headers['x-anchormailbox']).toBe(MAILBOX);
    expect(sent?.body).toContain('<t:PrimarySmtpAddress>ada@example.com</t:PrimarySmtpAddress>');
    expect(sent?.body).toContain('<t:RequestServerVersion Version="Exchange2013"/>');
  });

  it('caches the token until five minutes before expires_in, then fetches a new one', async () => {
    server.route(TOKEN, tokenEndpoint(3600));
    server.route(EWS, reply(200, fixture('subscribe-success.xml')));
    const clock = steppedClock();
    const client = createEwsClient(oauth(), { clock });
    value(await client.subscribe(MAILBOX, subscribeRequest));
    value(await client.subscribe('bob@example.com', subscribeRequest));
    clock.advance(3300_000 - 1);
    value(await client.subscribe(MAILBOX, subscribeRequest));
    expect(server.received(TOKEN)).toHaveLength(1);
    clock.advance(1);
    value(await client.subscribe(MAILBOX, subscribeRequest));
    expect(server.received(TOKEN)).toHaveLength(2);
    expect(server.received(EWS).map((r) => r.headers.authorization)).toEqual([
      `Bearer ${TOKEN_PREFIX}1`,
      `Bearer ${TOKEN_PREFIX}1`,
      `Bearer ${TOKEN_PREFIX}1`,
      `Bearer ${TOKEN_PREFIX}2`,
    ]);
  });

  it('keeps a short-lived token for half its life, and reads expires_in sent as a string', async () => {
    server.route(TOKEN, tokenEndpoint('120'));
    server.route(EWS, reply(200, fixture('subscribe-success.xml')));
    const clock = steppedClock();
    const client = createEwsClient(oauth(), { clock });
    value(await client.subscribe(MAILBOX, subscribeRequest));
    clock.advance(59_999);
    value(await client.subscribe(MAILBOX, subscribeRequest));
    expect(server.received(TOKEN)).toHaveLength(1);
    clock.advance(1);
    value(await client.subscribe(MAILBOX, subscribeRequest));
    expect(server.received(TOKEN)).toHaveLength(2);
  });

  it('shares one in-flight token request among concurrent callers', async () => {
    const held: ServerResponse[] = [];
    server.route(TOKEN, (_request, response) => held.push(response));
    server.route(EWS, reply(200, fixture('subscribe-success.xml')));
    const client = createEwsClient(oauth());
    const calls = Array.from({ length: 8 }, (_, i) =>
      client.subscribe(`user${i}@example.com`, subscribeRequest),
    );
    await server.waitFor(TOKEN, 1);
    await settle();
    for (const response of held) {
      response
        .writeHead(200, { 'Content-Type': 'application/json' })
        .end(JSON.stringify({ token_type: 'Bearer', expires_in: 3599, access_token: `${TOKEN_PREFIX}1` }));
    }
    const results = await Promise.all(calls);
    for (const result of results) value(result);
    expect(server.received(TOKEN)).toHaveLength(1);
    expect(server.received(EWS)).toHaveLength(8);
    expect(new Set(server.received(EWS).map((r) => r.headers['x-anchormailbox'])).size).toBe(8);
  });

  it('on a 401 from EWS fetches a new token once and retries', async () => {
    server.route(TOKEN, tokenEndpoint());
    server.route(EWS, (request, response) =>
      request.headers.authorization === `Bearer ${TOKEN_PREFIX}1`
        ? reply(401, '', { 'WWW-Authenticate': 'Bearer error="invalid_token"' })(request, response)
        : reply(200, fixture('subscribe-success.xml'))(request, response),
    );
    value(await createEwsClient(oauth()).subscribe(MAILBOX, subscribeRequest));
    expect(server.received(TOKEN)).toHaveLength(2);
    expect(server.received(EWS).map((r) => r.headers.authorization)).toEqual([
      `Bearer ${TOKEN_PREFIX}1`,
      `Bearer ${TOKEN_PREFIX}2`,
    ]);
  });

  it('concurrent 401s on the same token lead to one new token, not one each', async () => {
    server.route(TOKEN, tokenEndpoint());
    const held: Array<() => void> = [];
    server.route(EWS, (request, response) => {
      if (request.headers.authorization === `Bearer ${TOKEN_PREFIX}1`)
        held.push(() => reply(401)(request, response));
      else reply(200, fixture('subscribe-success.xml'))(request, response);
    });
    const client = createEwsClient(oauth());
    const calls = Array.from({ length: 6 }, (_, i) =>
      client.subscribe(`user${i}@example.com`, subscribeRequest),
    );
    await server.waitFor(EWS, 6);
    // The first refusal makes its caller fetch and use a new token; only then do the others hear
    // that the old token was refused, and they must take the new one instead of fetching again.
    held.shift()?.();
    await server.waitFor(EWS, 7);
    for (const release of held) release();
    for (const result of await Promise.all(calls)) value(result);
    expect(server.received(TOKEN)).toHaveLength(2);
    expect(server.received(EWS)).toHaveLength(12);
  });

  it('a 401 that persists after the refresh is an EwsAuthError naming the app permission and allow list', async () => {
    server.route(TOKEN, tokenEndpoint());
    server.route(
      EWS,
      reply(401, '', {
        'WWW-Authenticate': `Bearer client_id="00000002-0000-0ff1-ce00-000000000000", error="invalid_token", token="${TOKEN_PREFIX}2"`,
        'X-MS-Diagnostics':
          '2000008;reason="The token contains no permissions, or permissions can not be understood.";error_category="invalid_grant"',
      }),
    );
    const error = expectInstance(
      failure(await createEwsClient(oauth()).subscribe(MAILBOX, subscribeRequest)),
      EwsAuthError,
    );
    expect(error).toMatchObject({
      target: 'EWS',
      httpStatus: 401,
      operation: 'Subscribe',
      connection: 'test',
      mailbox: MAILBOX,
      retryable: false,
      oauthError: null,
    });
    expect(error.detail).toContain('The token contains no permissions');
    expect(error.detail).toContain('token="[redacted]"');
    expect(error.message).toContain('full_access_as_app');
    expect(error.message).toContain('EwsAllowedAppIDs');
    expect(error.message).toContain(CLIENT);
    expect(server.received(TOKEN)).toHaveLength(2);
    expect(server.received(EWS)).toHaveLength(2);
  });

  it('a 403 from EWS is not retried with a new token and points at the EWS allow list', async () => {
    server.route(TOKEN, tokenEndpoint());
    server.route(EWS, reply(403));
    const error = expectInstance(
      failure(await createEwsClient(oauth()).subscribe(MAILBOX, subscribeRequest)),
      EwsAuthError,
    );
    expect(error.httpStatus).toBe(403);
    expect(error.message).toContain('EwsAllowedAppIDs');
    expect(server.received(TOKEN)).toHaveLength(1);
    expect(server.received(EWS)).toHaveLength(1);
  });

  it('invalid_client from the token endpoint says to check the client secret, without showing it', async () => {
    server.route(TOKEN, (_request, response) =>
      response.writeHead(401, { 'Content-Type': 'application/json' }).end(
        JSON.stringify({
          error: 'invalid_client',
          // A hostile or buggy endpoint echoing the secret must not get it into our error.
          error_description: `AADSTS7000215: Invalid client secret provided (${CLIENT_SECRET}). Ensure the secret being sent in the request is the client secret value, not the client secret ID.\r\nTrace ID: 0d1c\r\nCorrelation ID: 9f8e`,
          error_codes: [7000215],
        }),
      ),
    );
    const error = expectInstance(
      failure(await createEwsClient(oauth()).subscribe(MAILBOX, subscribeRequest)),
      EwsAuthError,
    );
    expect(error).toMatchObject({
      target: 'token endpoint',
      httpStatus: 401,
      oauthError: 'invalid_client',
      url: `${server.origin}${TOKEN}`,
      retryable: false,
    });
    expect(error.detail).toBe(
      'AADSTS7000215: Invalid client secret provided ([redacted]). Ensure the secret being sent in the request is the client secret value, not the client secret ID.',
    );
    expect(error.credential).toContain('auth.clientSecret');
    expect(error.message).toContain('client secret is wrong or expired');
    expect(server.received(EWS)).toHaveLength(0);
  });

  it.each([
    ['unauthorized_client', 400, /consent/],
    ['invalid_request', 400, /tenantId/],
    ['invalid_scope', 400, /auth\.scope/],
    ['temporarily_unavailable_but_4xx', 400, /auth\.tokenUrl/],
  ])('%s from the token endpoint says what to check', async (code, status, advice) => {
    server.route(TOKEN, (_request, response) =>
      response
        .writeHead(status, { 'Content-Type': 'application/json' })
        .end(JSON.stringify({ error: code, error_description: `AADSTS0: ${code}` })),
    );
    const error = expectInstance(
      failure(await createEwsClient(oauth()).getItems(MAILBOX, [{ id: 'x' }])),
      EwsAuthError,
    );
    expect(error.oauthError).toBe(code);
    expect(error.advice).toMatch(advice);
  });

  it('a 503 from the token endpoint is retryable with its Retry-After, and failures are not cached', async () => {
    server.route(TOKEN, reply(503, '', { 'Retry-After': '7' }));
    const client = createEwsClient(oauth());
    const error = expectInstance(
      failure(await client.subscribe(MAILBOX, subscribeRequest)),
      EwsUnavailableError,
    );
    expect(error).toMatchObject({
      target: 'token endpoint',
      httpStatus: 503,
      retryAfterMs: 7000,
      retryable: true,
    });
    expect(retryAfterMs(error)).toBe(7000);
    server.route(TOKEN, tokenEndpoint());
    server.route(EWS, reply(200, fixture('subscribe-success.xml')));
    value(await client.subscribe(MAILBOX, subscribeRequest));
    expect(server.received(TOKEN)).toHaveLength(2);
  });

  it.each([
    ['HTML', 200, loginPage, /not a JSON object/],
    ['JSON without a token', 200, '{"token_type":"Bearer","expires_in":3599}', /no access_token/],
    ['a MAC token', 200, '{"token_type":"mac","access_token":"x"}', /expected Bearer/],
    ['a 404', 404, 'not here', /HTTP 404/],
  ])(
    'a token endpoint answering %s is a protocol error naming tokenUrl',
    async (_label, status, body, detail) => {
      server.route(TOKEN, reply(status, body));
      const error = expectInstance(
        failure(await createEwsClient(oauth()).subscribe(MAILBOX, subscribeRequest)),
        EwsProtocolError,
      );
      expect(error.detail).toMatch(detail);
      expect(error.detail).toContain('auth.tokenUrl');
      expect(isRetryable(error)).toBe(false);
    },
  );

  it('an unreachable token endpoint is an EwsUnreachableError naming it', async () => {
    const port = await closedPort();
    const client = createEwsClient(
      connection({
        ewsUrl: `${server.origin}${EWS}`,
        auth: {
          kind: 'oauth2',
          tenantId: TENANT,
          clientId: CLIENT,
          clientSecret: CLIENT_SECRET,
          tokenUrl: `http://127.0.0.1:${port}/token`,
        },
      }),
    );
    const error = expectInstance(
      failure(await client.subscribe(MAILBOX, subscribeRequest)),
      EwsUnreachableError,
    );
    expect(error).toMatchObject({
      target: 'token endpoint',
      reason: 'connectionRefused',
      code: 'ECONNREFUSED',
      url: `http://127.0.0.1:${port}/token`,
      retryable: true,
    });
    expect(error.message).toContain('the OAuth2 token endpoint is unreachable');
  });
});

describe('what Exchange answers', () => {
  it('ErrorExceededSubscriptionCount is an EwsResponseError in the SubscriptionLimit category, not retryable', async () => {
    server.route(EWS, reply(200, fixture('subscribe-exceeded-subscription-count.xml')));
    const error = expectInstance(
      failure(await createEwsClient(basic()).subscribe(MAILBOX, subscribeRequest)),
      EwsResponseError,
    );
    expect(error).toMatchObject({
      responseCode: 'ErrorExceededSubscriptionCount',
      category: 'SubscriptionLimit',
    });
    expect(error.message).toMatch(/subscription limit/);
    expect(isRetryable(error)).toBe(false);
  });

  it('ErrorInvalidWatermark and ErrorInvalidSyncStateData keep their categories', async () => {
    server.route(EWS, reply(200, fixture('subscribe-invalid-watermark.xml')));
    const client = createEwsClient(basic());
    const watermark = expectInstance(
      failure(await client.subscribe(MAILBOX, { ...subscribeRequest, watermark: 'old' })),
      EwsResponseError,
    );
    expect(watermark.category).toBe('InvalidWatermark');
    server.route(EWS, reply(200, fixture('sync-folder-items-invalid-sync-state.xml')));
    const syncState = expectInstance(
      failure(
        await client.syncFolderItems(MAILBOX, {
          itemShape: { baseShape: 'IdOnly' },
          syncFolderId: { distinguishedFolderId: 'inbox' },
          syncState: 'stale',
          maxChangesReturned: 10,
        }),
      ),
      EwsResponseError,
    );
    expect(syncState.category).toBe('InvalidSyncState');
  });

  it('HTTP 500 with an ErrorServerBusy SOAP Fault keeps BackOffMilliseconds and is retryable', async () => {
    server.route(EWS, reply(500, fixture('fault-server-busy.xml')));
    const error = expectInstance(
      failure(await createEwsClient(basic()).subscribe(MAILBOX, subscribeRequest)),
      EwsResponseError,
    );
    expect(error).toMatchObject({
      responseCode: 'ErrorServerBusy',
      category: 'ServerBusy',
      backOffMilliseconds: 297749,
      via: 'soapFault',
    });
    expect(isRetryable(error)).toBe(true);
    expect(retryAfterMs(error)).toBe(297749);
  });

  it('HTTP 500 with a SOAP Fault without an EWS code is an EwsSoapFaultError, retryable', async () => {
    server.route(EWS, reply(500, fixture('fault-generic-server.xml')));
    const error = failure(await createEwsClient(basic()).getItems(MAILBOX, [{ id: 'x' }]));
    expect(expectInstance(error, EwsSoapFaultError).faultCode).toBe('soap:Server');
    expect(isRetryable(error)).toBe(true);
    expect(retryAfterMs(error)).toBeNull();
  });

  it('HTTP 500 with an HTML page is an EwsUnavailableError saying the body is not EWS', async () => {
    server.route(EWS, reply(500, '<html><body>Runtime Error</body></html>', { 'Content-Type': 'text/html' }));
    const error = expectInstance(
      failure(await createEwsClient(basic()).subscribe(MAILBOX, subscribeRequest)),
      EwsUnavailableError,
    );
    expect(error).toMatchObject({ target: 'EWS', httpStatus: 500, retryAfterMs: null, retryable: true });
    expect(error.detail).toMatch(/not an EWS answer/);
  });

  it.each([
    [503, { 'Retry-After': '120' }, 120_000],
    [502, {}, null],
    [504, {}, null],
    [429, { 'Retry-After': '3' }, 3000],
    [503, { 'Retry-After': new Date(Date.UTC(2026, 10, 21, 10, 1, 30)).toUTCString() }, 90_000],
    [503, { 'Retry-After': 'soon' }, null],
  ])('HTTP %i is a retryable EwsUnavailableError (Retry-After %o)', async (status, headers, expected) => {
    server.route(EWS, reply(status, '', headers));
    const client = createEwsClient(basic(), { clock: steppedClock(Date.UTC(2026, 10, 21, 10, 0, 0)) });
    const error = expectInstance(
      failure(await client.subscribe(MAILBOX, subscribeRequest)),
      EwsUnavailableError,
    );
    expect(error).toMatchObject({ httpStatus: status, retryAfterMs: expected, retryable: true });
    expect(isRetryable(error)).toBe(true);
    expect(error.message).toContain(`${server.origin}${EWS}`);
  });

  it('a 503 whose body is an EWS SOAP Fault keeps the EWS error', async () => {
    server.route(EWS, reply(503, fixture('fault-server-busy.xml')));
    const error = failure(await createEwsClient(basic()).subscribe(MAILBOX, subscribeRequest));
    expect(expectInstance(error, EwsResponseError).backOffMilliseconds).toBe(297749);
  });

  it('a 401 with Basic is an EwsAuthError naming username and password, sent once', async () => {
    server.route(EWS, reply(401, '', { 'WWW-Authenticate': 'Basic realm="mail.example.com"' }));
    const error = expectInstance(
      failure(await createEwsClient(basic()).subscribe(MAILBOX, subscribeRequest)),
      EwsAuthError,
    );
    expect(error).toMatchObject({ target: 'EWS', httpStatus: 401, retryable: false });
    expect(error.credential).toBe(
      'auth.username "EXAMPLE\\\\svc-ews" and auth.password of connection "test"',
    );
    expect(error.detail).toBe('WWW-Authenticate: Basic realm="mail.example.com"');
    expect(server.received(EWS)).toHaveLength(1);
  });

  it('a 403 with Basic points at impersonation rights', async () => {
    server.route(EWS, reply(403));
    const error = expectInstance(
      failure(await createEwsClient(basic()).subscribe(MAILBOX, subscribeRequest)),
      EwsAuthError,
    );
    expect(error.advice).toContain('ApplicationImpersonation');
  });

  it('a 401 to a connection without credentials says to configure some', async () => {
    server.route(EWS, reply(401));
    const client = createEwsClient(connection({ ewsUrl: `${server.origin}${EWS}`, auth: { kind: 'none' } }));
    const error = expectInstance(failure(await client.subscribe(MAILBOX, subscribeRequest)), EwsAuthError);
    expect(error.advice).toMatch(/configure "oauth2" or "basic"/);
  });

  it('an HTML login page with HTTP 200 is an EwsProtocolError', async () => {
    server.route(EWS, reply(200, loginPage, { 'Content-Type': 'text/html' }));
    const error = failure(await createEwsClient(basic()).subscribe(MAILBOX, subscribeRequest));
    expect(expectInstance(error, EwsProtocolError).detail).toMatch(/html/);
    expect(isRetryable(error)).toBe(false);
  });

  it('a redirect is not followed (it would resend the credentials) and names the Location', async () => {
    server.route(EWS, reply(302, '', { Location: '/owa/auth/logon.aspx?url=x' }));
    server.route('/owa/auth/logon.aspx?url=x', reply(200, loginPage));
    const error = expectInstance(
      failure(await createEwsClient(basic()).subscribe(MAILBOX, subscribeRequest)),
      EwsProtocolError,
    );
    expect(error.detail).toContain('HTTP 302');
    expect(error.detail).toContain('"/owa/auth/logon.aspx?url=x"');
    await settle();
    expect(server.requests).toHaveLength(1);
  });

  it('a 404 is an EwsProtocolError pointing at ewsUrl', async () => {
    const client = createEwsClient(basic({ ewsUrl: `${server.origin}/ews/exchange.asmx` }));
    const error = expectInstance(
      failure(await client.subscribe(MAILBOX, subscribeRequest)),
      EwsProtocolError,
    );
    expect(error.detail).toContain('HTTP 404');
    expect(error.detail).toContain('ewsUrl of connection "test"');
  });

  it.each([
    ['declares its length', false],
    ['is streamed without a length', true],
  ])('a response larger than the cap that %s is refused', async (_label, chunked) => {
    const body = fixture('get-item-mixed.xml');
    server.route(EWS, (_request, response) => {
      if (!chunked) {
        response.writeHead(200, { 'Content-Type': 'text/xml', 'Content-Length': Buffer.byteLength(body) });
        response.end(body);
        return;
      }
      response.writeHead(200, { 'Content-Type': 'text/xml' });
      for (let i = 0; i < body.length; i += 100) response.write(body.slice(i, i + 100));
      response.end();
    });
    const client = createEwsClient(basic(), { maxResponseBytes: 1000 });
    const error = expectInstance(failure(await client.getItems(MAILBOX, [{ id: 'x' }])), EwsProtocolError);
    expect(error.detail).toContain('more than the 1,000 bytes accepted');
    expect(error.detail).toContain(chunked ? 'kept coming' : 'declares');
  });
});

describe('when Exchange cannot be reached', () => {
  it('a closed port is an EwsUnreachableError "connection refused" naming the URL, retryable', async () => {
    const port = await closedPort();
    const client = createEwsClient(basic({ ewsUrl: `http://127.0.0.1:${port}${EWS}` }));
    const error = expectInstance(
      failure(await client.subscribe(MAILBOX, subscribeRequest)),
      EwsUnreachableError,
    );
    expect(error).toMatchObject({
      target: 'EWS',
      reason: 'connectionRefused',
      code: 'ECONNREFUSED',
      url: `http://127.0.0.1:${port}${EWS}`,
      retryable: true,
    });
    expect(error.message).toContain(
      `Exchange (EWS) is unreachable: http://127.0.0.1:${port}${EWS} refused the connection`,
    );
  });

  it('https to a server that does not speak TLS is a tlsFailure, not retryable', async () => {
    const client = createEwsClient(basic({ ewsUrl: `${server.origin.replace('http:', 'https:')}${EWS}` }));
    const error = expectInstance(
      failure(await client.subscribe(MAILBOX, subscribeRequest)),
      EwsUnreachableError,
    );
    expect(error.reason).toBe('tlsFailure');
    expect(error.code).toMatch(/^ERR_SSL_|^EPROTO$/);
    expect(error.retryable).toBe(false);
  });

  it('a connection dropped before the answer is a retryable connectionReset', async () => {
    server.route(EWS, (_request, response) => response.socket?.destroy());
    const error = expectInstance(
      failure(await createEwsClient(basic()).subscribe(MAILBOX, subscribeRequest)),
      EwsUnreachableError,
    );
    expect(error.reason).toBe('connectionReset');
    expect(error.retryable).toBe(true);
  });

  it.each([
    ['before the headers', false],
    ['in the middle of the body', true],
  ])('a server that hangs %s times out after timeoutMs on the client clock', async (_label, partial) => {
    server.route(EWS, (_request, response) => {
      if (partial)
        response.writeHead(200, { 'Content-Type': 'text/xml' }).write('<?xml version="1.0"?><s:Env');
    });
    const clock = steppedClock();
    const client = createEwsClient(basic({ timeoutMs: 20_000 }), { clock });
    let settled = false;
    const pending = client.subscribe(MAILBOX, subscribeRequest).finally(() => {
      settled = true;
    });
    await server.waitFor(EWS, 1);
    await settle();
    expect(clock.pendingTimers()).toBe(1);
    clock.advance(19_999);
    await settle();
    expect(settled).toBe(false);
    clock.advance(1);
    const error = expectInstance(failure(await pending), EwsUnreachableError);
    expect(error).toMatchObject({ reason: 'timeout', code: null, timeoutMs: 20_000, retryable: true });
    expect(error.message).toContain('did not answer in time within 20,000 ms');
    expect(clock.pendingTimers()).toBe(0);
  });

  it('a finished call leaves no timer behind', async () => {
    server.route(EWS, reply(200, fixture('subscribe-success.xml')));
    const clock = steppedClock();
    value(await createEwsClient(basic(), { clock }).subscribe(MAILBOX, subscribeRequest));
    expect(clock.pendingTimers()).toBe(0);
  });

  it.each([
    ['ENOTFOUND', 'dnsFailure', false],
    ['EAI_AGAIN', 'dnsFailure', true],
    ['CERT_HAS_EXPIRED', 'tlsFailure', false],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tlsFailure', false],
    ['UND_ERR_CONNECT_TIMEOUT', 'timeout', true],
    ['EHOSTUNREACH', 'network', true],
  ])('undici’s "fetch failed" caused by %s is a %s (retryable: %s)', async (code, reason, retryable) => {
    // DNS and certificate failures cannot be produced on a loopback-only machine without touching
    // the system resolver or a CA, so these feed the client the error shape undici throws.
    const fakeFetch: typeof fetch = async () => {
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error(`getaddrinfo ${code} mail.example.com`), { code }),
      });
    };
    const client = createEwsClient(basic({ ewsUrl: 'https://mail.example.com/EWS/Exchange.asmx' }), {
      fetch: fakeFetch,
    });
    const error = expectInstance(
      failure(await client.subscribe(MAILBOX, subscribeRequest)),
      EwsUnreachableError,
    );
    expect(error).toMatchObject({
      reason,
      code,
      retryable,
      url: 'https://mail.example.com/EWS/Exchange.asmx',
    });
    expect(isRetryable(error)).toBe(retryable);
    expect(error.cause).toBeInstanceOf(TypeError);
  });
});

describe('against the EWS simulator', () => {
  it('findFolders pages through every folder of a mailbox, app-only with impersonation, with the ids the simulator uses', async (context) => {
    const sim = await startSimulator({
      clock: createScaledClock({ timeScale: 60 }),
      auth: 'oauth',
      mailboxes: ['ada@contoso.test', 'bob@contoso.test'],
    });
    context.onTestFinished(() => sim.stop());
    const [app] = sim.credentials.oauth;
    if (app === undefined) throw new Error('the simulator offers no OAuth client');
    const client = createEwsClient(
      connection({
        ewsUrl: sim.ewsUrl,
        auth: {
          kind: 'oauth2',
          tenantId: 'contoso.test',
          clientId: app.clientId,
          clientSecret: app.clientSecret,
          tokenUrl: sim.tokenUrl,
        },
      }),
    );
    const found: FoundFolder[] = [];
    const offsets: number[] = [];
    let offset: number | null = 0;
    while (offset !== null) {
      offsets.push(offset);
      const page: FindFolderResult = value(
        await client.findFolders('ada@contoso.test', { maxEntriesReturned: 4, offset }),
      );
      found.push(...page.folders);
      offset = page.nextOffset;
    }
    expect(offsets).toEqual([0, 4, 8]);
    const ada = sim.mailboxes().find((m) => m.address === 'ada@contoso.test');
    const expected = Object.values(ada?.folders ?? {}).filter(
      (f) => f.distinguishedFolderId !== 'root' && f.distinguishedFolderId !== 'msgfolderroot',
    );
    expect(found.map((f) => [f.folderId, f.displayName])).toEqual(
      expected.map((f) => [f.folderId, f.displayName]),
    );
    expect(found.find((f) => f.displayName === 'Projects')).toMatchObject({
      kind: 'Folder',
      folderClass: 'IPF.Note',
      folderId: ada?.folders.projects?.folderId,
    });
    expect(found.find((f) => f.displayName === 'Calendar')).toMatchObject({
      kind: 'CalendarFolder',
      folderClass: 'IPF.Appointment',
    });
    const missing = failure(
      await client.findFolders('ada@contoso.test', {
        parentFolderId: { folderId: 'AAMkAGI2=' },
        maxEntriesReturned: 10,
      }),
    );
    expect(expectInstance(missing, EwsResponseError)).toMatchObject({
      operation: 'FindFolder',
      responseCode: 'ErrorFolderNotFound',
    });
  });
});
