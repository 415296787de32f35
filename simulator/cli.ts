// `npm run simulator -- [flags]`: runs the EWS simulator until Ctrl-C. Prints the URLs (and the
// credentials to use when authentication is on), then logs nothing more: the /_sim/ API is where
// to look. Exits 0 after a clean stop, 2 for a usage error, 1 when it cannot start.
import { parseArgs } from 'node:util';
import { EWS_SCOPE } from './auth.ts';
import { FAULT_KEYS } from './faults.ts';
import { SimulatorConfigError, type SimulatorOptions } from './options.ts';
import { startSimulator } from './server.ts';

const USAGE = `usage: npm run simulator -- [flags]

  --port N              TCP port (default 0: a free one)
  --host ADDRESS        address to listen on (default 127.0.0.1)
  --time-scale X        simulated seconds per real second (default 1; 60 = a minute per second)
  --auth MODE           none | basic | oauth (default none)
  --mailboxes A,B,…     mailbox addresses (default: one, user1@contoso.test)
  --mailbox-count N     generate N mailboxes user1@contoso.test … userN@contoso.test
  --change-rate X       automatic changes per simulated minute per mailbox (default 0)
  --chaos               turn every fault on (see docs/simulator.md)
  --seed N              seed of every random choice (default 1)
  --help                this text`;

function usageError(message: string): never {
  process.stderr.write(`simulator: ${message}\n(see --help)\n`);
  process.exit(2);
}

function number(flag: string, raw: string | undefined, integer: boolean): number | undefined {
  if (raw === undefined) return undefined;
  const pattern = integer ? /^\d+$/ : /^\d+(\.\d+)?$|^\.\d+$/;
  if (!pattern.test(raw)) {
    usageError(
      `--${flag} ${JSON.stringify(raw)} is not ${integer ? 'a whole number' : 'a number'} of at least 0`,
    );
  }
  return Number(raw);
}

const FLAGS = {
  port: { type: 'string' },
  host: { type: 'string' },
  'time-scale': { type: 'string' },
  auth: { type: 'string' },
  mailboxes: { type: 'string' },
  'mailbox-count': { type: 'string' },
  'change-rate': { type: 'string' },
  chaos: { type: 'boolean' },
  seed: { type: 'string' },
  help: { type: 'boolean' },
} as const;

function parseFlags() {
  try {
    return parseArgs({ args: process.argv.slice(2), strict: true, allowPositionals: false, options: FLAGS })
      .values;
  } catch (e) {
    // parseArgs explains unknown flags and missing values well; its hint about positionals does not apply.
    usageError(e instanceof Error ? e.message.replace(/\. To specify a positional.*$/s, '') : String(e));
  }
}

const values = parseFlags();
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (values.mailboxes !== undefined && values['mailbox-count'] !== undefined) {
  usageError('give --mailboxes or --mailbox-count, not both');
}
const auth = values.auth;
if (auth !== undefined && auth !== 'none' && auth !== 'basic' && auth !== 'oauth') {
  usageError(`--auth ${JSON.stringify(auth)} is not one of none, basic, oauth`);
}
const mailboxCount = number('mailbox-count', values['mailbox-count'], true);
const mailboxes =
  values.mailboxes !== undefined
    ? values.mailboxes
        .split(',')
        .map((a) => a.trim())
        .filter((a) => a !== '')
    : mailboxCount;

const options: SimulatorOptions = {
  ...(values.port === undefined ? {} : { port: number('port', values.port, true) ?? 0 }),
  ...(values.host === undefined ? {} : { host: values.host }),
  ...(values['time-scale'] === undefined
    ? {}
    : { timeScale: number('time-scale', values['time-scale'], false) ?? 1 }),
  ...(auth === undefined ? {} : { auth }),
  ...(mailboxes === undefined ? {} : { mailboxes }),
  ...(values['change-rate'] === undefined
    ? {}
    : { changeRate: number('change-rate', values['change-rate'], false) ?? 0 }),
  ...(values.chaos ? { chaos: true } : {}),
  ...(values.seed === undefined ? {} : { seed: number('seed', values.seed, true) ?? 1 }),
};

const FLAG_OF_SETTING: Readonly<Record<string, string>> = {
  port: '--port',
  host: '--host',
  timeScale: '--time-scale',
  auth: '--auth',
  mailbox: '--mailboxes',
  mailboxes: '--mailboxes',
  'mailbox count': '--mailbox-count',
  changeRate: '--change-rate',
  seed: '--seed',
};

let sim: Awaited<ReturnType<typeof startSimulator>>;
try {
  sim = await startSimulator(options);
} catch (e) {
  if (e instanceof SimulatorConfigError) {
    // Name the flag rather than the option it became.
    const flag = FLAG_OF_SETTING[e.setting];
    usageError(flag === undefined ? e.message : `${flag}${e.message.slice(e.setting.length)}`);
  }
  const code = e instanceof Error && 'code' in e ? String(e.code) : '';
  if (code === 'EADDRINUSE') {
    process.stderr.write(`simulator: port ${options.port} is already in use; choose another with --port\n`);
  } else {
    process.stderr.write(`simulator: could not start: ${e instanceof Error ? e.message : String(e)}\n`);
  }
  process.exit(1);
}

const summary = sim.summary();
const lines = [
  'EWS simulator running',
  `  EWS URL       ${sim.ewsUrl}`,
  `  control API   ${sim.controlUrl}/  (ground truth: ${sim.controlUrl}/changes)`,
];
if (sim.auth === 'basic') {
  for (const c of sim.credentials.basic)
    lines.push(`  Basic auth    username ${c.username}  password ${c.password}`);
  lines.push('                (a service account: impersonate a mailbox with ExchangeImpersonation)');
} else if (sim.auth === 'oauth') {
  lines.push(`  token URL     ${sim.tokenUrl}`);
  for (const c of sim.credentials.oauth)
    lines.push(`  client        id ${c.clientId}  secret ${c.clientSecret}`);
  lines.push(`  scope         ${EWS_SCOPE}`);
  lines.push(
    '                (app-only: send ExchangeImpersonation and X-AnchorMailbox for the same mailbox)',
  );
} else {
  lines.push('  auth          none (impersonate a mailbox with ExchangeImpersonation)');
}
const shown = summary.mailboxes.slice(0, 5).join(', ');
lines.push(
  `  mailboxes     ${shown}${summary.mailboxes.length > 5 ? `, … (${summary.mailboxes.length} in all)` : ''}`,
);
lines.push(
  `  time scale    ${summary.timeScale} (one real second is ${summary.timeScale} simulated seconds)`,
);
const faultsOn = FAULT_KEYS.filter((k) => !k.endsWith('Ms') && summary.faults[k] > 0).map(
  (k) => `${k}=${summary.faults[k]}`,
);
lines.push(`  faults        ${faultsOn.length === 0 ? 'none' : faultsOn.join(' ')}`);
lines.push(`  seed          ${summary.seed}`, 'Press Ctrl-C to stop.', '');
process.stdout.write(lines.join('\n'));

let stopping = false;
const stop = (signal: NodeJS.Signals) => {
  if (stopping) {
    process.stderr.write(`simulator: ${signal} again, exiting at once\n`);
    process.exit(130);
  }
  stopping = true;
  process.stdout.write(`\n${signal}: stopping…\n`);
  sim.stop().then(
    () => {
      process.stdout.write('simulator stopped\n');
      // No process.exit: with every handle closed, Node ends on its own, which proves stop()
      // left nothing running. The listeners go so a later signal kills the process normally.
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
    (e: unknown) => {
      process.stderr.write(`simulator: stop failed: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
