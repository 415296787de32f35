// `npm run graph-simulator -- [flags]`: runs the Microsoft Graph stand-in until Ctrl-C. Prints the
// URLs and the app credentials, then logs nothing more: /_graph-sim/ is where to look. Exits 0
// after a clean stop, 2 for a usage error, 1 when it cannot start.
import { parseArgs } from 'node:util';
import {
  FLAG_OF_SETTING,
  numberFlag,
  startOrExit,
  stopOnSignals,
  usageErrorFor,
} from '../simulator/cli-support.ts';
import { CHAOS_KEYS, GraphSimulatorConfigError, type GraphSimulatorOptions } from './options.ts';
import { startGraphSimulator } from './server.ts';

const USAGE = `usage: npm run graph-simulator -- [flags]

  --port N              TCP port (default 0: a free one)
  --host ADDRESS        address to listen on (default 127.0.0.1)
  --time-scale X        simulated seconds per real second (default 1; 60 = a minute per second)
  --mailboxes A,B,…     mailbox addresses (default: one, user1@contoso.test)
  --mailbox-count N     generate N mailboxes user1@contoso.test … userN@contoso.test
  --change-rate X       automatic changes per simulated minute per mailbox (default 0)
  --chaos               turn every chaos knob on (see docs/graph-simulator.md)
  --seed N              seed of every random choice (default 1)
  --help                this text`;

// Typed out: only an explicitly typed never-returning function ends control flow for tsc.
const usageError: (message: string) => never = usageErrorFor('graph-simulator');
const number = (flag: string, raw: string | undefined, integer: boolean) =>
  numberFlag(usageError, flag, raw, integer);

function parseFlags() {
  try {
    return parseArgs({
      args: process.argv.slice(2),
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'time-scale': { type: 'string' },
        mailboxes: { type: 'string' },
        'mailbox-count': { type: 'string' },
        'change-rate': { type: 'string' },
        chaos: { type: 'boolean' },
        seed: { type: 'string' },
        help: { type: 'boolean' },
      },
    }).values;
  } catch (e) {
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
const mailboxes =
  values.mailboxes !== undefined
    ? values.mailboxes
        .split(',')
        .map((a) => a.trim())
        .filter((a) => a !== '')
    : number('mailbox-count', values['mailbox-count'], true);
const port = number('port', values.port, true);
const timeScale = number('time-scale', values['time-scale'], false);
const changeRate = number('change-rate', values['change-rate'], false);
const seed = number('seed', values.seed, true);
const options: GraphSimulatorOptions = {
  ...(port === undefined ? {} : { port }),
  ...(values.host === undefined ? {} : { host: values.host }),
  ...(timeScale === undefined ? {} : { timeScale }),
  ...(mailboxes === undefined ? {} : { mailboxes }),
  ...(changeRate === undefined ? {} : { changeRate }),
  ...(values.chaos ? { chaosAll: true } : {}),
  ...(seed === undefined ? {} : { seed }),
};

const graph = await startOrExit('graph-simulator', () => startGraphSimulator(options), {
  isConfigError: (e) => e instanceof GraphSimulatorConfigError,
  flagOfSetting: FLAG_OF_SETTING,
  port: options.port,
  usageError,
});

const summary = graph.summary();
const lines = [
  'Microsoft Graph stand-in running',
  `  Graph URL     ${graph.graphUrl}`,
  `  token URL     ${graph.tokenUrl}  (scope ${graph.scope})`,
  `  control API   ${graph.controlUrl}/  (ground truth: ${graph.controlUrl}/changes)`,
  `  tenant id     ${graph.tenantId}`,
];
for (const c of graph.clients)
  lines.push(`  app           id ${c.clientId}  secret ${c.clientSecret}  (${c.roles.join(', ')})`);
const shown = summary.mailboxes.slice(0, 5).join(', ');
lines.push(
  `  mailboxes     ${shown}${summary.mailboxes.length > 5 ? `, … (${summary.mailboxes.length} in all)` : ''}`,
);
lines.push(
  `  time scale    ${summary.timeScale} (one real second is ${summary.timeScale} simulated seconds)`,
);
const chaosOn = CHAOS_KEYS.filter((k) => summary.chaos[k] > 0).map((k) => `${k}=${summary.chaos[k]}`);
lines.push(`  chaos         ${chaosOn.length === 0 ? 'none' : chaosOn.join(' ')}`);
lines.push(`  seed          ${summary.seed}`, 'Press Ctrl-C to stop.', '');
process.stdout.write(lines.join('\n'));

stopOnSignals('graph-simulator', () => graph.stop());
