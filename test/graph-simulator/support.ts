/**
 * Helpers for the Graph stand-in's tests: a webhook that answers validation requests and
 * notifications as told (on the stand-in's clock, so "slow" means simulated seconds, never real
 * ones), a Graph client with a token, and waiting for real I/O without asserting on time.
 */
import http from 'node:http';
import {
  type GraphSimulator,
  type GraphSimulatorOptions,
  startGraphSimulator,
} from '../../graph-simulator/server.ts';
import { type SteppedClock, steppedClock } from '../support/stepped-clock.ts';

export interface WebhookRequest {
  /** Simulated time it arrived. */
  readonly at: number;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly contentType: string;
  readonly body: string;
  /** The `value` array of a notification POST (empty for a validation request). */
  readonly value: readonly Record<string, unknown>[];
}

/** How the webhook answers one request. */
export type Answer =
  | 'ok'
  /** 200 text/plain with the token still URL-encoded (a classic mistake). */
  | 'encoded-token'
  /** 200 with the token as application/json. */
  | 'json-token'
  | 'hang'
  | { readonly status: number }
  /** 202 after this many simulated ms (the test advances the clock). */
  | { readonly afterMs: number };

export interface Webhook {
  readonly url: string;
  readonly requests: WebhookRequest[];
  validations(): WebhookRequest[];
  notifications(path?: string): WebhookRequest[];
  answerWith(policy: (request: WebhookRequest) => Answer): void;
  close(): Promise<void>;
}

