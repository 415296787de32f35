/**
 * The emulators' own process (started by local/emulators.ts with `fork`): dynalite and fauxqs on
 * loopback ports, so their CPU and memory are not the bridge's. A run's profile put them at about
 * a sixth of its one busy event loop (issue 16); here they run beside it, on the other core.
 *
 * Talks to its parent over IPC: it sends `{ kind: 'ready', dynamodbPort, sqsPort }` once both
 * listen (or `{ kind: 'failed', message }`), and stops when told `{ kind: 'stop' }`, answering
 * `{ kind: 'stopped' }` after the database is closed (the files under --data-dir are whole). It
 * exits by itself when its parent goes away (the IPC channel closes), so it never outlives a run.
 */
import type { Server } from 'node:http';
import dynalite from 'dynalite';
import { startFauxqs } from 'fauxqs';

/** What the parent says. */
export type HostCommand = { readonly kind: 'stop' };
/** What the host says. */
export type HostMessage =
  | { readonly kind: 'ready'; readonly dynamodbPort: number; readonly sqsPort: number }
  | { readonly kind: 'failed'; readonly message: string }
  | { readonly kind: 'stopped' };

/** The host's arguments, as JSON in argv[2]. */
export interface HostOptions {
  readonly dataDir?: string;
}

const send = (message: HostMessage) => process.send?.(message);

// Ctrl-C in a terminal signals the whole process group: the run drains and writes its report on
// it, and needs the emulators for that. The parent decides when they stop.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});

let stopping = false;
// A request still under way when the database closes fails inside dynalite ("Database is
// closed"); the run has stopped caring about it by then, and a crash here would lose nothing but
// the clean exit.
process.on('uncaughtException', (error) => {
  if (stopping) return;
  process.stderr.write(`emulators: ${error.stack ?? String(error)}\n`);
  process.exit(1);
});

const options = parseOptions(process.argv[2]);
let dynamo: Server | undefined;
let fauxqs: Awaited<ReturnType<typeof startFauxqs>> | undefined;
try {
  dynamo = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.dataDir ? { path: `${options.dataDir}/dynamodb` } : {}),
  });
  const server = dynamo;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  fauxqs = await startFauxqs({
    port: 0,
    host: '127.0.0.1',
    logger: false,
    ...(options.dataDir ? { dataDir: `${options.dataDir}/sqs` } : {}),
  });
  send({ kind: 'ready', dynamodbPort: portOf(server.address()), sqsPort: fauxqs.port });
} catch (error) {
  send({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}

process.on('message', (command: HostCommand) => {
  if (command.kind === 'stop') void stop().then(() => send({ kind: 'stopped' }));
});
process.on('disconnect', () => void stop().then(() => process.exit(0)));

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  const server = dynamo;
  await fauxqs?.stop().catch(() => {});
  if (server === undefined) return;
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    // Keep-alive sockets of clients that were not destroyed would hold close() open.
    server.closeAllConnections?.();
  });
}

function parseOptions(raw: string | undefined): HostOptions {
  const parsed: unknown = JSON.parse(raw ?? '{}');
  if (typeof parsed !== 'object' || parsed === null)
    throw new Error(`emulator host: expected a JSON object of options, got ${raw}`);
  const dataDir = Reflect.get(parsed, 'dataDir');
  if (dataDir !== undefined && typeof dataDir !== 'string')
    throw new Error(`emulator host: dataDir must be a string, got ${JSON.stringify(dataDir)}`);
  return dataDir === undefined ? {} : { dataDir };
}

function portOf(address: ReturnType<Server['address']>): number {
  if (address === null || typeof address === 'string')
    throw new Error(`dynalite is not listening on a TCP port (${address})`);
  return address.port;
}
