/** The connections-secret entry that points the bridge at a Graph stand-in, with its app's credentials. */
import type { GraphSimulator } from '../../graph-simulator/server.ts';

export function graphConnectionTo(graph: GraphSimulator, name = 'contoso-graph') {
  const app = graph.clients[0];
  if (app === undefined) throw new Error('the Graph stand-in offers no app registration');
  return {
    [name]: {
      kind: 'graph',
      graphUrl: graph.graphUrl,
      auth: {
        kind: 'oauth2',
        tenantId: graph.tenantId,
        clientId: app.clientId,
        clientSecret: app.clientSecret,
        tokenUrl: graph.tokenUrl,
      },
    },
  };
}
