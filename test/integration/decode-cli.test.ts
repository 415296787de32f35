import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const fixtures = join(root, 'test', 'fixtures', 'ews');

function decode(args: string[], input?: Buffer) {
  const run = spawnSync(process.execPath, [join(root, 'cli', 'decode.ts'), ...args], {
    input,
    encoding: 'utf8',
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('npm run decode', () => {
  it('prints the decoded push as JSON on stdout and exits 0', () => {
    const file = join(fixtures, 'notifications', 'all-event-types.xml');
    const { status, stdout, stderr } = decode([file]);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const expected: unknown = JSON.parse(readFileSync(file.replace(/\.xml$/, '.expected.json'), 'utf8'));
    expect(JSON.parse(stdout)).toEqual(expected);
  });

  it('prints the documented field names, with null for absent parts', () => {
    const { stdout } = decode([join(fixtures, 'notifications', 'optional-parts-absent.xml')]);
    const output: unknown = JSON.parse(stdout);
    expect(output).toMatchObject({
      notifications: [
        {
          responseClass: 'Success',
          responseCode: null,
          subscriptionId: 'bm8tb3B0aW9uYWxz',
          previousWatermark: null,
          moreEvents: null,
          events: [
            {
              type: 'StatusEvent',
              watermark: null,
              timeStamp: null,
              itemId: null,
              folderId: null,
              parentFolderId: null,
              oldItemId: null,
              oldFolderId: null,
              oldParentFolderId: null,
              unreadCount: null,
            },
            { type: 'ModifiedEvent', itemId: { id: 'bm8td2F0ZXJtYXJr', changeKey: null } },
          ],
        },
      ],
    });
  });

  it('reads standard input when the argument is -', () => {
    const body = readFileSync(join(fixtures, 'notifications', 'soap11-prefix-status-event.xml'));
    const { status, stdout } = decode(['-'], body);
    expect(status).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ notifications: [{ events: [{ type: 'StatusEvent' }] }] });
  });

  it('on bad input prints one line on stderr, nothing on stdout, and exits 1', () => {
    for (const file of [
      'billion-laughs.xml',
      'html-login-page.xml',
      'subscribe-request-posted-to-callback.xml',
    ]) {
      const { status, stdout, stderr } = decode([join(fixtures, 'refused', file)]);
      expect(status).toBe(1);
      expect(stdout).toBe('');
      expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    }
    const truncated = readFileSync(join(fixtures, 'notifications', 'all-event-types.xml')).subarray(0, 900);
    const { status, stdout, stderr } = decode(['-'], truncated);
    expect([status, stdout]).toEqual([1, '']);
    expect(stderr).toMatch(/^Malformed: /);
  });

  it('on a usage error or unreadable file says so and exits 2', () => {
    expect(decode([])).toMatchObject({ status: 2, stdout: '' });
    expect(decode(['a', 'b'])).toMatchObject({ status: 2, stdout: '' });
    const missing = decode([join(fixtures, 'no-such-file.xml')]);
    expect(missing).toMatchObject({ status: 2, stdout: '' });
    expect(missing.stderr).toMatch(/cannot read .*no-such-file.xml.*ENOENT/);
  });
});
