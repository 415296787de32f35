/**
 * The Microsoft Graph stand-in: Outlook change notifications, subscriptions, delta queries and the
 * token endpoint, as faithful as the EWS simulator is to Exchange, on the same kind of scaled clock,
 * with a ground truth and a control API (`/_graph-sim/`). docs/graph-simulator.md has the whole
 * contract and the Learn page behind each behaviour.
 *
 * ```ts
 * import { startGraphSimulator } from '../graph-simulator/server.ts';
 * const graph = await startGraphSimulator({ clock, mailboxes: 3, changeRate: 1, seed: 1 });
 * graph.url; graph.graphUrl; graph.tokenUrl; graph.controlUrl; graph.tenantId; graph.clients;
 * graph.makeChange({ mailbox, itemType?, kind?, folder?, toFolder?, itemId?, recurring? });
 * graph.removeSubscription(id); graph.missNotifications(id, count?); graph.requireReauthorization(id);
 * graph.expireDeltaTokens(mailbox); graph.throttle(mailbox, forMs); graph.setChaos({...}); graph.setRules({...});
 * graph.changes(); graph.subscriptions(); graph.deliveries(); graph.losses(); graph.validations(); graph.endpoints();
 * await graph.stop();
 * ```
 */
import http from 'node:http';
import { Authenticator } from '../simulator/auth.ts';
import type { HttpAnswer } from '../simulator/ews-service.ts';
import { createIdMinter, createRandom, type Random } from '../simulator/random.ts';
import { jsonAnswer, listen, readBody, send } from '../simulator/server.ts';
import { Timers } from '../simulator/timers.ts';
import type { GraphSimulator } from './api.ts';
import { handleGraphControl } from './control-api.ts';
import { Delivery } from './delivery.ts';
import { DeltaQueries } from './delta.ts';
import { GraphApi } from './graph-api.ts';
import { guid } from './guid.ts';
import { GraphMailboxStore, GraphSimulatorInputError } from './mailbox-store.ts';
import {
  GRAPH_SCOPE,
  type GraphChaosSettings,
  type GraphSimulatorOptions,
  parseChaosSettings,
  parseRules,
  resolveGraphOptions,
} from './options.ts';
import { GraphApiError, Subscriptions } from './subscriptions.ts';

export type { GraphSimulator, GraphSimulatorSummary } from './api.ts';
export { GraphSimulatorInputError } from './mailbox-store.ts';
export { GraphSimulatorConfigError, type GraphSimulatorOptions } from './options.ts';

const MAX_BODY_BYTES = 1024 * 1024;
/** How often the per-hour chaos knobs are drawn (a Poisson process sampled once a simulated minute). */
const CHAOS_TICK_MS = 60_000;

