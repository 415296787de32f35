import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, list, record, startHarness, text, until } from './support.ts';

let h: Harness;
afterEach(async () => {
  await h.close();
});

const USER = 'user1@contoso.test';
const IMMUTABLE = { Prefer: 'IdType="ImmutableId"' };

/** Follows nextLinks to the deltaLink; returns every item and the deltaLink. */
async function round(start: string, headers: Record<string, string> = {}) {
  const items: Record<string, unknown>[] = [];
  let link = start;
  for (let page = 0; page < 100; page++) {
    const response = await h.call('GET', link, { headers });
    if (response.status !== 200)
      throw new Error(`delta answered ${response.status}: ${JSON.stringify(response.json)}`);
    items.push(...list(response.json.value));
    const next = response.json['@odata.nextLink'];
    if (typeof next === 'string') {
      link = next;
      continue;
    }
    return { items, deltaLink: text(response.json['@odata.deltaLink']), pages: page + 1 };
  }
  throw new Error('no deltaLink after 100 pages');
}

function change(kind: 'created' | 'updated' | 'moved' | 'deleted', extra: Record<string, unknown> = {}) {
  return h.graph.makeChange({ mailbox: USER, itemType: 'message', kind, folder: 'inbox', ...extra });
}

describe('message delta', () => {
  it('pages a full sync with nextLinks (Prefer: odata.maxpagesize) and ends with a deltaLink', async () => {
    h = await startHarness({ seedItems: false });
    const made = [
      change('created'),
      change('created'),
      change('created'),
      change('created'),
      change('created'),
    ];
    const first = await h.call('GET', `/users/${USER}/mailFolders/inbox/messages/delta`, {
      headers: { Prefer: 'odata.maxpagesize=2' },
    });
    expect(first.headers.get('preference-applied')).toBe('odata.maxpagesize=2');
    expect(list(first.json.value)).toHaveLength(2);
    const all = await round(`/users/${USER}/mailFolders/inbox/messages/delta`, {
      Prefer: 'odata.maxpagesize=2',
    });
    expect(all.pages).toBe(3);
    expect(all.items.map((m) => m.id).sort()).toEqual(made.map((c) => c.id).sort());
    expect(all.deltaLink).toMatch(/\/messages\/delta\?\$deltatoken=/);
    const nothing = await round(all.deltaLink);
    expect(nothing.items).toEqual([]);
  });

  it('is state-based: reports how things are now, once each, and removals only of what the client knew', async () => {
    h = await startHarness({ seedItems: false });
    const a = change('created');
    const b = change('created');
    const d = change('created');
    const initial = await round(`/users/${USER}/mailFolders('inbox')/messages/delta`);
    expect(initial.items).toHaveLength(3);
    change('updated', { itemId: a.id });
    change('updated', { itemId: a.id });
    change('deleted', { itemId: b.id });
    const c = change('created');
    change('deleted', { itemId: c.id });
    change('moved', { itemId: d.id, toFolder: 'archive' });
    const e = change('created');
    const next = await round(initial.deltaLink, { Prefer: 'odata.maxpagesize=1' });
    const summary = next.items.map((m) => [m.id, '@removed' in m ? record(m['@removed']).reason : 'present']);
    expect(summary.sort()).toEqual(
      [
        [a.id, 'present'],
        [b.id, 'deleted'],
        [d.id, 'deleted'],
        [e.id, 'present'],
      ].sort(),
    );
  });

  it('reports a message moved out and back under its new default id, and the old one as removed', async () => {
    h = await startHarness({ seedItems: false });
    const m = change('created');
    const first = await round(`/users/${USER}/mailFolders/inbox/messages/delta`);
    change('moved', { itemId: m.id, toFolder: 'archive' });
    const back = change('moved', { itemId: m.immutableId, toFolder: 'inbox' });
    const next = await round(first.deltaLink);
    expect(next.items.map((i) => [i.id, '@removed' in i])).toEqual([
      [m.id, true],
      [back.id, false],
    ]);
  });

  it('keeps immutable ids across moves: the id removed from one folder is the id that appears in the other', async () => {
    h = await startHarness({ seedItems: false });
    const moving = change('created');
    const inbox = await round(`/users/${USER}/mailFolders/inbox/messages/delta`, IMMUTABLE);
    const archive = await round(`/users/${USER}/mailFolders/archive/messages/delta`, IMMUTABLE);
    expect(inbox.items.map((m) => m.id)).toEqual([moving.immutableId]);
    expect(archive.items).toEqual([]);
    const moved = change('moved', { itemId: moving.immutableId, toFolder: 'archive' });
    expect(moved.id).not.toBe(moving.id);
    const inboxAfter = await round(inbox.deltaLink, IMMUTABLE);
    const archiveAfter = await round(archive.deltaLink, IMMUTABLE);
    expect(inboxAfter.items).toEqual([
      {
        '@odata.type': '#microsoft.graph.message',
        id: moving.immutableId,
        '@removed': { reason: 'deleted' },
      },
    ]);
    expect(archiveAfter.items.map((m) => m.id)).toEqual([moving.immutableId]);
    // Without the preference the default ids differ, as Outlook's do.
    const byDefault = await h.call('GET', `/users/${USER}/messages/${moving.immutableId}`);
    expect(byDefault.json.id).toBe(moved.id);
  });

  it('answers 410 syncStateNotFound with a Location for an expired, unknown or mismatched token, and a full sync works after', async () => {
    h = await startHarness({ deltaTokenLifetimeMs: 24 * 3_600_000 });
    const path = `/users/${USER}/mailFolders/inbox/messages/delta`;
    const first = await round(path);
    const expire = await fetch(`${h.graph.controlUrl}/mailboxes/${USER}/expire-delta-tokens`, {
      method: 'POST',
    });
    expect(expire.status).toBe(200);
    const gone = await h.call('GET', first.deltaLink);
    expect(gone.status).toBe(410);
    expect(record(gone.json.error).code).toBe('syncStateNotFound');
    expect(gone.headers.get('location')).toMatch(/\/mailFolders\('[^']+'\)\/messages\/delta$/);
    const again = await round(text(gone.headers.get('location')));
    expect(again.items.map((m) => m.id).sort()).toEqual(first.items.map((m) => m.id).sort());

    expect((await h.call('GET', `${path}?$deltatoken=never-issued`)).status).toBe(410);
    const archiveToken = new URL(again.deltaLink).searchParams.get('$deltatoken');
    expect(
      (await h.call('GET', `/users/${USER}/mailFolders/archive/messages/delta?$deltatoken=${archiveToken}`))
        .status,
    ).toBe(410);

    h.clock.advance(24 * 3_600_000 + 1);
    expect((await h.call('GET', again.deltaLink)).status).toBe(410);
  });
});

describe('calendar view delta', () => {
  it('needs a window, expands series into occurrences, and reports a deleted series occurrence by occurrence', async () => {
    h = await startHarness({ seedItems: false });
    const view = `/users/${USER}/calendarView/delta`;
    const missing = await h.call('GET', view);
    expect(missing.status).toBe(400);
    const start = new Date(h.clock.now()).toISOString();
    const end = new Date(h.clock.now() + 30 * 24 * 3_600_000).toISOString();
    const single = h.graph.makeChange({
      mailbox: USER,
      itemType: 'event',
      kind: 'created',
      recurring: false,
    });
    const series = h.graph.makeChange({ mailbox: USER, itemType: 'event', kind: 'created', recurring: true });
    const first = await round(`${view}?startDateTime=${start}&endDateTime=${end}`, {
      Prefer: 'odata.maxpagesize=2',
    });
    const types = first.items.map((e) => e.type);
    expect(types.filter((t) => t === 'occurrence')).toHaveLength(5);
    expect(types.filter((t) => t === 'singleInstance')).toHaveLength(1);
    expect(
      first.items.filter((e) => e.type === 'occurrence').every((e) => e.seriesMasterId === series.id),
    ).toBe(true);
    // The deltaLink carries the window: no need to repeat it.
    expect(first.deltaLink).not.toMatch(/startDateTime/);
    h.graph.makeChange({ mailbox: USER, itemType: 'event', kind: 'deleted', itemId: series.id });
    h.graph.makeChange({ mailbox: USER, itemType: 'event', kind: 'updated', itemId: single.id });
    const next = await round(first.deltaLink);
    expect(next.items.filter((e) => '@removed' in e)).toHaveLength(5);
    expect(next.items.filter((e) => !('@removed' in e)).map((e) => [e.id, e.subject])).toEqual([
      [single.id, `${single.subject} (edited)`],
    ]);
  });
});

describe('mail folders and limits', () => {
  it('lists the mail folders with paging and finds them by well-known name or id', async () => {
    h = await startHarness();
    const page = await h.call('GET', `/users/${USER}/mailFolders?$top=4`);
    expect(list(page.json.value)).toHaveLength(4);
    const rest = await h.call('GET', text(page.json['@odata.nextLink']));
    expect(list(rest.json.value).map((f) => f.displayName)).toEqual(['Junk Email', 'Archive', 'Projects']);
    const inbox = await h.call('GET', `/users/${USER}/mailFolders/inbox`);
    expect(inbox.json).toMatchObject({ displayName: 'Inbox', totalItemCount: 2 });
    const byId = await h.call('GET', `/users/${USER}/mailFolders/${text(inbox.json.id)}`);
    expect(byId.json.displayName).toBe('Inbox');
    const garbled = await h.call('GET', `/users/${USER}/mailFolders/%E0%A4%A`);
    expect(garbled.status).toBe(400);
    expect(text(record(garbled.json.error).message)).toMatch(/percent-encoding/);
  });

  it('answers the fifth concurrent request for a mailbox 429 ApplicationThrottled with Retry-After', async () => {
    h = await startHarness({
      requestLatencyMs: 500,
      mailboxes: ['user1@contoso.test', 'user2@contoso.test'],
    });
    await h.token();
    const statuses: number[] = [];
    const requests = Array.from({ length: 5 }, () =>
      h.call('GET', `/users/${USER}/mailFolders`).then((r) => {
        statuses.push(r.status);
        return r;
      }),
    );
    // Four wait out the latency on the stepped clock; whichever came fifth is refused at once.
    await until(() => statuses.length === 1, 'the refused request');
    const refused = await Promise.race(requests);
    expect(refused.status).toBe(429);
    expect(record(refused.json.error).code).toBe('ApplicationThrottled');
    expect(refused.headers.get('retry-after')).toBe('1');
    // Another mailbox of the same app is not affected.
    let other: number | undefined;
    const otherRequest = h.call('GET', '/users/user2@contoso.test/mailFolders').then((r) => {
      other = r.status;
    });
    while (other === undefined) {
      h.clock.advance(500);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await otherRequest;
    await Promise.all(requests);
    expect(other).toBe(200);
    expect(statuses.sort()).toEqual([200, 200, 200, 200, 429]);
  });

  it('throttles a mailbox on request (the control API) with the time left as Retry-After', async () => {
    h = await startHarness();
    const response = await fetch(`${h.graph.controlUrl}/mailboxes/${USER}/throttle`, {
      method: 'POST',
      body: '{"forMs": 90000}',
    });
    expect(response.status).toBe(200);
    const throttled = await h.call('GET', `/users/${USER}/mailFolders`);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('90');
    h.clock.advance(90_000);
    expect((await h.call('GET', `/users/${USER}/mailFolders`)).status).toBe(200);
  });
});
