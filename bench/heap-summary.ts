// `node bench/heap-summary.ts <file.heapprofile> [--top n]`: a V8 sampling heap profile (bench/load.ts
// --heap-prof: what was allocated in the window and is still alive at its end) as the places that
// hold the most: by allocating function, and by the nearest frame of the project's own code
// (local/, functions/, simulator/, graph-simulator/, bench/) on the allocation's stack, which names
// the owner even when a library or Node did the allocating.
import { readFileSync } from 'node:fs';

interface Frame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface HeapNode {
  readonly callFrame: Frame;
  readonly selfSize: number;
  readonly children: readonly HeapNode[];
}

const file = process.argv[2];
if (!file) throw new Error('usage: node bench/heap-summary.ts <file.heapprofile> [--top n]');
const top = Number(process.argv[process.argv.indexOf('--top') + 1]) || 25;
const { head } = JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode };

const OWN = /\/(local|functions|simulator|graph-simulator|bench)\/[^/]+(\/[^/]+)*\.ts$/;
const name = (f: Frame) =>
  `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/node_modules\//, '').replace(/^.*\/(?=(local|functions|simulator|graph-simulator|bench)\/)/, '')}:${f.lineNumber + 1}`;

const bySelf = new Map<string, number>();
const byOwner = new Map<string, number>();
let total = 0;
const walk = (node: HeapNode, owner: string | undefined) => {
  const here =
    node.callFrame.url.startsWith('file:') || node.callFrame.url.startsWith('/') ? node.callFrame : undefined;
  const own = here && OWN.test(here.url.replace(/^file:\/\//, '')) ? name(here) : owner;
  if (node.selfSize > 0) {
    total += node.selfSize;
    const key = name(node.callFrame);
    bySelf.set(key, (bySelf.get(key) ?? 0) + node.selfSize);
    const ownerKey = own ?? '(no project frame on the stack)';
    byOwner.set(ownerKey, (byOwner.get(ownerKey) ?? 0) + node.selfSize);
  }
  for (const child of node.children) walk(child, own);
};
walk(head, undefined);

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1).padStart(7)} MB`;
const list = (title: string, map: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`);
  for (const [key, bytes] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top))
    process.stdout.write(`${mb(bytes)} ${((100 * bytes) / total).toFixed(1).padStart(5)}%  ${key}\n`);
};
process.stdout.write(`${file}: ${mb(total).trim()} sampled as alive at the end\n`);
list('by the nearest project frame on the allocating stack', byOwner);
list('by allocating function', bySelf);
