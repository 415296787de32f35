/**
 * The Graph client per connection against the Graph stand-in: one token per connection for every
 * call, a rotated secret builds a new client, the 4-per-mailbox limit and Retry-After on 429.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { objectConnections } from '../../functions/adapters/connections-source.ts';
import { graphClients } from '../../functions/adapters/graph-clients.ts';
import { buildMessagesDelta } from '../../functions/graph/delta.ts';
import { connectionEntryFor } from '../../graph-simulator/connection.ts';
import type { GraphSimulator } from '../../graph-simulator/server.ts';
import { startGraphSimulator } from '../../graph-simulator/server.ts';
import { type SteppedClock, steppedClock } from '../support/stepped-clock.ts';

let clock: SteppedClock;
let graph: GraphSimulator;
beforeEach(async () => {
  clock = steppedClock();
  graph = await startGraphSimulator({ clock, mailboxes: ['ada@contoso.test'] });
});
afterEach(() => graph.stop());

function connections(secret = 'graph-simulator-secret') {
  return objectConnections({
    'contoso-graph': connectionEntryFor(graph, { clientSecret: secret }),
    onprem: { ewsUrl: 'http://127.0.0.1:1/EWS/Exchange.asmx', auth: { kind: 'none' } },
  });
}

function countingFetch() {
  const calls: string[] = [];
  const wrapped: typeof fetch = (input, init) => {
    calls.push(`${init?.method ?? 'GET'} ${String(input)}`);
    return fetch(input, init);
  };
  return { calls, fetch: wrapped };
}

describe('graphClients', () => {
  it('keeps one client (one token) per connection, and answers undefined for unknown or EWS names', async () => {
    const counted = countingFetch();
    const clients = graphClients(connections(), { fetch: counted.fetch, clock });
    const client = await clients.client('contoso-graph');
    if (client === undefined) throw new Error('no client');
    expect(await clients.client('contoso-graph')).toBe(client);
    expect(await clients.client('onprem')).toBeUndefined();
    expect(await clients.client('nope')).toBeUndefined();
    expect(await clients.names()).toEqual(['contoso-graph']);
    const page = buildMessagesDelta({
      userId: 'ada@contoso.test',
      folderId: 'inbox',
    });
    expect((await client.deltaPage(page)).ok).toBe(true);
    expect((await client.deltaPage(page)).ok).toBe(true);
    expect(counted.calls.filter((c) => c.includes('/oauth2/v2.0/token'))).toHaveLength(1);
  });

  it('builds a new client when the connection changes (a rotated secret)', async () => {
    const first = await graphClients(connections('old-secret'), { clock }).client('contoso-graph');
    const second = await graphClients(connections(), { clock }).client('contoso-graph');
    expect(first).not.toBe(second);
  });

  it('waits out a 429 Retry-After from the stand-in and then succeeds', async () => {
    const counted = countingFetch();
    const client = await graphClients(connections(), {
      clock,
      fetch: counted.fetch,
      maxRetryWaitMs: 60_000,
    }).client('contoso-graph');
    if (client === undefined) throw new Error('no client');
    graph.throttle('ada@contoso.test', 5_000);
    const pending = client.deltaPage(buildMessagesDelta({ userId: 'ada@contoso.test', folderId: 'inbox' }));
    // The client sleeps on the stepped clock: advance it until the answer comes.
    let settled = false;
    void pending.then(() => {
      settled = true;
    });
    for (let i = 0; i < 200 && !settled; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      clock.advance(1_000);
    }
    const result = await pending;
    expect(result.ok).toBe(true);
    // At least one 429 was answered and retried: more than one delta request went out.
    expect(counted.calls.filter((c) => c.includes('/messages/delta')).length).toBeGreaterThan(1);
  });
});
