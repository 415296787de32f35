/**
 * The EWS simulator: a faithful stand-in for Exchange's push notifications, for the local run and
 * the tests. It serves EWS (Subscribe with push, GetItem, SyncFolderItems, FindFolder, GetFolder,
 * ConvertId) on `/EWS/Exchange.asmx`, an OAuth2 token endpoint, and the `/_sim/` control and
 * ground-truth API, and pushes SendNotification to callback URLs with Exchange's batching,
 * heartbeats, retry schedule and silent drops. It runs entirely on one Clock, so it can share time with the bridge.
 *
 * In-process API:
 *
 * ```ts
 * import { startSimulator } from '../simulator/server.ts';
 * const sim = await startSimulator({
 *   port: 0,                  // 0 = a free port (default)
 *   host: '127.0.0.1',        // default
 *   clock,                    // a Clock to share with the bridge; or timeScale (default 1)
 *   auth: 'none',             // 'none' | 'basic' | 'oauth' (default 'none')
 *   mailboxes: 3,             // or ['ada@contoso.test', …]; a count gives user1@contoso.test, … (default 1)
 *   changeRate: 0,            // automatic changes per simulated minute per mailbox (default 0)
 *   chaos: false, faults: {}, // fault settings (see FaultSettings in faults.ts)
 *   seed: 1,                  // every random choice derives from it (default 1)
 *   credentials: { basic: [{ username, password }], oauth: [{ clientId, clientSecret }] }, // default DEFAULT_CREDENTIALS
 * });
 * sim.url; sim.ewsUrl; sim.tokenUrl; sim.controlUrl; sim.clock; sim.credentials; sim.mailboxAddresses;
 * sim.makeChange({ mailbox, kind?, folder?, toFolder?, itemId?, calendarActivity?, item? })
 *                                               // → ChangeRecord (the ground truth entry)
 * sim.dropSubscription(subscriptionId)          // → SubscriptionView (lost silently)
 * sim.moveMailbox(mailbox)                      // → MailboxMove (subscriptions lost, watermarks invalid)
 * sim.massLoss({ count } | { fraction } | {})   // → MassLoss: that many mailboxes moved at once
 * sim.massLosses()                              // → every MassLoss so far, in order
 * sim.setFaults({ serverBusyRate: 1 })          // → FaultSettings now in force
 * sim.faults(); sim.changes({ mailbox?, after? }); sim.subscriptions({ mailbox? });
 * sim.deliveries({ subscriptionId?, after? }); sim.summary();
 * sim.mailboxes()   // each mailbox's folders by name, with their FolderIds; the custom folder
 *                   // ("Projects", reachable by FolderId only) is folders.projects
 * await sim.stop();                             // closes the server, cancels every timer and push
 * ```
 *
 * The methods throw SimulatorInputError for an unknown mailbox, subscription, kind or folder, and
 * SimulatorConfigError (from startSimulator) for bad options. Given the same seed and the same
 * requests in the same order, the simulator makes the same choices; only the wall clock's jitter
 * (which request or timer comes first) can make two runs differ.
 */
import http from 'node:http';
import { Activity } from './activity.ts';
import { CONTROL_API_VERSION, type MailboxMove, type Simulator } from './api.ts';
import { Authenticator } from './auth.ts';
import { handleControl } from './control-api.ts';
import { EwsService, type HttpAnswer } from './ews-service.ts';
import type { FaultSettings } from './faults.ts';
import { parseFaultSettings } from './faults.ts';
import { SimulatorInputError } from './input-error.ts';
import { MailboxStore } from './mailbox-store.ts';
import { MassLosses, parseMassLossRequest } from './mass-loss.ts';
import { resolveOptions, type SimulatorOptions } from './options.ts';
import { PushEngine } from './push-engine.ts';
import { createIdMinter, createRandom } from './random.ts';
import { Timers } from './timers.ts';

export {
  CONTROL_API_VERSION,
  type MailboxMove,
  type MailboxSummary,
  type Simulator,
  type SimulatorSummary,
} from './api.ts';
export { SimulatorInputError } from './input-error.ts';
export type { MassLoss } from './mass-loss.ts';
export type { SimulatorOptions } from './options.ts';
export { SimulatorConfigError } from './options.ts';

