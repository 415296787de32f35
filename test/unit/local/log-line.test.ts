import { describe, expect, it } from 'vitest';
import { fold, logLine } from '../../../local/log-line.ts';

describe('logLine', () => {
  it('shows the reason in full, however long', () => {
    const error = `connect ECONNREFUSED 127.0.0.1:4566 on connection "local" ${'x'.repeat(300)} and what to do`;
    const line = logLine(
      {
        level: 'error',
        service: 'receiver',
        message: 'notification not taken',
        extra: { error: { name: 'Error', message: error } },
      },
      '10:00:00',
    );
    expect(line).toBe(
      `10:00:00 [receiver] error: notification not taken (${JSON.stringify({ name: 'Error', message: error })})`,
    );
  });

  it("shows a failed renewal's error rather than the job's reason", () => {
    const entry = {
      level: 'warn' as const,
      service: 'renewer',
      message: 'renewal failed',
      extra: {
        reason: 'retry',
        outcome: { kind: 'failed', error: 'SyncFolderItems failed with ErrorMailboxMoveInProgress' },
      },
    };
    expect(logLine(entry, '10:00:00')).toBe(
      '10:00:00 [renewer] warn: renewal failed (SyncFolderItems failed with ErrorMailboxMoveInProgress)',
    );
    expect(logLine({ ...entry, extra: { reason: 'stale' } }, '10:00:00')).toBe(
      '10:00:00 [renewer] warn: renewal failed (stale)',
    );
    expect(logLine({ ...entry, extra: {} }, '10:00:00')).toBe('10:00:00 [renewer] warn: renewal failed');
  });
});

describe('fold', () => {
  it('cuts nothing: a line wider than the terminal becomes indented rows holding all of it', () => {
    const line = 'abcdefghij'.repeat(5);
    const rows = fold(line, 20);
    expect(rows.every((row) => row.length <= 20)).toBe(true);
    expect(rows[0]).toBe(line.slice(0, 20));
    expect(rows.slice(1).every((row) => row.startsWith('    '))).toBe(true);
    expect(rows.map((row, i) => (i === 0 ? row : row.slice(4))).join('')).toBe(line);
    expect(fold('short', 20)).toEqual(['short']);
  });
});
