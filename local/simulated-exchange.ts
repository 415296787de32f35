/**
 * Exchange, simulated, on the run's clock: the EWS simulator, and the bridge's Exchange clients
 * configured with one connection ("local") to it, as the connections secret would configure them.
 */
import { objectConnections } from '../functions/adapters/connections-source.ts';
import { type ExchangeClients, exchangeClients } from '../functions/adapters/exchange-clients.ts';
import type { Clock } from '../functions/core/clock.ts';
import { type Simulator, startSimulator } from '../simulator/server.ts';
import type { LocalSystemOptions } from './options.ts';
import type { Shutdown } from './shutdown.ts';

export async function startSimulatedExchange(
  options: LocalSystemOptions,
  clock: Clock,
  shutdown: Shutdown,
): Promise<{ readonly simulator: Simulator; readonly clients: ExchangeClients }> {
  const simulator = await startSimulator({
    clock,
    auth: 'oauth',
    mailboxes: options.mailboxes ?? 5,
    changeRate: options.changeRate ?? 1,
    chaos: options.chaos ?? false,
    ...(options.faults ? { faults: options.faults } : {}),
    seed: options.seed ?? 1,
  });
  shutdown.add(() => simulator.stop());
  const [client] = simulator.credentials.oauth;
  if (client === undefined) throw new Error('the simulator offers no OAuth client');
  const connections = objectConnections(
    {
      local: {
        ewsUrl: simulator.ewsUrl,
        auth: {
          kind: 'oauth2',
          tenantId: 'contoso.test',
          clientId: client.clientId,
          clientSecret: client.clientSecret,
          tokenUrl: simulator.tokenUrl,
        },
        // Timeouts run on the shared clock: ten real seconds whatever the time scale.
        timeoutMs: Math.min(600_000, Math.max(100, Math.round(10_000 * clock.timeScale))),
      },
    },
    'the local run',
  );
  return { simulator, clients: exchangeClients(connections, { clock }) };
}
