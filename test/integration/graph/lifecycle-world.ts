/**
 * What the Graph lifecycle and checkpoint tests stand on: the Graph stand-in and a webhook on a
 * stepped clock, fresh for each test, and the renewer's Graph dependencies on the in-memory fakes,
 * with a mailbox of the stand-in added (its baseline owed).
 */
import { afterEach, beforeEach } from 'vitest';
import { objectConnections } from '../../../functions/adapters/connections-source.ts';
import { graphClientFor } from '../../../functions/adapters/graph-clients.ts';
import { addMailbox } from '../../../functions/admin/manage.ts';
import { GRAPH_EVENT_TYPES } from '../../../functions/domain/graph-mailbox.ts';
import { mailboxKeyOf } from '../../../functions/domain/mailbox-key.ts';
import type { SubscriptionRecord } from '../../../functions/domain/subscription.ts';
import type { GraphClient } from '../../../functions/graph/graph-client.ts';
import { type GraphRenewDeps, runGraphJob } from '../../../functions/renewer/graph-lifecycle.ts';
import { type GraphSimulator, startGraphSimulator } from '../../../graph-simulator/server.ts';
import { startWebhook, type Webhook } from '../../graph-simulator/support.ts';
import { CALLBACK_KEY, FakeGraphDeltaStore, fakeWorld } from '../../support/fakes/index.ts';
import { graphConnectionTo } from '../../support/graph-connection.ts';
import { type SteppedClock, steppedClock } from '../../support/stepped-clock.ts';

export interface StandIn {
  readonly clock: SteppedClock;
  readonly graph: GraphSimulator;
  readonly webhook: Webhook;
}

/** Starts the stand-in (watching `mailbox`) and a webhook before each test of the file, stops them after. */
export function standInPerTest(mailbox: string): () => StandIn {
  let current: StandIn | undefined;
  beforeEach(async () => {
    const clock = steppedClock();
    const graph = await startGraphSimulator({ clock, mailboxes: [mailbox] });
    current = { clock, graph, webhook: await startWebhook(clock) };
  });
  afterEach(async () => {
    await current?.webhook.close();
    await current?.graph.stop();
    current = undefined;
  });
  return () => {
    if (current === undefined) throw new Error('the stand-in runs only inside a test');
    return current;
  };
}

/** The renewer's Graph dependencies on the fakes, `mailbox` added through connection `contoso-graph`. */
export async function graphLifecycleWorld(
  standIn: StandIn,
  mailbox: string,
  options: { readonly maxRetryWaitMs?: number; readonly wrap?: (client: GraphClient) => GraphClient } = {},
) {
  const { clock, graph } = standIn;
  const mailboxKey = mailboxKeyOf(mailbox);
  const world = fakeWorld({ graphConnections: ['contoso-graph'] });
  const connection = await objectConnections(graphConnectionTo(graph)).graph('contoso-graph');
  if (!connection.ok) throw connection.error;
  const bare = graphClientFor(connection.value, { clock, maxRetryWaitMs: options.maxRetryWaitMs ?? 0 });
  const client = options.wrap?.(bare) ?? bare;
  const deltas = new FakeGraphDeltaStore();
  const deps = graphRenewDepsOn(world, standIn, client, deltas);
  const added = await addMailbox(
    {
      mailbox,
      connection: 'contoso-graph',
      folders: 'all',
      eventTypes: GRAPH_EVENT_TYPES,
      statusFrequency: 5,
    },
    { ...world.manageDeps, clock },
  );
  if (!added.ok) throw added.error;
  const record = (): SubscriptionRecord => {
    const r = world.table.peek(mailboxKey);
    if (r === undefined) throw new Error('no record');
    return r;
  };
  const run = () => runGraphJob(record(), deps);
  return { world, deps, deltas, record, run };
}

/** The renewer's Graph dependencies on a fake world: `client` for connection `contoso-graph`, the webhook's URL. */
export function graphRenewDepsOn(
  world: ReturnType<typeof fakeWorld>,
  standIn: Pick<StandIn, 'clock' | 'webhook'>,
  client: GraphClient,
  deltas: FakeGraphDeltaStore = new FakeGraphDeltaStore(),
): GraphRenewDeps {
  return {
    store: world.table,
    deltas,
    graph: async (name) => (name === 'contoso-graph' ? client : undefined),
    publisher: world.publisher,
    pushedItemList: world.pushedItems,
    queue: world.queue,
    callbackBaseUrl: standIn.webhook.url,
    callbackKey: async () => CALLBACK_KEY,
    clock: standIn.clock,
    policy: world.policy,
    random: () => 0.5,
  };
}
