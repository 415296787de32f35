// `npm run --silent mailboxes -- <add|remove|migrate|show|list> ...`: manage watched mailboxes of a
// deployed stack (through its admin function, with your AWS credentials) or of the local run
// (through its admin endpoint). The operator never needs Exchange credentials: they stay in the
// stack's secret.

import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand, type Output } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  type AdminResponse,
  type MailboxView,
  parseEventTypes,
  parseFolders,
} from '../functions/admin/commands.ts';
import type { MailboxSetup } from '../functions/admin/manage.ts';
import { isEnrichMode, isFieldUri } from '../functions/domain/enrichment.ts';

const USAGE = `usage: npm run --silent mailboxes -- <command> [options]

commands:
  add <mailbox> --connection <name> [--folders <list>] [--events <list>] [--status-frequency <minutes>] [--enrich <mode>] [--enrich-fields <list>]
      --folders           comma-separated well-known folder names (calendar, inbox, ...) and/or
                          id:<EWS folder id>, or "all"                       (default: all)
      --events            comma-separated EWS event types                    (default: all seven)
      --status-frequency  minutes between heartbeats, 1-1440                 (default: 5)
      --enrich            none, default or full: how much of each changed item events carry
                                                                 (default: the deployment's)
      --enrich-fields     comma-separated extra FieldURIs (calendar:MyResponseType, ...)
      --no-wait           return once registered, not once watched (see "show")
                          add waits until the mailbox is watched: the lifecycle takes the baseline
                          of its folders, then subscribes; changes made from then on reach consumers
  remove <mailbox>        stop watching (EWS: the subscription ends at its next push; Graph: its subscriptions are DELETEd)
  migrate <mailbox> --connection <Graph connection>
                          move an EWS mailbox to Microsoft Graph without losing a change
                          (docs/graph-source.md, "Migrating a mailbox from EWS to Graph")
  show <mailbox>          one mailbox, with its health
  list [--all]            watched mailboxes (--all: removed ones too)

target (one of):
  --stack <name>          a deployed stack: its admin function is found in the stack outputs
                          (default: ExchangePushBridge; AWS credentials/region from the environment)
  --function <name>       the admin function, by name or ARN
  --endpoint <url>        the local run's admin endpoint (npm start prints it)

  --json                  print the JSON response instead of text
`;

