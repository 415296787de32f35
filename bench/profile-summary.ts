// `node bench/profile-summary.ts <file.cpuprofile> [--top n]`: a V8 CPU profile grouped by
// component of the local run (emulators, simulator, AWS SDK, XML, handlers, Node internals).
// Self time: by the frame's own script. Owned self time: a Node-internal or anonymous frame's
// time is given to the nearest ancestor frame from a component (so an HTTP write made by the SDK
// counts for the SDK). Inclusive: share of samples with the component anywhere on the stack.
import { readFileSync } from 'node:fs';

interface Frame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface Node {
  id: number;
  callFrame: Frame;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const file = process.argv[2];
if (!file) throw new Error('usage: node bench/profile-summary.ts <file.cpuprofile>');
const top = Number(process.argv[process.argv.indexOf('--top') + 1]) || 25;
const profile: Profile = JSON.parse(readFileSync(file, 'utf8'));

const RULES: Array<[RegExp, string]> = [
  [
    /node_modules\/dynalite|node_modules\/(lazy|level|memdown|abstract-|encoding-down|deferred-leveldown|levelup|big\.js|once|buffer-crc32|lock)/,
    'dynalite',
  ],
  [
    /node_modules\/fauxqs|node_modules\/(fastify|find-my-way|light-my-request|avvio|@fastify|pino|fast-json-stringify|ajv)/,
    'fauxqs',
  ],
  [
    /node_modules\/@smithy\/signature-v4|node_modules\/@aws-crypto|@smithy\/hash-node|@smithy\/util-hex|@smithy\/util-utf8|@smithy\/core\/dist-cjs\/submodules\/checksum/,
    'sdk:signing+checksums',
  ],
  [/node_modules\/@smithy\/node-http-handler/, 'sdk:http-handler'],
  [
    /node_modules\/@aws-sdk\/(client-dynamodb|lib-dynamodb|util-dynamodb)|@aws-sdk\/.*dynamodb/,
    'sdk:dynamodb-serde',
  ],
  [/node_modules\/@aws-sdk\/client-sqs/, 'sdk:sqs-serde'],
  [/node_modules\/@aws-sdk\/client-sns/, 'sdk:sns-serde'],
  [
    /node_modules\/@aws-sdk\/core\/dist-cjs\/submodules\/protocols|@smithy\/core\/dist-cjs\/submodules\/(cbor|serde|schema|protocols)|@smithy\/smithy-client/,
    'sdk:protocol-serde',
  ],
  [/node_modules\/(@smithy|@aws-sdk)/, 'sdk:other (middleware, endpoints, retry, checksums)'],
  [/node_modules\/fast-xml-parser|node_modules\/strnum/, 'fast-xml-parser'],
  [/node_modules\/@aws-lambda-powertools/, 'powertools'],
  [/\/simulator\//, 'simulator'],
  [/\/functions\/ews\//, 'handlers:ews (XML)'],
  [/\/functions\//, 'handlers'],
  [/\/events\//, 'handlers'],
  [/\/local\//, 'local glue (front end, pollers, report)'],
  [/\/bench\//, 'bench'],
  [/node_modules\/([^/]+)/, 'other npm'],
];
const SPECIAL: Record<string, string> = {
  '(garbage collector)': 'GC',
  '(idle)': 'idle',
  '(program)': 'program (VM, native)',
  '(root)': 'root',
};

function componentOf(frame: Frame): string | undefined {
  if (frame.url === '') return SPECIAL[frame.functionName];
  for (const [re, name] of RULES) if (re.test(frame.url)) return name;
  if (frame.url.startsWith('node:')) return undefined;
  return undefined;
}
const nodeInternal = (frame: Frame) => {
  if (frame.url.startsWith('node:')) {
    const m = /^node:(internal\/)?([a-z_]+)/.exec(frame.url);
    return `node:${m?.[2] ?? 'internal'}`;
  }
  return frame.functionName || '(anonymous native)';
};

const byId = new Map<number, Node>();
const parent = new Map<number, number>();
for (const n of profile.nodes) byId.set(n.id, n);
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const selfTime = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i] ?? 0;
  selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const total = [...selfTime.values()].reduce((a, b) => a + b, 0);
const idleIds = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
const busy = total - [...idleIds].reduce((a, id) => a + (selfTime.get(id) ?? 0), 0);

const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
const selfByComponent = new Map<string, number>();
const ownedByComponent = new Map<string, number>();
const inclusive = new Map<string, number>();
const selfByFunction = new Map<string, number>();
for (const [id, t] of selfTime) {
  const node = byId.get(id);
  if (!node || idleIds.has(id)) continue;
  const own = componentOf(node.callFrame);
  add(selfByComponent, own ?? nodeInternal(node.callFrame), t);
  const f = node.callFrame;
  add(
    selfByFunction,
    `${own ?? nodeInternal(f)} | ${f.functionName || '(anon)'} ${f.url.replace(/.*node_modules\//, '').replace(/.*\/(functions|simulator|local|bench)\//, '$1/')}:${f.lineNumber + 1}`,
    t,
  );
  // Owner: the nearest frame (self first, then ancestors) with a component.
  let owner = own;
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const c = componentOf((byId.get(cur) as Node).callFrame);
    if (c && c !== 'root') {
      owner ??= c;
      seen.add(c);
    }
  }
  add(ownedByComponent, owner ?? `unowned ${nodeInternal(node.callFrame)}`, t);
  for (const c of seen) add(inclusive, c, t);
}

const pctOf = (t: number) => `${((100 * t) / busy).toFixed(1).padStart(5)}%`;
const print = (title: string, m: Map<string, number>, n = 30) => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n))
    process.stdout.write(`  ${pctOf(v)}  ${k}\n`);
};
process.stdout.write(
  `${file}: ${(total / 1e6).toFixed(1)} s sampled, busy ${(busy / 1e6).toFixed(1)} s (${((100 * busy) / total).toFixed(0)}% of the main thread); percentages are of busy time\n`,
);
print('self time by component (frame own script; Node internals by module)', selfByComponent, 25);
print('self time with Node-internal frames given to the nearest component ancestor', ownedByComponent, 25);
print('inclusive (component anywhere on the stack)', inclusive, 25);
print(`top ${top} functions by self time`, selfByFunction, top);

// --callers <regex>: the commonest stacks (innermost 6 frames with a script) under frames whose
// function name matches, for finding who pays for a Node-internal cost.
const callersAt = process.argv.indexOf('--callers');
if (callersAt > 0) {
  const re = new RegExp(process.argv[callersAt + 1] ?? '');
  const stacks = new Map<string, number>();
  for (const [id, t] of selfTime) {
    const node = byId.get(id) as Node;
    if (!re.test(node.callFrame.functionName)) continue;
    const names: string[] = [];
    for (let cur = parent.get(id); cur !== undefined && names.length < 6; cur = parent.get(cur)) {
      const f = (byId.get(cur) as Node).callFrame;
      if (f.url === '' || f.url.startsWith('node:')) continue;
      names.push(
        `${f.functionName || '(anon)'}@${f.url.replace(/.*node_modules\//, '').replace(/.*\/(functions|simulator|local|bench)\//, '$1/')}:${f.lineNumber + 1}`,
      );
    }
    add(stacks, names.join(' < '), t);
  }
  print(`stacks under /${re.source}/`, stacks, 12);
}
