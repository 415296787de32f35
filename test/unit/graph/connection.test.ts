import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { objectConnections, UnknownConnectionError } from '../../../functions/adapters/connections-source.ts';
import type { Result } from '../../../functions/core/result.ts';
import { parseConnectionSet, parseConnections } from '../../../functions/ews/connection.ts';
import type { GraphConnection } from '../../../functions/graph/connection.ts';

const SECRET = 'Gr4ph~secret.value-never-shown';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const graph = {
  kind: 'graph',
  auth: { kind: 'oauth2', tenantId: TENANT, clientId: CLIENT, clientSecret: SECRET },
};
const ews = {
  ewsUrl: 'https://mail.example.com/EWS/Exchange.asmx',
  auth: { kind: 'basic', username: 'svc@example.com', password: 'pw' },
};

function value<T, E>(result: Result<T, E>): T {
  if (!result.ok) throw new Error(`expected success, got ${String(result.error)}`);
  return result.value;
}

function problems(json: unknown) {
  const result = parseConnectionSet(json);
  if (result.ok) throw new Error('expected the config to be refused');
  expect(`${result.error.message}${inspect(result.error, { depth: 10 })}`).not.toContain(SECRET);
  return result.error.problems;
}

describe('connections of kind graph', () => {
  it('parses a Graph connection next to an EWS one and fills in the defaults', () => {
    const set = value(parseConnectionSet({ 'contoso-graph': graph, onprem: ews }));
    expect(set.graph.get('contoso-graph')).toEqual<GraphConnection>({
      kind: 'graph',
      name: 'contoso-graph',
      graphUrl: 'https://graph.microsoft.com/v1.0',
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: SECRET,
      tokenUrl: `https://login.microsoftonline.com/${TENANT}/oauth2/v2.0/token`,
      timeoutMs: 30_000,
    });
    expect([...set.ews.keys()]).toEqual(['onprem']);
    expect(set.ews.get('onprem')?.kind).toBe('ews');
    // The EWS-only view leaves Graph connections out rather than handing them to the EWS client.
    expect([...value(parseConnections({ 'contoso-graph': graph, onprem: ews })).keys()]).toEqual(['onprem']);
  });

  it('takes a loopback stand-in over http, with its own token URL', () => {
    const set = value(
      parseConnectionSet({
        sim: {
          ...graph,
          graphUrl: 'http://127.0.0.1:8086/v1.0/',
          auth: { ...graph.auth, tokenUrl: 'http://127.0.0.1:8086/contoso.test/oauth2/v2.0/token' },
          timeoutMs: 5000,
        },
      }),
    );
    expect(set.graph.get('sim')).toMatchObject({
      graphUrl: 'http://127.0.0.1:8086/v1.0',
      tokenUrl: 'http://127.0.0.1:8086/contoso.test/oauth2/v2.0/token',
      timeoutMs: 5000,
    });
  });

  it('names every problem of a Graph connection, never showing the secret', () => {
    const found = problems({
      g: {
        kind: 'graph',
        graphUrl: 'http://graph.example.com/v1.0',
        auth: { kind: 'basic', username: 'u', password: SECRET, scope: 'x/.default' },
        ewsUrl: 'https://x',
      },
    });
    expect(found.map((p) => p.field).sort()).toEqual(['auth.kind', 'auth.scope', 'ewsUrl', 'graphUrl']);
    expect(found.find((p) => p.field === 'auth.kind')?.problem).toMatch(/only app-only OAuth2/);
    expect(found.find((p) => p.field === 'graphUrl')?.problem).toMatch(/plain http/);
  });

  it('refuses an unknown kind and a Graph connection without credentials', () => {
    expect(problems({ x: { ...ews, kind: 'imap' } }).map((p) => [p.field, p.value])).toEqual([
      ['kind', '"imap"'],
    ]);
    expect(problems({ g: { kind: 'graph' } }).map((p) => [p.field, p.problem])).toEqual([
      ['auth', 'is missing'],
    ]);
  });

  it('the source hands out each kind by its own accessor, and any kind by name', async () => {
    const source = objectConnections({ 'contoso-graph': graph, onprem: ews });
    expect(value(await source.graph('contoso-graph')).kind).toBe('graph');
    expect(value(await source.any('contoso-graph')).kind).toBe('graph');
    expect(value(await source.any('onprem')).kind).toBe('ews');
    const wrongKind = await source.get('contoso-graph');
    expect(!wrongKind.ok && wrongKind.error).toBeInstanceOf(UnknownConnectionError);
    expect(!wrongKind.ok && wrongKind.error.message).toMatch(/^EWS connection "contoso-graph" is not in/);
    const notGraph = await source.graph('onprem');
    expect(!notGraph.ok && notGraph.error.message).toMatch(/known: "contoso-graph"/);
    expect([...value(await source.all()).keys()]).toEqual(['onprem']);
  });
});
