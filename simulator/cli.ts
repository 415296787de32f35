// `npm run simulator -- [flags]`: runs the EWS simulator until Ctrl-C. Prints the URLs (and the
// credentials to use when authentication is on), then logs nothing more: the /_sim/ API is where
// to look. Exits 0 after a clean stop, 2 for a usage error, 1 when it cannot start.
import { parseArgs } from 'node:util';
import { EWS_SCOPE } from './auth.ts';
import { FLAG_OF_SETTING, numberFlag, startOrExit, stopOnSignals, usageErrorFor } from './cli-support.ts';
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

// Typed out: only an explicitly typed never-returning function ends control flow for tsc.
const usageError: (message: string) => never = usageErrorFor('simulator');
const number = (flag: string, raw: string | undefined, integer: boolean) =>
  numberFlag(usageError, flag, raw, integer);

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

const sim = await startOrExit('simulator', () => startSimulator(options), {
  isConfigError: (e) => e instanceof SimulatorConfigError,
  flagOfSetting: { ...FLAG_OF_SETTING, auth: '--auth' },
  port: options.port,
  usageError,
});

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

stopOnSignals('simulator', () => sim.stop());
