/**
 * The local run kept in --data-dir: stopped and started again on the same state, it renews the
 * mailboxes the earlier run added rather than calling them errors, and stops cleanly both times.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { LocalLogEntry } from '../../local/options.ts';
import { startLocalSystem } from '../../local/system.ts';

it('starts again on the state an earlier run kept, renewing its mailboxes', {
  timeout: 120_000,
}, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'epb-data-dir-'));
  const problems: LocalLogEntry[] = [];
  const options = {
    dataDir,
    mailboxes: 2,
    changeRate: 0,
    timeScale: 240,
    log: (entry: LocalLogEntry) => {
      if (entry.level === 'error') problems.push(entry);
    },
  };
  try {
    const first = await startLocalSystem(options);
    const [mailbox = ''] = first.simulator.mailboxAddresses;
    const before = (await first.records()).find((r) => r.mailbox === mailbox);
    await first.stop();

    const second = await startLocalSystem(options);
    try {
      // The earlier subscriptions died with the earlier simulator: renewed as stale.
      const settled = await second.settle(60_000);
      expect(settled.settled, JSON.stringify(await second.records())).toBe(true);
      const after = (await second.records()).find((r) => r.mailbox === mailbox);
      expect(after?.generation).toBeGreaterThan(before?.generation ?? Number.POSITIVE_INFINITY);
      expect(second.report().unhealed).toBe(0);
    } finally {
      await second.stop();
    }
    expect(problems).toEqual([]);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