export async function startGraphSimulator(options: GraphSimulatorOptions = {}): Promise<GraphSimulator> {
  const config = resolveGraphOptions(options);
  const { clock } = config;
  const timers = new Timers(clock);
  const ids = createIdMinter(createRandom(config.seed, 'graph-ids'));
  const chaosRandom = createRandom(config.seed, 'graph-chaos');
  let chaos = config.chaos;
  let rules = config.rules;
  const tenantId = guid(createRandom(config.seed, `graph-tenant/${config.tenant}`));

  const store = new GraphMailboxStore({
    clock,
    ids,
    random: createRandom(config.seed, 'graph-mailboxes'),
    addresses: config.mailboxes,
    seedItems: config.seedItems,
  });
  let subscriptions: Subscriptions | undefined;
  const delivery = new Delivery({
    clock,
    timers,
    random: chaosRandom,
    maxBatchSize: config.maxBatchSize,
    minAnswerWindowRealMs: config.minAnswerWindowRealMs,
    throttleMinAnswers: () => rules.throttleMinAnswers,
    slowDeliveryRate: () => chaos.slowDeliveryRate,
    slowDeliveryDelayMs: config.slowDeliveryDelayMs,
    retryLimitMs: config.notificationRetryLimitMs,
    onLoss: (loss) => subscriptions?.lossHappened(loss.subscriptionId, loss.reason),
  });
  subscriptions = new Subscriptions({
    clock,
    timers,
    random: createRandom(config.seed, 'graph-subscriptions'),
    store,
    delivery,
    rules: () => rules,
    tenantId,
    notificationDelayMs: config.notificationDelayMs,
    reauthorizationGraceMs: config.reauthorizationGraceMs,
  });
  const subs = subscriptions;
  const delta = new DeltaQueries({
    clock,
    random: createRandom(config.seed, 'graph-delta'),
    store,
    tokenLifetimeMs: config.deltaTokenLifetimeMs,
  });

  const server = http.createServer();
  const { url, hostPort } = await listen(server, config.port, config.host, 'the Graph stand-in');

  const auth = new Authenticator({
    mode: 'oauth',
    credentials: {
      basic: [],
      oauth: config.clients.map((c) => ({ clientId: c.clientId, clientSecret: c.clientSecret })),
    },
    clock,
    ids,
    tenant: config.tenant,
    tokenLifetimeSeconds: config.tokenLifetimeSeconds,
    host: hostPort,
    scope: GRAPH_SCOPE,
  });
  const api = new GraphApi({
    clock,
    random: chaosRandom,
    auth,
    clients: config.clients,
    store,
    subscriptions: subs,
    delivery,
    delta,
    chaos: () => chaos,
    rules: () => rules,
    baseUrl: () => url,
    requestLatencyMs: config.requestLatencyMs,
    throttleRetryAfterSeconds: config.throttleRetryAfterSeconds,
  });

  const mailboxAddress = (mailbox: string): string => {
    const found = store.find(mailbox);
    if (found === undefined) {
      throw new GraphSimulatorInputError(
        `mailbox ${JSON.stringify(mailbox)} does not exist; see GET /_graph-sim/mailboxes`,
        {
          notFound: true,
        },
      );
    }
    return found.address;
  };
  const controlled = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      // The subscriptions speak Graph's errors; the control API speaks its own.
      if (e instanceof GraphApiError) throw new GraphSimulatorInputError(e.message, { notFound: true });
      throw e;
    }
  };

  let changeRate = config.changeRate;
  let changePlan = 0;
  let stopping: Promise<void> | undefined;
  const graph: GraphSimulator = {
    url,
    graphUrl: `${url}/v1.0`,
    tokenUrl: `${url}/${config.tenant}/oauth2/v2.0/token`,
    controlUrl: `${url}/_graph-sim`,
    scope: GRAPH_SCOPE,
    tenantId,
    clock,
    clients: config.clients,
    mailboxAddresses: store.addresses(),
    makeChange: (request) => store.makeChange(request),
    removeSubscription: (id) => controlled(() => subs.remove(id, 'removeSubscription (the control API)')),
    missNotifications: (id, count = 0) => controlled(() => subs.miss(id, count)),
    requireReauthorization: (id) => controlled(() => subs.challenge(id)),
    expireDeltaTokens(mailbox) {
      const address = mailboxAddress(mailbox);
      return { mailbox: address, tokens: delta.expireTokens(address) };
    },
    throttle(mailbox, forMs) {
      const address = mailboxAddress(mailbox);
      if (!Number.isFinite(forMs) || forMs < 0) {
        throw new GraphSimulatorInputError(
          `throttle for ${forMs} ms: give a number of simulated milliseconds of at least 0`,
        );
      }
      const until = clock.now() + forMs;
      api.throttle(address, until);
      return { mailbox: address, until };
    },
    setChaos(update) {
      const parsed = parseChaosSettings(update);
      if (!parsed.ok) throw new GraphSimulatorInputError(parsed.error);
      chaos = { ...chaos, ...parsed.value };
      return chaos;
    },
    setRules(update) {
      const parsed = parseRules(update);
      if (!parsed.ok) throw new GraphSimulatorInputError(parsed.error);
      rules = { ...rules, ...parsed.value };
      return rules;
    },
    setChangeRate(rate) {
      if (!Number.isFinite(rate) || rate < 0) {
        throw new GraphSimulatorInputError(
          `change rate ${rate} must be a number of at least 0 (changes per simulated minute per mailbox)`,
        );
      }
      changeRate = rate;
      changePlan++;
      scheduleChanges(clock.now(), changePlan);
    },
    chaos: () => chaos,
    rules: () => rules,
    changes: (filter) => store.changes(filter),
    subscriptions: (filter) => subs.all(filter),
    deliveries: (filter) => delivery.deliveries(filter),
    losses: (filter) => delivery.losses(filter),
    validations: () => delivery.validations(),
    endpoints: () => delivery.endpoints(),
    pendingRequests: () => delivery.pendingRequests(),
    mailboxes: () => store.describeMailboxes(),
    summary: () => ({
      url,
      graphUrl: graph.graphUrl,
      tokenUrl: graph.tokenUrl,
      tenant: config.tenant,
      tenantId,
      timeScale: clock.timeScale,
      now: new Date(clock.now()).toISOString(),
      seed: config.seed,
      mailboxes: store.addresses(),
      changeRate,
      chaos,
      rules,
    }),
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        timers.cancelAll();
        subs.stop();
        delivery.stop();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopping;
    },
  };

  server.on('request', (request, response) => {
    readBody(request, MAX_BODY_BYTES).then(
      (body) =>
        route(request, body.toString('utf8')).then(
          (answer) => send(response, answer),
          (e: unknown) =>
            send(response, {
              status: 500,
              headers: { 'Content-Type': 'text/plain; charset=utf-8' },
              body: `Graph stand-in internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
            }),
        ),
      () =>
        send(
          response,
          jsonAnswer(413, {
            error: {
              code: 'RequestEntityTooLarge',
              message: `bodies are limited to ${MAX_BODY_BYTES} bytes`,
            },
          }),
        ),
    );
  });

  const route = async (request: http.IncomingMessage, body: string): Promise<HttpAnswer> => {
    const method = request.method ?? 'GET';
    const target = new URL(request.url ?? '/', url);
    const path = target.pathname;
    const token = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(path);
    if (token?.[1] !== undefined) {
      if (method !== 'POST')
        return jsonAnswer(405, {
          error: 'invalid_request',
          error_description: 'The token endpoint takes POST.',
        });
      const issued = auth.issueToken(
        token[1],
        request.headers['content-type'] ?? '',
        body,
        request.headers.authorization ?? '',
      );
      return jsonAnswer(issued.status, issued.body);
    }
    if (path === '/v1.0' || path.startsWith('/v1.0/')) {
      return api.handle({ method, url: target, headers: request.headers, body });
    }
    if (path === '/_graph-sim' || path.startsWith('/_graph-sim/'))
      return handleGraphControl(graph, method, target, body);
    return {
      status: 404,
      headers: { 'Content-Type': 'text/plain' },
      body: `Not found: ${path}. Graph is at /v1.0/, tokens at /{tenant}/oauth2/v2.0/token, the control API at /_graph-sim/.\n`,
    };
  };

  // ---- the simulated world on its own: changes and chaos ------------------------------------------

  const changeRandom = createRandom(config.seed, 'graph-changes');
  /** One Poisson process for all mailboxes; a late timer makes every change that was due. */
  const scheduleChanges = (from: number, plan: number): void => {
    const addresses = store.addresses();
    if (changeRate <= 0 || addresses.length === 0) return;
    const meanGapMs = 60_000 / (changeRate * addresses.length);
    const arm = (due: number) =>
      timers.at(due, () => {
        if (plan !== changePlan) return;
        let next = due;
        while (next <= clock.now()) {
          const mailbox = addresses[changeRandom.int(addresses.length)];
          if (mailbox !== undefined) store.makeChange({ mailbox });
          next += changeRandom.exponential(meanGapMs);
        }
        arm(next);
      });
    arm(from + changeRandom.exponential(meanGapMs));
  };
  const chaosTick = (at: number): void => {
    drawChaos(chaosRandom, chaos, subs, delta, store.addresses());
    timers.at(at + CHAOS_TICK_MS, () => chaosTick(at + CHAOS_TICK_MS));
  };
  scheduleChanges(clock.now(), changePlan);
  timers.at(clock.now() + CHAOS_TICK_MS, () => chaosTick(clock.now()));

  return graph;
}

function drawChaos(
  random: Random,
  chaos: GraphChaosSettings,
  subs: Subscriptions,
  delta: DeltaQueries,
  mailboxes: readonly string[],
): void {
  // P(at least one arrival in a tick) for a Poisson process with the given hourly rate.
  const perTick = (perHour: number) => 1 - Math.exp(-(perHour * CHAOS_TICK_MS) / 3_600_000);
  for (const id of subs.activeIds()) {
    if (random.chance(perTick(chaos.subscriptionRemovedPerHour)))
      subs.remove(id, 'subscriptionRemovedPerHour chaos');
    else if (random.chance(perTick(chaos.missedPerHour))) subs.miss(id, 0);
    else if (random.chance(perTick(chaos.reauthorizationPerHour))) subs.challenge(id);
  }
  for (const mailbox of mailboxes) {
    if (random.chance(perTick(chaos.deltaTokenExpiryPerHour))) delta.expireTokens(mailbox);
  }
}
