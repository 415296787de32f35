/**
 * The bridge's connections-secret entry (README, "Microsoft Graph connections") that points at a
 * running stand-in with its first app registration's credentials: what the local run and the
 * tests configure, written once.
 */
import type { GraphSimulator } from './server.ts';

export function connectionEntryFor(
  graph: GraphSimulator,
  options: { readonly clientSecret?: string; readonly timeoutMs?: number } = {},
) {
  const app = graph.clients[0];
  if (app === undefined) throw new Error('the Graph stand-in offers no app registration');
  return {
    kind: 'graph',
    graphUrl: graph.graphUrl,
    auth: {
      kind: 'oauth2',
      tenantId: graph.tenantId,
      clientId: app.clientId,
      clientSecret: options.clientSecret ?? app.clientSecret,
      tokenUrl: graph.tokenUrl,
    },
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  };
}
