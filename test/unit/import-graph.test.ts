/**
 * The bridge's code forms no import cycle, type-only imports included: a cycle, even one erased
 * at run time, means two modules that cannot be understood or changed apart. Checked over
 * functions/ (the Lambdas and what they share), local/ (the local run), simulator/ and
 * graph-simulator/. Imports are read from the source text, so the check needs no tool beyond the
 * file system.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CHECKED = ['functions', 'local', 'simulator', 'graph-simulator'];

/** Every relative `import … from '…ts'` and `export … from '…ts'` of a module, as written. */
function relativeImports(source: string): string[] {
  const found = new Set<string>();
  for (const match of source.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+'(\.\.?\/[\w./-]+)\.ts';/gms)) {
    const specifier = match[1];
    if (specifier !== undefined) found.add(specifier);
  }
  return [...found];
}

/** One cycle of the graph, as the path that closes it, or null when there is none. */
function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | null {
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | null => {
    if (state.get(node) === 'done') return null;
    if (state.get(node) === 'visiting') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'visiting');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle !== null) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return null;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle !== null) return cycle;
  }
  return null;
}

/** Every .ts module under `dir` (relative to the repository), recursively. */
function modulesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => join(dir, file));
}

/** Module (repository path without .ts) → the modules it imports, wherever they are. */
function importGraph(dirs: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of dirs.flatMap(modulesUnder)) {
    const imports = relativeImports(readFileSync(join(ROOT, file), 'utf8')).map((specifier) =>
      relative(ROOT, resolve(ROOT, dirname(file), specifier)),
    );
    graph.set(file.replace(/\.ts$/, ''), imports);
  }
  return graph;
}

describe('the import graph', () => {
  it('reads imports, type-only and re-exports included, and finds a cycle where there is one', () => {
    const source = [
      "import type { A } from './a.ts';",
      "import {\n  b,\n  type C,\n} from './b.ts';",
      "export { D } from './d.ts';",
      "import { readFileSync } from 'node:fs';",
      "import { x } from '../functions/x.ts';",
    ].join('\n');
    expect(relativeImports(source).sort()).toEqual(['../functions/x', './a', './b', './d']);
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', []],
    ]);
    expect(findCycle(graph)).toEqual(['a', 'b', 'c', 'a']);
    expect(
      findCycle(
        new Map([
          ['a', ['b']],
          ['b', []],
        ]),
      ),
    ).toBeNull();
  });

  it('has no cycle in functions/, local/, simulator/ and graph-simulator/, nor between them', () => {
    const graph = importGraph(CHECKED);
    for (const dir of CHECKED) {
      expect([...graph.keys()].filter((module) => module.startsWith(`${dir}/`)).length).toBeGreaterThan(5);
    }
    const cycle = findCycle(graph);
    expect(cycle, cycle === null ? '' : `import cycle: ${cycle.join(' → ')}`).toBeNull();
  });

  it('resolves imports across folders', () => {
    const graph = importGraph(CHECKED);
    expect(graph.get('functions/renewer/wiring')).toContain('functions/adapters/mailbox-watch');
  });

  it('lets no Lambda folder import another: what two share lives in domain/, ews/, adapters/ or core/', () => {
    const lambdas = ['receiver', 'processor', 'sweeper', 'renewer', 'admin'];
    const crossings: string[] = [];
    for (const [module, imports] of importGraph(['functions'])) {
      const own = module.split('/')[1];
      for (const target of imports) {
        const other = target.split('/')[1];
        if (lambdas.includes(own ?? '') && lambdas.includes(other ?? '') && other !== own) {
          crossings.push(`${module} → ${target}`);
        }
      }
    }
    expect(crossings).toEqual([]);
  });
});
