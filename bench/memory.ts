// `node --expose-gc bench/memory.ts [--mailboxes 5] [--burst 13000] [--concurrency 200] [--after 40]`
// Issue 16: the local run's memory. Idle: RSS against V8 heap, external and code, after a forced
// GC. Then a hostile burst at the receiver (forged paths, garbage bodies on a well-formed path,
// 1 MB bodies), and after it: memory as left, and again after a forced GC: is it held (a leak:
// heapUsed stays up after GC) or only not returned to the system (RSS up, heap back)?
import { request } from 'node:http';
import { parseArgs } from 'node:util';
import { getHeapSpaceStatistics } from 'node:v8';
import { startLocalSystem } from '../local/system.ts';

const { values } = parseArgs({
  options: {
    mailboxes: { type: 'string', default: '5' },
    burst: { type: 'string', default: '13000' },
    concurrency: { type: 'string', default: '200' },
    after: { type: 'string', default: '40' },
  },
});
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const mb = (n: number) => Math.round(n / 2 ** 20);
const snapshot = (label: string) => {
  const m = process.memoryUsage();
  const spaces = Object.fromEntries(
    getHeapSpaceStatistics().map((s) => [s.space_name, mb(s.space_used_size)]),
  );
  const row = {
    label,
    rss: mb(m.rss),
    heapTotal: mb(m.heapTotal),
    heapUsed: mb(m.heapUsed),
    external: mb(m.external),
    arrayBuffers: mb(m.arrayBuffers),
    codeSpace: spaces.code_space,
    oldSpace: spaces.old_space,
    largeObjects: spaces.large_object_space,
  };
  process.stdout.write(`${JSON.stringify(row)}\n`);
  return row;
};
const settle = async (ms: number) => new Promise((r) => setTimeout(r, ms));
const fullGc = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await settle(100);
  }
};

snapshot('process start (node + this script)');
const system = await startLocalSystem({ mailboxes: Number(values.mailboxes) });
await settle(5000);
snapshot('idle, 5 s after ready');
await fullGc();
const idle = snapshot('idle, after forced GC');

const url = new URL(system.receiverUrl);
const big = Buffer.alloc(1024 * 1024, 'x');
const garbage = Buffer.from('<s:Envelope><s:Body><nope/></s:Body></s:Envelope>');
// A well-formed callback path with a token that does not verify: 403 like a forged one, but the
// route matches; and a path that matches no route: 404.
const paths = ['/ews/AAAAAAAAAAAAAAAAAAAAAA/1/forgedtokenforgedtokenforgedtokenforgedto', '/nothing/here'];
let sent = 0;
const statuses: Record<string, number> = {};
const one = (i: number) =>
  new Promise<void>((resolve) => {
    const body = i % 3 === 2 ? big : garbage;
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: paths[i % 2],
        agent: false,
        headers: { 'content-length': body.byteLength },
      },
      (res) => {
        statuses[String(res.statusCode)] = (statuses[String(res.statusCode)] ?? 0) + 1;
        res.resume();
        res.on('end', () => resolve());
      },
    );
    req.on('error', () => {
      statuses.error = (statuses.error ?? 0) + 1;
      resolve();
    });
    req.end(body);
  });
const total = Number(values.burst);
const t = performance.now();
await Promise.all(
  Array.from({ length: Number(values.concurrency) }, async () => {
    while (sent < total) await one(sent++);
  }),
);
process.stdout.write(
  `${JSON.stringify({ burst: total, seconds: Math.round((performance.now() - t) / 100) / 10, statuses })}\n`,
);
snapshot('right after the burst');
await settle(Number(values.after) * 1000);
const late = snapshot(`${values.after} s after the burst`);
await fullGc();
const afterGc = snapshot('after forced GC');
process.stdout.write(
  `${JSON.stringify({
    rssKeptMB: late.rss - idle.rss,
    rssKeptAfterGcMB: afterGc.rss - idle.rss,
    heapUsedKeptAfterGcMB: afterGc.heapUsed - idle.heapUsed,
    externalKeptAfterGcMB: afterGc.external - idle.external,
  })}\n`,
);
await system.stop();