export async function startWebhook(clock: SteppedClock): Promise<Webhook> {
  const requests: WebhookRequest[] = [];
  let policy: (request: WebhookRequest) => Answer = () => 'ok';
  const server = http.createServer((incoming, response) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (c: Buffer) => chunks.push(c));
    incoming.on('end', () => {
      const url = new URL(incoming.url ?? '/', 'http://localhost');
      const body = Buffer.concat(chunks).toString('utf8');
      let value: Record<string, unknown>[] = [];
      if (body !== '') {
        const parsed: unknown = JSON.parse(body);
        const items: unknown =
          typeof parsed === 'object' && parsed !== null ? Reflect.get(parsed, 'value') : [];
        value = Array.isArray(items)
          ? items.filter((i): i is Record<string, unknown> => typeof i === 'object' && i !== null)
          : [];
      }
      const request: WebhookRequest = {
        at: clock.now(),
        path: url.pathname,
        query: url.searchParams,
        contentType: incoming.headers['content-type'] ?? '',
        body,
        value,
      };
      requests.push(request);
      const token = url.searchParams.get('validationToken');
      const answer = policy(request);
      const reply = () => {
        if (token !== null) {
          if (answer === 'json-token') {
            response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(token));
          } else {
            const text = answer === 'encoded-token' ? encodeURIComponent(token) : token;
            response.writeHead(200, { 'Content-Type': 'text/plain' }).end(text);
          }
        } else response.writeHead(202).end();
      };
      if (answer === 'hang') return;
      if (typeof answer === 'object' && 'status' in answer) response.writeHead(answer.status).end();
      else if (typeof answer === 'object') void clock.sleep(answer.afterMs).then(reply);
      else reply();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('webhook has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    validations: () => requests.filter((r) => r.query.has('validationToken')),
    notifications: (path) =>
      requests.filter((r) => !r.query.has('validationToken') && (path === undefined || r.path === path)),
    answerWith(p) {
      policy = p;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Waits (in real time, without asserting on it) until `condition` holds. */
export async function until(condition: () => boolean, what = 'the condition'): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`gave up waiting for ${what}`);
}

export interface GraphResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly json: Record<string, unknown>;
}

export interface Harness {
  readonly clock: SteppedClock;
  readonly graph: GraphSimulator;
  readonly webhook: Webhook;
  /** A token of the app with Mail.Read and Calendars.Read (or the mail-only app). */
  token(app?: 'full' | 'mail-only'): Promise<string>;
  call(
    method: string,
    path: string,
    options?: { body?: unknown; headers?: Record<string, string>; app?: 'full' | 'mail-only' },
  ): Promise<GraphResponse>;
  /** Creates a subscription and expects 201; `lifecycle` adds the lifecycle URL. */
  subscribe(
    resource: string,
    extra?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<string>;
  /** An expirationDateTime `minutes` from the simulated now. */
  expiry(minutes: number): string;
  /** Advances the clock and waits until every POST the stand-in started has been recorded. */
  advance(ms: number): Promise<void>;
  settle(): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(options: GraphSimulatorOptions = {}): Promise<Harness> {
  const clock = steppedClock();
  const graph = await startGraphSimulator({ clock, ...options });
  const webhook = await startWebhook(clock);
  const tokens = new Map<string, { value: string; expiresAt: number }>();
  const token = async (app: 'full' | 'mail-only' = 'full') => {
    const cached = tokens.get(app);
    if (cached !== undefined && cached.expiresAt > clock.now()) return cached.value;
    const client = graph.clients[app === 'full' ? 0 : 1];
    if (client === undefined) throw new Error('no such client');
    const { value, lifetime } = await fetchToken(graph, client);
    // Refresh as a client would: the token lives on the stand-in's (stepped) clock.
    tokens.set(app, { value, expiresAt: clock.now() + lifetime * 1000 });
    return value;
  };
  const call: Harness['call'] = async (method, path, options = {}) => {
    const response = await fetch(path.startsWith('http') ? path : `${graph.graphUrl}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${await token(options.app)}`,
        ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...options.headers,
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    const text = await response.text();
    const parsed: unknown = text === '' ? {} : JSON.parse(text);
    const json =
      typeof parsed === 'object' && parsed !== null ? Object.fromEntries(Object.entries(parsed)) : {};
    return { status: response.status, headers: response.headers, json };
  };
  const expiry = (minutes: number) => new Date(clock.now() + minutes * 60_000).toISOString();
  const settle = () =>
    until(() => graph.pendingRequests() === 0, 'every POST of the stand-in to be answered');
  return {
    clock,
    graph,
    webhook,
    token,
    call,
    expiry,
    async subscribe(resource, extra = {}, headers = {}) {
      const created = await call('POST', '/subscriptions', {
        body: {
          changeType: 'created,updated,deleted',
          notificationUrl: `${webhook.url}/notify`,
          resource,
          expirationDateTime: expiry(60 * 24),
          clientState: 'secret-client-state',
          ...extra,
        },
        headers,
      });
      if (created.status !== 201)
        throw new Error(`subscribe answered ${created.status}: ${JSON.stringify(created.json)}`);
      const id = created.json.id;
      if (typeof id !== 'string') throw new Error('no id');
      return id;
    },
    async advance(ms) {
      clock.advance(ms);
      await new Promise((resolve) => setTimeout(resolve, 0));
      await settle();
    },
    settle,
    async close() {
      await graph.stop();
      await webhook.close();
    },
  };
}

/** A client-credentials token from the stand-in, and its lifetime in (simulated) seconds. */
export async function fetchToken(
  graph: GraphSimulator,
  client: { clientId: string; clientSecret: string },
): Promise<{ value: string; lifetime: number }> {
  const response = await fetch(graph.tokenUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: client.clientId,
      client_secret: client.clientSecret,
      scope: graph.scope,
    }).toString(),
  });
  const body: unknown = await response.json();
  const value: unknown =
    typeof body === 'object' && body !== null ? Reflect.get(body, 'access_token') : undefined;
  const lifetime: unknown =
    typeof body === 'object' && body !== null ? Reflect.get(body, 'expires_in') : undefined;
  if (typeof value !== 'string' || typeof lifetime !== 'number')
    throw new Error(`no token: ${JSON.stringify(body)}`);
  return { value, lifetime };
}

export function text(value: unknown): string {
  if (typeof value !== 'string') throw new Error(`expected a string, got ${JSON.stringify(value)}`);
  return value;
}

export function record(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`expected an object, got ${JSON.stringify(value)}`);
  }
  return Object.fromEntries(Object.entries(value));
}

export function list(value: unknown): Record<string, unknown>[] {
  if (!Array.isArray(value)) throw new Error(`expected an array, got ${JSON.stringify(value)}`);
  return value.map(record);
}
