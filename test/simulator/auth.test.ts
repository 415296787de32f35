/**
 * Authentication as the bridge's EWS client will meet it: Basic (on-premises) with its 401
 * challenge, and app-only OAuth (Exchange Online) with an Entra-like token endpoint, bearer tokens
 * that expire on the simulated clock, and the impersonation + X-AnchorMailbox rules.
 */
import { describe, expect, it, type TestContext } from 'vitest';
import { createScaledClock } from '../../functions/core/clock.ts';
import { encodeSubscribe, type PushSubscriptionRequest } from '../../functions/ews/subscribe.ts';
import { DEFAULT_CREDENTIALS, EWS_SCOPE } from '../../simulator/auth.ts';
import type { Simulator, SimulatorOptions } from '../../simulator/server.ts';
import { as, elapse, failure, post, startWithReceiver, subscribe, value } from './support.ts';

const ADA = 'ada@contoso.test';
const [basicUser] = DEFAULT_CREDENTIALS.basic;
const [app] = DEFAULT_CREDENTIALS.oauth;

async function setUp(
  context: TestContext,
  options: SimulatorOptions,
): Promise<{ sim: Simulator; request: PushSubscriptionRequest }> {
  const clock = createScaledClock({ timeScale: 600 });
  const { sim, receiver } = await startWithReceiver(context.onTestFinished, {
    mailboxes: [ADA, 'bob@contoso.test'],
    ...options,
    clock,
  });
  return {
    sim,
    request: {
      folders: [{ distinguishedFolderId: 'inbox' }],
      eventTypes: ['CreatedEvent'],
      statusFrequency: 1,
      url: receiver.url,
    },
  };
}

const basic = (user: string, password: string) => ({
  Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

async function token(sim: Simulator, form: Record<string, string>, headers: Record<string, string> = {}) {
  const response = await fetch(sim.tokenUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  const body: unknown = await response.json();
  if (typeof body !== 'object' || body === null)
    throw new Error(`the token endpoint answered ${String(body)}`);
  return { status: response.status, body: Object.fromEntries(Object.entries(body)) };
}

const clientCredentials = (overrides: Record<string, string> = {}) => ({
  grant_type: 'client_credentials',
  client_id: app?.clientId ?? '',
  client_secret: app?.clientSecret ?? '',
  scope: EWS_SCOPE,
  ...overrides,
});

describe('Basic authentication', () => {
  it('answers 401 with WWW-Authenticate for missing or wrong credentials, and serves the right ones', async (context) => {
    const { sim, request } = await setUp(context, { auth: 'basic' });
    const xml = encodeSubscribe(request, as(ADA));
    for (const headers of [
      {},
      basic(basicUser?.username ?? '', 'wrong'),
      basic('someone', basicUser?.password ?? ''),
    ]) {
      const reply = await post(sim.ewsUrl, xml, headers);
      expect(reply.status).toBe(401);
      expect(reply.headers.get('www-authenticate')).toMatch(/Basic realm="/);
    }
    const ok = await post(sim.ewsUrl, xml, basic(basicUser?.username ?? '', basicUser?.password ?? ''));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('text/xml; charset=utf-8');
    // A bearer token means nothing to an on-premises server set up for Basic.
    expect((await post(sim.ewsUrl, xml, { Authorization: 'Bearer abc' })).status).toBe(401);
  });
});

describe('the OAuth2 token endpoint', () => {
  it('issues a client-credentials token for the EWS scope', async (context) => {
    const { sim } = await setUp(context, { auth: 'oauth' });
    expect(sim.tokenUrl).toBe(`${sim.url}/contoso.test/oauth2/v2.0/token`);
    const issued = await token(sim, clientCredentials());
    expect(issued.status).toBe(200);
    expect(issued.body).toMatchObject({ token_type: 'Bearer', expires_in: 3599 });
    expect(issued.body.access_token).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]{40,}$/));
    // client_secret_basic works as well.
    const viaHeader = await token(
      sim,
      { grant_type: 'client_credentials', scope: EWS_SCOPE },
      basic(app?.clientId ?? '', app?.clientSecret ?? ''),
    );
    expect(viaHeader.status).toBe(200);
  });

  it.for([
    {
      problem: 'an unknown client',
      form: { client_id: 'nobody' },
      status: 400,
      error: 'unauthorized_client',
      code: 700016,
    },
    {
      problem: 'a wrong secret',
      form: { client_secret: 'guess' },
      status: 401,
      error: 'invalid_client',
      code: 7000215,
    },
    {
      problem: 'another scope',
      form: { scope: 'https://graph.microsoft.com/.default' },
      status: 400,
      error: 'invalid_scope',
      code: 1002012,
    },
    {
      problem: 'another grant',
      form: { grant_type: 'password' },
      status: 400,
      error: 'unsupported_grant_type',
      code: 70003,
    },
  ])('answers $problem like Entra ID: $status $error', async ({ form, status, error, code }, context) => {
    const { sim } = await setUp(context, { auth: 'oauth' });
    const answer = await token(sim, clientCredentials(form));
    expect(answer.status).toBe(status);
    expect(answer.body).toMatchObject({ error, error_codes: [code] });
    expect(answer.body.error_description).toMatch(new RegExp(`^AADSTS${code}: `));
  });

  it('refuses another tenant and a body that is not a form', async (context) => {
    const { sim } = await setUp(context, { auth: 'oauth' });
    const elsewhere = await fetch(sim.tokenUrl.replace('contoso.test', 'fabrikam.test'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(clientCredentials()).toString(),
    });
    expect(elsewhere.status).toBe(400);
    const json = await fetch(sim.tokenUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(clientCredentials()),
    });
    expect(json.status).toBe(400);
    expect(await json.json()).toMatchObject({ error: 'invalid_request' });
  });
});

