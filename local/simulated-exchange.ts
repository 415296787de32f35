/**
 * Exchange, simulated, on the run's clock: the EWS simulator (on-premises mailboxes) and, for the
 * mailboxes the run puts on Microsoft Graph (`source`), the Graph stand-in next to it; and the
 * bridge's clients configured with one connection to each ("local", "local-graph"), as the
 * connections secret would configure them.
 */
import { objectConnections } from '../functions/adapters/connections-source.ts';
import { type ExchangeClients, exchangeClients } from '../functions/adapters/exchange-clients.ts';
import { type GraphClients, graphClients } from '../functions/adapters/graph-clients.ts';
import type { Clock } from '../functions/core/clock.ts';
import { connectionEntryFor } from '../graph-simulator/connection.ts';
import { type GraphSimulator, startGraphSimulator } from '../graph-simulator/server.ts';
import { generatedMailboxes } from '../simulator/options.ts';
import { type Simulator, startSimulator } from '../simulator/server.ts';
import type { LocalSystemOptions, MailboxSource } from './options.ts';
import type { Shutdown } from './shutdown.ts';

/** The connections the local run's mailboxes are added with, by source. */
export const LOCAL_CONNECTIONS = { ews: 'local', graph: 'local-graph' } as const;

/**
 * With no mailbox on EWS (`source: 'graph'`) the EWS simulator still runs, idle, with this one
 * mailbox nobody watches: the run's view and tools keep one shape.
 */
const IDLE_EWS_MAILBOX = 'idle@ews.contoso.test';

export interface SimulatedExchange {
  readonly simulator: Simulator;
  /** The Graph stand-in, when any mailbox is on Graph. */
  readonly graph: GraphSimulator | undefined;
  /** The mailboxes to watch, each with the source it is on. */
  readonly mailboxes: readonly { readonly address: string; readonly source: MailboxSource }[];
  readonly clients: ExchangeClients;
  readonly graphClients: GraphClients;
}

/**
 * Which source each mailbox is on: every one on EWS or on Graph, or (`mixed`) every other one on
 * Graph, starting with the second, so one mailbox is EWS and two are one of each.
 */
export function assignSources(
  mailboxes: readonly string[],
  source: LocalSystemOptions['source'] = 'ews',
): { readonly address: string; readonly source: MailboxSource }[] {
  return mailboxes.map((address, i) => ({
    address,
    source: source === 'mixed' ? (i % 2 === 1 ? 'graph' : 'ews') : source,
  }));
}

export async function startSimulatedExchange(
  options: LocalSystemOptions,
  clock: Clock,
  shutdown: Shutdown,
): Promise<SimulatedExchange> {
  const requested = options.mailboxes ?? 5;
  const all = typeof requested === 'number' ? generatedMailboxes(requested) : [...requested];
  const mailboxes = assignSources(all, options.source);
  const ews = mailboxes.filter((m) => m.source === 'ews').map((m) => m.address);
  const onGraph = mailboxes.filter((m) => m.source === 'graph').map((m) => m.address);
  const seed = options.seed ?? 1;
  const changeRate = options.changeRate ?? 1;
  const simulator = await startSimulator({
    clock,
    auth: 'oauth',
    mailboxes: ews.length > 0 ? ews : [IDLE_EWS_MAILBOX],
    changeRate: ews.length > 0 ? changeRate : 0,
    chaos: ews.length > 0 && (options.chaos ?? false),
    ...(options.faults && ews.length > 0 ? { faults: options.faults } : {}),
    seed,
  });
  shutdown.add(() => simulator.stop());
  const graph =
    onGraph.length === 0
      ? undefined
      : await startGraphSimulator({
          clock,
          mailboxes: onGraph,
          changeRate,
          chaosAll: options.chaos ?? false,
          ...(options.graphChaos ? { chaos: options.graphChaos } : {}),
          ...(options.graphDeltaTokenLifetimeMs === undefined
            ? {}
            : { deltaTokenLifetimeMs: options.graphDeltaTokenLifetimeMs }),
          // The bridge's proof of a Graph checkpoint assumes Graph's retry limit: the stand-in keeps it.
          ...(options.policy?.graphRetryLimitMs === undefined
            ? {}
            : { notificationRetryLimitMs: options.policy.graphRetryLimitMs }),
          seed,
        });
  if (graph !== undefined) shutdown.add(() => graph.stop());

  const [client] = simulator.credentials.oauth;
  if (client === undefined) throw new Error('the simulator offers no OAuth client');
  // Timeouts run on the shared clock: ten real seconds whatever the time scale.
  const timeoutMs = Math.min(600_000, Math.max(100, Math.round(10_000 * clock.timeScale)));
  const connections = objectConnections(
    {
      [LOCAL_CONNECTIONS.ews]: {
        ewsUrl: simulator.ewsUrl,
        auth: {
          kind: 'oauth2',
          tenantId: 'contoso.test',
          clientId: client.clientId,
          clientSecret: client.clientSecret,
          tokenUrl: simulator.tokenUrl,
        },
        timeoutMs,
      },
      ...(graph === undefined ? {} : { [LOCAL_CONNECTIONS.graph]: connectionEntryFor(graph, { timeoutMs }) }),
    },
    'the local run',
  );
  return {
    simulator,
    graph,
    mailboxes,
    clients: exchangeClients(connections, { clock }),
    graphClients: graphClients(connections, { clock }),
  };
}