/** Largest request body accepted on any path. */
const MAX_BODY_BYTES = 2 * 1024 * 1024;

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const config = resolveOptions(options);
  const { clock } = config;
  const timers = new Timers(clock);
  const ids = createIdMinter(createRandom(config.seed, 'ids'));
  let faults: FaultSettings = config.faults;
  const currentFaults = () => faults;
  const faultRandom = createRandom(config.seed, 'faults');

  const store = new MailboxStore({
    clock,
    addresses: config.mailboxes,
    initialItems: config.initialItems,
    random: createRandom(config.seed, 'mailboxes'),
    details: createRandom(config.seed, 'details'),
    ids,
    controlCharacterRate: () => faults.controlCharacterRate,
  });
  const engine = new PushEngine({
    clock,
    store,
    timers,
    ids,
    random: faultRandom,
    faults: currentFaults,
    pushTimeoutMs: config.pushTimeoutMs,
    minPushTimeoutRealMs: config.minPushTimeoutRealMs,
  });
  const service = new EwsService({
    store,
    engine,
    faults: currentFaults,
    random: faultRandom,
    maxSubscriptionsPerMailbox: config.maxSubscriptionsPerMailbox,
  });

  const moveMailboxLosing = (
    mailbox: string,
    reason: string,
  ): { moved: MailboxMove; subscriptionIds: string[] } => {
    const moved = store.moveMailbox(mailbox, faults.mailboxMoveDurationMs);
    // Subscriptions live on the mailbox's server: a move loses them without a word (§5).
    return { moved, subscriptionIds: engine.loseMailbox(moved.mailbox, reason) };
  };
  const moveMailbox = (mailbox: string): MailboxMove =>
    moveMailboxLosing(mailbox, 'the mailbox moved to another database').moved;
  const massLosses = new MassLosses({
    clock,
    random: createRandom(config.seed, 'mass-loss'),
    addresses: () => store.addresses(),
    isMoving: (mailbox) => store.isMoving(mailbox),
    move: (mailbox, reason) => moveMailboxLosing(mailbox, reason).subscriptionIds,
  });

  const server = http.createServer();
  const { url, hostPort } = await listen(server, config.port, config.host, 'the simulator server');

  const auth = new Authenticator({
    mode: config.auth,
    credentials: config.credentials,
    clock,
    ids,
    tenant: config.tenant,
    tokenLifetimeSeconds: config.tokenLifetimeSeconds,
    host: hostPort,
  });

  let stopping: Promise<void> | undefined;
  // Assigned once the simulator object exists (the activity moves mailboxes through it).
  let activity: Activity | undefined;
  const sim: Simulator = {
    url,
    ewsUrl: `${url}/EWS/Exchange.asmx`,
    tokenUrl: `${url}/${config.tenant}/oauth2/v2.0/token`,
    controlUrl: `${url}/_sim`,
    clock,
    auth: config.auth,
    credentials: config.credentials,
    seed: config.seed,
    mailboxAddresses: store.addresses(),
    makeChange: (request) => store.makeChange(request),
    dropSubscription(subscriptionId) {
      const dropped = engine.lose(subscriptionId, 'dropSubscription (the control API)');
      if (dropped === undefined) {
        throw new SimulatorInputError(
          `subscription ${JSON.stringify(subscriptionId)} does not exist; see subscriptions()`,
          {
            notFound: true,
          },
        );
      }
      return dropped;
    },
    moveMailbox,
    massLoss(request = {}) {
      const parsed = parseMassLossRequest(request, faults.massLossFraction);
      if (!parsed.ok) throw new SimulatorInputError(parsed.error);
      return massLosses.trigger(parsed.value, 'the control API');
    },
    massLosses: () => massLosses.list(),
    setFaults(update) {
      const parsed = parseFaultSettings(update);
      if (!parsed.ok) throw new SimulatorInputError(parsed.error);
      faults = { ...faults, ...parsed.value };
      return faults;
    },
    faults: currentFaults,
    setChangeRate(changeRate) {
      if (!Number.isFinite(changeRate) || changeRate < 0) {
        throw new SimulatorInputError(
          `change rate ${changeRate} must be a number of at least 0 (changes per simulated minute per mailbox)`,
        );
      }
      activity?.setChangeRate(changeRate);
    },
    changes: (filter) => store.changes(filter),
    subscriptions(filter) {
      if (filter?.mailbox === undefined) return engine.subscriptions();
      const mailbox = store.mailboxAddress(filter.mailbox);
      return mailbox === undefined ? [] : engine.subscriptions({ mailbox });
    },
    deliveries: (filter) => engine.deliveries(filter),
    mailboxes: () => store.describeMailboxes(),
    summary: () => ({
      apiVersion: CONTROL_API_VERSION,
      url,
      ewsUrl: sim.ewsUrl,
      tokenUrl: sim.tokenUrl,
      auth: config.auth,
      timeScale: clock.timeScale,
      now: new Date(clock.now()).toISOString(),
      seed: config.seed,
      mailboxes: store.addresses(),
      faults,
    }),
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        timers.cancelAll();
        engine.stop();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopping;
    },
  };

  server.on('request', (request, response) => {
    readBody(request, MAX_BODY_BYTES).then(
      (body) => {
        let answer: HttpAnswer;
        try {
          answer = route(request, body);
        } catch (e) {
          // A bug in the simulator: say so plainly rather than leave the client hanging.
          answer = {
            status: 500,
            headers: { 'Content-Type': 'text/plain; charset=utf-8' },
            body: `EWS simulator internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
          };
        }
        send(response, answer);
      },
      () =>
        send(response, {
          status: 413,
          headers: { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' },
          body: `request bodies are limited to ${MAX_BODY_BYTES} bytes\n`,
        }),
    );
  });

  const route = (request: http.IncomingMessage, body: Buffer): HttpAnswer => {
    const method = request.method ?? 'GET';
    const target = new URL(request.url ?? '/', url);
    const path = target.pathname;
    if (path.toLowerCase() === '/ews/exchange.asmx') {
      if (method !== 'POST') {
        return {
          status: 405,
          headers: { Allow: 'POST', 'Content-Type': 'text/plain' },
          body: 'EWS takes SOAP requests by POST\n',
        };
      }
      const authenticated = auth.authenticate(request.headers);
      if (!authenticated.ok) return { status: 401, headers: authenticated.headers, body: '' };
      const contentType = request.headers['content-type'] ?? '';
      if (!/^text\/xml\b/i.test(contentType)) {
        // IIS/WCF's answer to any other media type; the simulator speaks SOAP 1.1 only.
        return {
          status: 415,
          headers: { 'Content-Type': 'text/plain' },
          body: `Cannot process the message because the content type ${JSON.stringify(contentType)} was not the expected type 'text/xml; charset=utf-8'.\n`,
        };
      }
      const anchor = request.headers['x-anchormailbox'];
      return service.handle({
        identity: authenticated.identity,
        anchorMailbox: typeof anchor === 'string' && anchor !== '' ? anchor : null,
        body,
      });
    }
    const token = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(path);
    if (token?.[1] !== undefined) {
      if (method !== 'POST') {
        return jsonAnswer(400, {
          error: 'invalid_request',
          error_description: 'AADSTS900561: The endpoint only accepts POST requests.',
          error_codes: [900561],
        });
      }
      const issued = auth.issueToken(
        token[1],
        request.headers['content-type'] ?? '',
        body.toString('utf8'),
        request.headers.authorization ?? '',
      );
      return jsonAnswer(issued.status, issued.body);
    }
    if (path === '/_sim' || path.startsWith('/_sim/'))
      return handleControl(sim, method, target, body.toString('utf8'));
    return {
      status: 404,
      headers: { 'Content-Type': 'text/plain' },
      body: `Not found: ${path}. EWS is at /EWS/Exchange.asmx, the control API at /_sim/.\n`,
    };
  };

  activity = new Activity({
    clock,
    timers,
    store,
    engine,
    faults: currentFaults,
    changeRandom: createRandom(config.seed, 'changes'),
    faultRandom,
    changeRate: config.changeRate,
    moveMailbox: (mailbox) => {
      moveMailbox(mailbox);
    },
    massLoss: (fraction) => {
      massLosses.trigger({ fraction }, 'the massLossPerHour fault');
    },
    massLossRandom: createRandom(config.seed, 'mass-loss-times'),
  });
  activity.start();

  return sim;
}

/** Listens on host and port (0: a free one); resolves to `http://host:port` and `host:port`. */
export async function listen(
  server: http.Server,
  port: number,
  host: string,
  what: string,
): Promise<{ url: string; hostPort: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error(`${what} has no TCP address`);
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { url: `http://${hostForUrl}:${address.port}`, hostPort: `${hostForUrl}:${address.port}` };
}

export function jsonAnswer(status: number, value: unknown): HttpAnswer {
  return {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8' },
    body: JSON.stringify(value),
  };
}

export function send(response: http.ServerResponse, answer: HttpAnswer): void {
  const payload = Buffer.from(answer.body, 'utf8');
  response.writeHead(answer.status, { ...answer.headers, 'Content-Length': payload.byteLength });
  response.end(payload);
}

export function readBody(request: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > limit) {
        request.removeAllListeners('data');
        request.resume();
        reject(new Error('too large'));
      } else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}