describe('app-only OAuth on EWS', () => {
  async function bearer(sim: Simulator): Promise<Record<string, string>> {
    const issued = await token(sim, clientCredentials());
    return { Authorization: `Bearer ${String(issued.body.access_token)}` };
  }

  it('answers 401 for a missing, unknown or expired bearer token', async (context) => {
    const { sim, request } = await setUp(context, { auth: 'oauth', tokenLifetimeSeconds: 300 });
    const xml = encodeSubscribe(request, as(ADA));
    const anchor = { 'X-AnchorMailbox': ADA };
    const missing = await post(sim.ewsUrl, xml, anchor);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const unknown = await post(sim.ewsUrl, xml, { ...anchor, Authorization: 'Bearer forged' });
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    const headers = { ...anchor, ...(await bearer(sim)) };
    expect((await post(sim.ewsUrl, xml, headers)).status).toBe(200);
    await elapse(sim.clock, 301_000);
    const expired = await post(sim.ewsUrl, xml, headers);
    expect(expired.status).toBe(401);
    expect(expired.headers.get('x-ms-diagnostics')).toMatch(/expired/);
    // Basic credentials are no use against Exchange Online.
    expect(
      (
        await post(sim.ewsUrl, xml, {
          ...anchor,
          ...basic(basicUser?.username ?? '', basicUser?.password ?? ''),
        })
      ).status,
    ).toBe(401);
  });

  it('requires ExchangeImpersonation and an X-AnchorMailbox naming the same mailbox', async (context) => {
    const { sim, request } = await setUp(context, { auth: 'oauth' });
    const auth = await bearer(sim);
    const noImpersonation = await post(sim.ewsUrl, encodeSubscribe(request), {
      ...auth,
      'X-AnchorMailbox': ADA,
    });
    expect(noImpersonation.status).toBe(500);
    expect(noImpersonation.body).toContain(
      'ExchangeImpersonation SOAP header must be present for this type of OAuth token.',
    );
    expect(failure(await subscribe(sim, ADA, request, auth))).toMatchObject({
      responseCode: 'ErrorNoRespondingCASInDestinationSite',
      via: 'soapFault',
    });
    expect(
      failure(await subscribe(sim, ADA, request, { ...auth, 'X-AnchorMailbox': 'bob@contoso.test' })),
    ).toMatchObject({
      responseCode: 'ErrorNoRespondingCASInDestinationSite',
    });
    // Addresses compare case-insensitively, as SMTP addresses do.
    value(await subscribe(sim, ADA, request, { ...auth, 'X-AnchorMailbox': 'Ada@Contoso.TEST' }));
  });
});
