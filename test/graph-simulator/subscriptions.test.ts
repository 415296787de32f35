import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, list, record, startHarness, text, until } from './support.ts';

let h: Harness;
afterEach(async () => {
  await h.close();
});

const USER = 'user1@contoso.test';

describe('the token endpoint and bearer tokens', () => {
  it("issues tokens for Graph's scope only, and refuses calls without a valid, unexpired token", async () => {
    h = await startHarness({ tokenLifetimeSeconds: 600 });
    const client = h.graph.clients[0];
    if (client === undefined) throw new Error('no client');
    const wrongScope = await fetch(h.graph.tokenUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&client_id=${client.clientId}&client_secret=${client.clientSecret}&scope=https%3A%2F%2Foutlook.office365.com%2F.default`,
    });
    expect(wrongScope.status).toBe(400);
    expect(record(await wrongScope.json()).error).toBe('invalid_scope');

    const anonymous = await fetch(`${h.graph.graphUrl}/subscriptions`);
    expect(anonymous.status).toBe(401);
    expect(record(record(await anonymous.json()).error).code).toBe('InvalidAuthenticationToken');
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer /);

    const token = await h.token();
    const withToken = () =>
      fetch(`${h.graph.graphUrl}/subscriptions`, { headers: { Authorization: `Bearer ${token}` } });
    expect((await withToken()).status).toBe(200);
    h.clock.advance(600_000);
    const expired = await withToken();
    expect(expired.status).toBe(401);
    expect(text(record(record(await expired.json()).error).message)).toMatch(/expired/);
  });

  it('checks the app permissions: a mail-only app may not subscribe to events or read the calendar', async () => {
    h = await startHarness();
    const events = await h.call('POST', '/subscriptions', {
      app: 'mail-only',
      body: {
        changeType: 'created',
        notificationUrl: `${h.webhook.url}/n`,
        resource: `/users/${USER}/events`,
        expirationDateTime: h.expiry(60),
      },
    });
    expect(events.status).toBe(403);
    expect(text(record(events.json.error).message)).toMatch(/Calendars\.Read/);
    const view = await h.call(
      'GET',
      `/users/${USER}/calendarView/delta?startDateTime=2026-11-21T00:00:00Z&endDateTime=2026-11-28T00:00:00Z`,
      {
        app: 'mail-only',
      },
    );
    expect(view.status).toBe(403);
    expect((await h.call('GET', `/users/${USER}/mailFolders`, { app: 'mail-only' })).status).toBe(200);
    // Nothing was validated for the refused subscription.
    expect(h.webhook.validations()).toHaveLength(0);
  });
});

describe('creating a subscription', () => {
  it('validates the notification URL and the lifecycle URL, twice when they are equal, with the decoded token', async () => {
    h = await startHarness();
    const url = `${h.webhook.url}/hook?tenant=contoso`;
    const created = await h.call('POST', '/subscriptions', {
      body: {
        changeType: 'created,updated',
        notificationUrl: url,
        lifecycleNotificationUrl: url,
        resource: `/users/${USER}/mailFolders('inbox')/messages`,
        expirationDateTime: h.expiry(10_080),
        clientState: 'x'.repeat(128),
      },
    });
    expect(created.status).toBe(201);
    const validations = h.webhook.validations();
    expect(validations).toHaveLength(2);
    for (const v of validations) {
      expect(v.path).toBe('/hook');
      expect(v.query.get('tenant')).toBe('contoso');
      expect(v.contentType).toMatch(/^text\/plain/);
      expect(v.body).toBe('');
      // The token needs decoding: it has spaces and colons, as Graph's do.
      expect(v.query.get('validationToken')).toMatch(/^Validation: .* Request-Id: /);
    }
    expect(h.graph.validations().map((v) => v.ok)).toEqual([true, true]);
    expect(created.json).toMatchObject({
      changeType: 'created,updated',
      lifecycleNotificationUrl: url,
      clientState: 'x'.repeat(128),
    });
  });

  it('is refused (400, no subscription) when the endpoint answers the encoded token, JSON, an error or nothing in 10 s', async () => {
    h = await startHarness();
    const body = {
      changeType: 'created',
      notificationUrl: `${h.webhook.url}/hook`,
      resource: `/users/${USER}/messages`,
      expirationDateTime: h.expiry(60),
    };
    for (const answer of ['encoded-token', 'json-token', { status: 500 }] as const) {
      h.webhook.answerWith(() => answer);
      const refused = await h.call('POST', '/subscriptions', { body });
      expect(refused.status).toBe(400);
      expect(record(refused.json.error).code).toBe('ValidationError');
    }
    h.webhook.answerWith(() => 'hang');
    const pending = h.call('POST', '/subscriptions', { body });
    await until(() => h.webhook.validations().length === 4, 'the fourth validation request');
    h.clock.advance(9_999);
    h.clock.advance(1);
    const timedOut = await pending;
    expect(timedOut.status).toBe(400);
    expect(text(record(timedOut.json.error).message)).toMatch(/no answer within 10 simulated seconds/);
    expect((await h.call('GET', '/subscriptions')).json.value).toEqual([]);
    expect(h.graph.subscriptions()).toHaveLength(0);
  });

  it('enforces the Outlook lifetime (10,080 minutes; 1,440 with resource data) and the clientState length', async () => {
    h = await startHarness();
    const base = {
      changeType: 'created',
      notificationUrl: `${h.webhook.url}/hook`,
      resource: `/users/${USER}/events`,
    };
    const tooLong = await h.call('POST', '/subscriptions', {
      body: { ...base, expirationDateTime: h.expiry(10_081) },
    });
    expect(tooLong.status).toBe(400);
    expect(text(record(tooLong.json.error).message)).toMatch(/10080 minutes/);
    const past = await h.call('POST', '/subscriptions', {
      body: { ...base, expirationDateTime: h.expiry(-1) },
    });
    expect(past.status).toBe(400);
    const rich = {
      ...base,
      includeResourceData: true,
      encryptionCertificate: 'MIIB',
      encryptionCertificateId: 'c1',
    };
    const richTooLong = await h.call('POST', '/subscriptions', {
      body: { ...rich, expirationDateTime: h.expiry(1_441) },
    });
    expect(text(record(richTooLong.json.error).message)).toMatch(/1440 minutes/);
    expect(
      (await h.call('POST', '/subscriptions', { body: { ...rich, expirationDateTime: h.expiry(1_440) } }))
        .status,
    ).toBe(501);
    const state = await h.call('POST', '/subscriptions', {
      body: { ...base, expirationDateTime: h.expiry(60), clientState: 'x'.repeat(129) },
    });
    expect(state.status).toBe(400);
    expect(text(record(state.json.error).message)).toMatch(/128/);
    // Graph's own seven-digit fractions are read.
    const graphStyle = new Date(h.clock.now() + 3_600_000).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
    expect(
      (await h.call('POST', '/subscriptions', { body: { ...base, expirationDateTime: graphStyle } })).status,
    ).toBe(201);
  });

  it('accepts the Outlook resource forms and refuses /me, unknown users and folders', async () => {
    h = await startHarness();
    const mailbox = record(list(h.graph.mailboxes())[0]);
    const projects = record(record(mailbox.folders).projects);
    const accepted = [
      `/users/${USER}/messages`,
      `users/${text(mailbox.userId)}/mailFolders('Inbox')/messages`,
      `/users/${USER}/mailFolders/${text(projects.id)}/messages`,
      `/users/${USER}/events`,
      `/users/${USER}/calendars/${text(mailbox.calendarId)}/events`,
    ];
    for (const resource of accepted) await h.subscribe(resource);
    const statuses = [];
    for (const resource of [
      '/me/messages',
      `/users/nobody@contoso.test/messages`,
      `/users/${USER}/mailFolders/nope/messages`,
      `/users/${USER}/contacts`,
    ]) {
      statuses.push(
        (
          await h.call('POST', '/subscriptions', {
            body: {
              changeType: 'created',
              notificationUrl: `${h.webhook.url}/n`,
              resource,
              expirationDateTime: h.expiry(60),
            },
          })
        ).status,
      );
    }
    expect(statuses).toEqual([400, 404, 404, 400]);
  });

  it('answers 409 for the same app, resource and changeType (with the existing id), unless the rule allows duplicates', async () => {
    h = await startHarness();
    const first = await h.subscribe(`/users/${USER}/messages`);
    const again = await h.call('POST', '/subscriptions', {
      body: {
        changeType: 'created,updated,deleted',
        notificationUrl: `${h.webhook.url}/other`,
        resource: `/users/${USER}/messages`,
        expirationDateTime: h.expiry(60),
      },
    });
    expect(again.status).toBe(409);
    expect(text(record(again.json.error).message)).toContain(first);
    // Another app may subscribe to the same resource.
    const other = await h.call('POST', '/subscriptions', {
      app: 'mail-only',
      body: {
        changeType: 'created,updated,deleted',
        notificationUrl: `${h.webhook.url}/n`,
        resource: `/users/${USER}/messages`,
        expirationDateTime: h.expiry(60),
      },
    });
    expect(other.status).toBe(201);
    h.graph.setRules({ duplicateSubscription: 'resourceChangeTypeAndUrl' });
    expect(
      await h.subscribe(`/users/${USER}/messages`, { notificationUrl: `${h.webhook.url}/other` }),
    ).not.toBe(first);
    h.graph.setRules({ duplicateSubscription: 'allowed' });
    expect(await h.subscribe(`/users/${USER}/messages`)).not.toBe(first);
  });
});

describe('renewing, reauthorizing and deleting', () => {
  it('renews with PATCH (validating again), refuses a lifecycle URL added later, and answers 404 once expired, deleted or removed', async () => {
    h = await startHarness();
    const id = await h.subscribe(`/users/${USER}/messages`, { expirationDateTime: h.expiry(90) });
    const validationsBefore = h.webhook.validations().length;
    const renewed = await h.call('PATCH', `/subscriptions/${id}`, {
      body: { expirationDateTime: h.expiry(10_080) },
    });
    expect(renewed.status).toBe(200);
    expect(renewed.json.expirationDateTime).toBe(h.expiry(10_080));
    expect(h.webhook.validations().length).toBe(validationsBefore + 1);
    const addLifecycle = await h.call('PATCH', `/subscriptions/${id}`, {
      body: { lifecycleNotificationUrl: `${h.webhook.url}/life` },
    });
    expect(addLifecycle.status).toBe(400);
    expect(text(record(addLifecycle.json.error).message)).toMatch(/cannot be added/);
    expect((await h.call('POST', `/subscriptions/${id}/reauthorize`)).status).toBe(204);

    h.clock.advance(10_080 * 60_000);
    const afterExpiry = await h.call('PATCH', `/subscriptions/${id}`, {
      body: { expirationDateTime: h.expiry(60) },
    });
    expect(afterExpiry.status).toBe(404);
    expect(record(afterExpiry.json.error).code).toBe('ResourceNotFound');
    expect(h.graph.subscriptions()[0]?.state).toBe('expired');

    const deleted = await h.subscribe(`/users/${USER}/events`);
    expect((await h.call('DELETE', `/subscriptions/${deleted}`)).status).toBe(204);
    expect(
      (await h.call('PATCH', `/subscriptions/${deleted}`, { body: { expirationDateTime: h.expiry(60) } }))
        .status,
    ).toBe(404);
    expect((await h.call('GET', `/subscriptions/${deleted}`)).status).toBe(404);
  });

  it('sends subscriptionRemoved to the lifecycle URL when Graph removes a subscription, which then answers 404', async () => {
    h = await startHarness();
    const id = await h.subscribe(`/users/${USER}/messages`, {
      lifecycleNotificationUrl: `${h.webhook.url}/life`,
    });
    const response = await fetch(`${h.graph.controlUrl}/subscriptions/${id}/remove`, { method: 'POST' });
    expect(response.status).toBe(200);
    await h.advance(0);
    const [removed] = h.webhook.notifications('/life');
    expect(removed?.value).toEqual([
      {
        subscriptionId: id,
        subscriptionExpirationDateTime: h.expiry(60 * 24),
        tenantId: h.graph.tenantId,
        clientState: 'secret-client-state',
        lifecycleEvent: 'subscriptionRemoved',
      },
    ]);
    expect(
      (await h.call('PATCH', `/subscriptions/${id}`, { body: { expirationDateTime: h.expiry(60) } })).status,
    ).toBe(404);
    expect((await h.call('GET', '/subscriptions')).json.value).toEqual([]);
  });

  it('refuses a reauthorize soon after a PATCH when the spacing rule is on', async () => {
    h = await startHarness({ rules: { reauthorizeAndRenewSpacingMs: 600_000 } });
    const id = await h.subscribe(`/users/${USER}/messages`);
    expect(
      (await h.call('PATCH', `/subscriptions/${id}`, { body: { expirationDateTime: h.expiry(120) } })).status,
    ).toBe(200);
    expect((await h.call('POST', `/subscriptions/${id}/reauthorize`)).status).toBe(409);
    h.clock.advance(600_000);
    expect((await h.call('POST', `/subscriptions/${id}/reauthorize`)).status).toBe(204);
  });
});
