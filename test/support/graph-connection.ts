/** The connections-secret entry that points the bridge at a Graph stand-in, with its app's credentials. */
import { connectionEntryFor } from '../../graph-simulator/connection.ts';
import type { GraphSimulator } from '../../graph-simulator/server.ts';

export function graphConnectionTo(graph: GraphSimulator, name = 'contoso-graph') {
  return { [name]: connectionEntryFor(graph) };
}