class UsageError extends Error {}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n\n${USAGE}`);
    return 2;
  }
  const { command, target, json, wait } = parsed;
  const say = json ? () => {} : (step: string) => process.stderr.write(`  ${step}\n`);
  let response: AdminResponse;
  try {
    // Found once: waiting for a new mailbox asks again and again.
    const resolved: Target =
      target.kind === 'stack' ? { kind: 'function', name: await adminFunctionOf(target.name) } : target;
    response = await send(resolved, command, say);
    for (const step of response.progress) say(step);
    if (command.command === 'add' && wait && response.ok)
      response = await untilWatched(resolved, String(command.mailbox), response, say);
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    return 3;
  }
  if (json) {
    process.stdout.write(`${JSON.stringify(response, null, 2)}\n`);
    return response.ok ? 0 : 1;
  }
  if (!response.ok) {
    process.stderr.write(`${response.error.name}: ${response.error.message}\n`);
    return 1;
  }
  const { result } = response;
  process.stdout.write(isList(result) ? table(result) : describe(result));
  return 0;
}

/** Between two looks at a mailbox being set up: the lifecycle's sweep runs every minute. */
const SETUP_POLL_MS = 1000;

/**
 * Asks for the mailbox (`show`) until the lifecycle has taken its baseline and subscribed, saying
 * each new step; answers the last `show`, or the failed attempt as an error.
 */
async function untilWatched(
  target: Target,
  mailbox: string,
  added: AdminResponse & { ok: true },
  say: (step: string) => void,
): Promise<AdminResponse> {
  let response: AdminResponse = added;
  let said = '';
  for (;;) {
    const setup = response.ok ? setupIn(response.result) : undefined;
    // No setup: an admin function from before add waited; it subscribed already.
    if (setup === undefined || setup.kind === 'watched') return response;
    if (setup.kind === 'failed')
      return { ok: false, error: { name: 'MailboxSetupFailedError', message: setup.message }, progress: [] };
    if (said === '') say(`waiting until it is watched (Ctrl-C stops the waiting, not the setup)`);
    if (setup.step !== said) say(setup.step);
    said = setup.step;
    await new Promise((resolve) => setTimeout(resolve, SETUP_POLL_MS));
    response = await send(target, { command: 'show', mailbox }, () => {});
    if (!response.ok) return response;
  }
}

/** The `setup` of a mailbox view, read from the JSON as untrusted input. */
function setupIn(result: unknown): MailboxSetup | undefined {
  const setup: unknown = typeof result === 'object' && result !== null ? Reflect.get(result, 'setup') : null;
  if (typeof setup !== 'object' || setup === null) return undefined;
  const kind: unknown = Reflect.get(setup, 'kind');
  const text: unknown = Reflect.get(setup, kind === 'failed' ? 'message' : 'step');
  if (kind === 'watched') return { kind };
  if (kind === 'settingUp' && typeof text === 'string') return { kind, step: text };
  if (kind === 'failed' && typeof text === 'string') return { kind, message: text };
  return undefined;
}

type Target =
  | { kind: 'stack'; name: string }
  | { kind: 'function'; name: string }
  | { kind: 'endpoint'; url: string };

function parse(argv: string[]): {
  command: Record<string, unknown>;
  target: Target;
  json: boolean;
  wait: boolean;
} {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      connection: { type: 'string' },
      folders: { type: 'string' },
      events: { type: 'string' },
      'status-frequency': { type: 'string' },
      enrich: { type: 'string' },
      'enrich-fields': { type: 'string' },
      all: { type: 'boolean', default: false },
      stack: { type: 'string' },
      function: { type: 'string' },
      endpoint: { type: 'string' },
      json: { type: 'boolean', default: false },
      'no-wait': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) throw new UsageError('');
  const [verb, mailbox, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  const targets = [values.stack, values.function, values.endpoint].filter((t) => t !== undefined);
  if (targets.length > 1) throw new UsageError('give at most one of --stack, --function, --endpoint');
  const target: Target =
    values.endpoint !== undefined
      ? { kind: 'endpoint', url: values.endpoint }
      : values.function !== undefined
        ? { kind: 'function', name: values.function }
        : { kind: 'stack', name: values.stack ?? 'ExchangePushBridge' };
  const needMailbox = () => {
    if (mailbox === undefined) throw new UsageError(`"${verb}" needs a mailbox address`);
    return mailbox;
  };
  switch (verb) {
    case 'add': {
      const command: Record<string, unknown> = { command: 'add', mailbox: needMailbox() };
      if (values.connection === undefined)
        throw new UsageError('"add" needs --connection <name> (see README, "Exchange connections")');
      command.connection = values.connection;
      if (values.folders !== undefined) {
        const list =
          values.folders === 'all'
            ? 'all'
            : values.folders
                .split(',')
                .map((f) => f.trim())
                .map((f) => (f.startsWith('id:') ? { folderId: f.slice(3) } : f));
        const folders = parseFolders(list);
        if (!folders.ok) throw new UsageError(folders.error.message);
        command.folders = folders.value === 'all' ? 'all' : list;
      }
      if (values.events !== undefined) {
        const events = parseEventTypes(values.events.split(',').map((e) => e.trim()));
        if (!events.ok) throw new UsageError(events.error.message);
        command.eventTypes = events.value;
      }
      if (values['status-frequency'] !== undefined) {
        const minutes = Number(values['status-frequency']);
        if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) {
          throw new UsageError(
            `--status-frequency ${JSON.stringify(values['status-frequency'])} must be a whole number of minutes from 1 to 1440`,
          );
        }
        command.statusFrequency = minutes;
      }
      if (values.enrich !== undefined) {
        if (!isEnrichMode(values.enrich))
          throw new UsageError(`--enrich ${JSON.stringify(values.enrich)} must be none, default or full`);
        command.enrich = values.enrich;
      }
      if (values['enrich-fields'] !== undefined) {
        const fields = values['enrich-fields']
          .split(',')
          .map((f) => f.trim())
          .filter((f) => f !== '');
        const bad = fields.find((f) => !isFieldUri(f));
        if (bad !== undefined)
          throw new UsageError(`--enrich-fields: ${JSON.stringify(bad)} is not a FieldURI (item:Name)`);
        command.enrichFields = fields;
      }
      return { command, target, json: values.json, wait: !values['no-wait'] };
    }
    case 'migrate': {
      if (values.connection === undefined)
        throw new UsageError(
          '"migrate" needs --connection <Graph connection> (see README, "Microsoft Graph connections")',
        );
      return {
        command: { command: 'migrate', mailbox: needMailbox(), connection: values.connection },
        target,
        json: values.json,
        wait: false,
      };
    }
    case 'remove':
    case 'show':
      return { command: { command: verb, mailbox: needMailbox() }, target, json: values.json, wait: false };
    case 'list':
      return {
        command: { command: 'list', includeRemoved: values.all },
        target,
        json: values.json,
        wait: false,
      };
    default:
      throw new UsageError(
        verb === undefined ? 'no command given' : `unknown command ${JSON.stringify(verb)}`,
      );
  }
}

async function send(
  target: Target,
  command: Record<string, unknown>,
  progress: (step: string) => void,
): Promise<AdminResponse> {
  if (target.kind === 'endpoint') {
    progress(`sending "${String(command.command)}" to ${target.url}`);
    let reply: Response;
    try {
      reply = await fetch(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(command),
      });
    } catch (e) {
      throw new Error(
        `cannot reach the local run's admin endpoint ${target.url} (${e instanceof Error ? e.message : String(e)}); is \`npm start\` running?`,
      );
    }
    return parseResponse(await reply.text(), target.url);
  }
  const functionName = target.kind === 'function' ? target.name : await adminFunctionOf(target.name);
  progress(`invoking ${functionName}`);
  const lambda = new LambdaClient({});
  const result = await lambda.send(
    new InvokeCommand({ FunctionName: functionName, Payload: Buffer.from(JSON.stringify(command)) }),
  );
  const payload = Buffer.from(result.Payload ?? new Uint8Array()).toString('utf8');
  if (result.FunctionError)
    throw new Error(`the admin function failed (${result.FunctionError}): ${payload.slice(0, 500)}`);
  return parseResponse(payload, functionName);
}

