/**
 * `npm run simulator`: flags reach the simulator, bad flags are refused with a clear message and
 * exit code 2, and Ctrl-C stops it cleanly: the process ends on its own (no handle left behind,
 * even with a push in flight) with exit code 0.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createScaledClock } from '../../functions/core/clock.ts';
import { decodeSubscribeResponse, encodeSubscribe } from '../../functions/ews/subscribe.ts';
import { runCli } from '../support/cli-process.ts';
import { as, getJson, post, startReceiver, waitFor } from './support.ts';

const CLI = join(import.meta.dirname, '..', '..', 'simulator', 'cli.ts');

const run = (args: string[]) => runCli(CLI, args);

describe.concurrent('npm run simulator', () => {
  it('prints its URLs and credentials, runs with the flags given, and stops cleanly on Ctrl-C', async () => {
    const cli = run([
      '--port',
      '0',
      '--time-scale',
      '600',
      '--auth',
      'basic',
      '--mailboxes',
      'ada@contoso.test,bob@contoso.test',
      '--change-rate',
      '2',
      '--chaos',
      '--seed',
      '9',
    ]);
    const clock = createScaledClock({ timeScale: 600 });
    // Starting Node takes real time, whatever the simulator's time scale.
    const wallClock = createScaledClock({ timeScale: 1 });
    await waitFor(
      wallClock,
      () => cli.stdout().includes('Press Ctrl-C to stop.'),
      'the simulator to start',
      20_000,
    );
    const ewsUrl = /EWS URL\s+(\S+)/.exec(cli.stdout())?.[1] ?? '';
    expect(ewsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/EWS\/Exchange\.asmx$/);
    expect(cli.stdout()).toMatch(
      /Basic auth\s+username svc-bridge@contoso\.test\s+password simulator-password/,
    );
    const summary = await getJson(ewsUrl.replace('/EWS/Exchange.asmx', '/_sim/'));
    expect(summary).toMatchObject({
      auth: 'basic',
      timeScale: 600,
      seed: 9,
      mailboxes: ['ada@contoso.test', 'bob@contoso.test'],
      faults: { serverBusyRate: 0.05, mailboxMovePerHour: 0.02 },
    });
    // A push in flight when Ctrl-C comes must not keep the process alive.
    const receiver = await startReceiver(clock);
    receiver.answerWith(() => 'hang');
    const authorization = `Basic ${Buffer.from('svc-bridge@contoso.test:simulator-password').toString('base64')}`;
    const subscribeXml = encodeSubscribe(
      {
        folders: [{ distinguishedFolderId: 'inbox' }],
        eventTypes: ['CreatedEvent'],
        statusFrequency: 1,
        url: receiver.url,
      },
      as('ada@contoso.test'),
    );
    // --chaos throttles some requests (and may be moving the mailbox): try again until one succeeds.
    for (let attempt = 0; attempt < 100; attempt++) {
      const reply = await post(ewsUrl, subscribeXml, { Authorization: authorization });
      if (decodeSubscribeResponse(reply.body).ok) break;
      await wallClock.sleep(20);
    }
    await waitFor(wallClock, () => receiver.pushes.length > 0, 'a push', 20_000);
    cli.child.kill('SIGINT');
    expect(await cli.exit).toBe(0);
    expect(cli.stdout()).toMatch(/SIGINT: stopping…\nsimulator stopped\n$/);
    await receiver.close();
  });

  it.for([
    [['--auth', 'kerberos'], '--auth "kerberos" is not one of none, basic, oauth'],
    [['--time-scale', '0'], '--time-scale "0" is not valid: expected a number above 0'],
    [['--time-scale', 'fast'], '--time-scale "fast" is not a number of at least 0'],
    [['--change-rate=-1'], '--change-rate "-1" is not a number of at least 0'],
    [['--port', '99999'], '--port "99999" is not valid: expected a whole number from 0 to 65535'],
    [['--mailboxes', 'a@x.test', '--mailbox-count', '3'], 'give --mailboxes or --mailbox-count, not both'],
    [
      ['--mailboxes', 'not-an-address'],
      '--mailboxes "not-an-address" is not valid: expected an SMTP address',
    ],
    [['--change-rate', '-1'], "Option '--change-rate' argument is ambiguous"],
    [['--bogus'], "Unknown option '--bogus'"],
  ] as const)('refuses %j with exit code 2', async ([args, message]) => {
    const cli = run([...args]);
    expect(await cli.exit).toBe(2);
    expect(cli.stderr()).toContain(`simulator: ${message}`);
    expect(cli.stdout()).toBe('');
  });

  it('prints usage for --help', async () => {
    const cli = run(['--help']);
    expect(await cli.exit).toBe(0);
    expect(cli.stdout()).toMatch(/^usage: npm run simulator -- \[flags\]/);
  });
});
