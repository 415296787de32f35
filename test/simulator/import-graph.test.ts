/**
 * The simulator's modules form no import cycle, type-only imports included: a cycle, even one
 * erased at run time, means two modules that cannot be understood or changed apart. Imports are
 * read from the source text, so the check needs no tool beyond the file system.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SIMULATOR = resolve(import.meta.dirname, '..', '..', 'simulator');

/** Every `import … from './x.ts'` and `export … from './x.ts'` of a module, as module names. */
function localImports(source: string): string[] {
  const found = new Set<string>();
  for (const match of source.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+'\.\/([\w.-]+)\.ts';/gms)) {
    const name = match[1];
    if (name !== undefined) found.add(name);
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

describe('the simulator import graph', () => {
  it('reads imports, type-only and re-exports included, and finds a cycle where there is one', () => {
    const source = [
      "import type { A } from './a.ts';",
      "import {\n  b,\n  type C,\n} from './b.ts';",
      "export { D } from './d.ts';",
      "import { readFileSync } from 'node:fs';",
      "import { x } from '../functions/x.ts';",
    ].join('\n');
    expect(localImports(source).sort()).toEqual(['a', 'b', 'd']);
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

  it('has no cycle', () => {
    const graph = new Map<string, string[]>();
    for (const file of readdirSync(SIMULATOR).filter((f) => f.endsWith('.ts'))) {
      graph.set(file.replace(/\.ts$/, ''), localImports(readFileSync(join(SIMULATOR, file), 'utf8')));
    }
    expect(graph.size).toBeGreaterThan(5);
    expect(findCycle(graph)).toBeNull();
  });
});