async function adminFunctionOf(stackName: string): Promise<string> {
  const cloudFormation = new CloudFormationClient({});
  let outputs: Output[] | undefined;
  try {
    const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = Stacks?.[0]?.Outputs;
  } catch (e) {
    throw new Error(
      `cannot read stack ${JSON.stringify(stackName)} (${e instanceof Error ? e.message : String(e)}); check AWS credentials and region, or pass --stack/--function`,
    );
  }
  const name = outputs?.find((o) => o.OutputKey?.startsWith('BridgeAdminAdminFunctionName'))?.OutputValue;
  if (name === undefined)
    throw new Error(
      `stack ${JSON.stringify(stackName)} has no AdminFunctionName output; is it an exchange-push-bridge stack?`,
    );
  return name;
}

function parseResponse(text: string, from: string): AdminResponse {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${from} did not answer with JSON: ${text.slice(0, 200)}`);
  }
  if (!isAdminResponse(value))
    throw new Error(`${from} did not answer with an admin response: ${text.slice(0, 200)}`);
  return value;
}

/** The response's outline; the fields inside are only printed, never acted on. */
function isAdminResponse(value: unknown): value is AdminResponse {
  if (typeof value !== 'object' || value === null || !Array.isArray(Reflect.get(value, 'progress')))
    return false;
  const ok: unknown = Reflect.get(value, 'ok');
  if (ok === true) return typeof Reflect.get(value, 'result') === 'object';
  const error: unknown = Reflect.get(value, 'error');
  return (
    ok === false &&
    typeof error === 'object' &&
    error !== null &&
    typeof Reflect.get(error, 'message') === 'string'
  );
}

// Array.isArray does not narrow a readonly array type.
function isList(result: MailboxView | readonly MailboxView[]): result is readonly MailboxView[] {
  return Array.isArray(result);
}

function describe(view: MailboxView): string {
  const lines: Array<[string, string]> = [
    ['mailbox', view.mailbox],
    [
      'state',
      `${view.state}${view.stale ? (view.source === 'graph' ? ' (STALE: no unexpired Graph subscription)' : ' (STALE: no push for more than 2 x StatusFrequency)') : ''}${view.recovery ? ` (recovery requested: ${view.recovery})` : ''}`,
    ],
    ['source', view.source === 'graph' ? 'Microsoft Graph' : 'EWS'],
    [
      'last contact',
      view.lastContactAt === null ? 'never' : `${view.lastContactAt} (${view.secondsSinceContact} s ago)`,
    ],
    ['connection', view.connection],
    [
      'folders',
      view.folders === 'all'
        ? 'all'
        : view.folders
            .map((f) => ('folderId' in f ? `id:${f.folderId}` : f.distinguishedFolderId))
            .join(', '),
    ],
    ['event types', view.eventTypes.join(', ')],
  ];
  const enrichment: [string, string] = [
    'enrichment',
    `${view.enrich ?? "the deployment's default (ENRICH_DEFAULT)"}${view.enrichFields.length > 0 ? `, plus ${view.enrichFields.join(', ')}` : ''}`,
  ];
  if (view.source === 'graph') {
    lines.push(
      enrichment,
      ['generation', String(view.generation)],
      ['expires', view.expiresAt ?? '(no subscription yet)'],
    );
    for (const sub of view.graphSubscriptions ?? []) {
      lines.push([
        `  ${sub.resource}`,
        `${sub.subscriptionId ?? '(none yet)'} (generation ${sub.generation}, expires ${sub.expiresAt ?? '?'}, renewed ${sub.lastRenewedAt ?? 'never'})`,
      ]);
    }
  } else {
    lines.push(
      ['status frequency', `${view.statusFrequency} min`],
      enrichment,
      ['generation', String(view.generation)],
      ['subscription id', view.subscriptionId ?? '(none yet)'],
      ['watermark', view.watermark ?? '(none yet)'],
    );
  }
  lines.push(['renewal attempts', String(view.attempts)]);
  if (view.syncWork)
    lines.push(['folder sync', view.syncWork === 'baseline' ? 'baseline being taken' : 'catch-up pending']);
  for (const folder of view.folderSync ?? []) {
    lines.push([
      `  ${folder.folder}`,
      `${folder.itemsSeen} items${folder.complete ? '' : ' so far'}, SyncState of ${folder.syncStateAt}${folder.checkpointPending ? ' (a newer one waits for proof)' : ''}`,
    ]);
  }
  if (view.nextCheckpointAt) lines.push(['next checkpoint', view.nextCheckpointAt]);
  if (view.nextAttemptAt) lines.push(['next attempt', view.nextAttemptAt]);
  if (view.lastError) lines.push(['last error', view.lastError]);
  lines.push(['mailbox key', view.mailboxKey], ['added', view.createdAt]);
  const width = Math.max(...lines.map(([k]) => k.length));
  return `${lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n`;
}

function table(views: readonly MailboxView[]): string {
  if (views.length === 0)
    return 'no mailboxes are watched; add one with: npm run mailboxes -- add <address> --connection <name>\n';
  const rows = views.map((v) => [
    v.mailbox,
    v.state + (v.stale ? ' STALE' : '') + (v.recovery ? ` (${v.recovery})` : ''),
    v.secondsSinceContact === null ? 'never' : `${v.secondsSinceContact} s ago`,
    String(v.generation),
    v.source === 'graph' ? 'graph' : 'ews',
    v.connection,
    v.expiresAt ?? '-',
  ]);
  const header = ['MAILBOX', 'STATE', 'LAST CONTACT', 'GEN', 'SOURCE', 'CONNECTION', 'EXPIRES'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const format = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return `${[header, ...rows].map(format).join('\n')}\n`;
}

process.exitCode = await main();
