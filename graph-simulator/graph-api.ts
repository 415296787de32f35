/**
 * The Graph HTTP API the stand-in answers under `/v1.0/`: subscriptions, mail folders, messages,
 * events and the two delta queries, with Graph's authentication, application permissions, JSON
 * error shape and Outlook throttling (Learn, "Microsoft Graph service-specific throttling limits",
 * Outlook: 4 concurrent requests and 10,000 requests per 10 minutes per app per mailbox; 429 with
 * `Retry-After`).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Clock } from '../functions/core/clock.ts';
import { showValue } from '../functions/core/show.ts';
import type { Authenticator } from '../simulator/auth.ts';
import type { HttpAnswer } from '../simulator/ews-service.ts';
import type { Random } from '../simulator/random.ts';
import type { Delivery } from './delivery.ts';
import { DEFAULT_PAGE_SIZE, type DeltaQueries, type DeltaScope } from './delta.ts';
import { guid } from './guid.ts';
import type { GraphMailboxStore, IdType, Mailbox } from './mailbox-store.ts';
import type { GraphChaosSettings, GraphClient, GraphPermission, GraphRules } from './options.ts';
import {
  CHANGE_TYPES,
  type ChangeType,
  GraphApiError,
  MAX_CLIENT_STATE_LENGTH,
  MAX_OUTLOOK_MINUTES,
  MAX_RICH_OUTLOOK_MINUTES,
  type NewSubscription,
  permissionFor,
  type Subscriptions,
  type SubscriptionView,
  type WatchedResource,
} from './subscriptions.ts';

export const MAX_CONCURRENT_PER_MAILBOX = 4;
export const MAX_REQUESTS_PER_WINDOW = 10_000;
const RATE_WINDOW_MS = 10 * 60 * 1000;
const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

export interface GraphRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface GraphApiOptions {
  readonly clock: Clock;
  readonly random: Random;
  readonly auth: Authenticator;
  readonly clients: readonly GraphClient[];
  readonly store: GraphMailboxStore;
  readonly subscriptions: Subscriptions;
  readonly delivery: Delivery;
  readonly delta: DeltaQueries;
  readonly chaos: () => GraphChaosSettings;
  readonly rules: () => GraphRules;
  /** `http://host:port`, the base of the links the stand-in hands out. */
  readonly baseUrl: () => string;
  readonly requestLatencyMs: number;
  readonly throttleRetryAfterSeconds: number;
}

export class GraphApi {
  readonly #o: GraphApiOptions;
  /** Requests being answered, per app and mailbox (the concurrency limit). */
  readonly #inFlight = new Map<string, number>();
  /** Start times of recent requests, per app and mailbox (the rate limit). */
  readonly #recent = new Map<string, number[]>();
  /** Mailboxes throttled until a time by the control API. */
  readonly #throttledUntil = new Map<string, number>();

  constructor(options: GraphApiOptions) {
    this.#o = options;
  }

  /** Every app's requests for the mailbox get 429 until the simulated time `until`. */
  throttle(mailbox: string, until: number): void {
    this.#throttledUntil.set(mailbox, until);
  }

  throttledUntil(mailbox: string): number | null {
    const until = this.#throttledUntil.get(mailbox);
    return until === undefined || until <= this.#o.clock.now() ? null : until;
  }

  async handle(request: GraphRequest): Promise<HttpAnswer> {
    try {
      return await this.#route(request);
    } catch (e) {
      if (e instanceof GraphApiError) return graphError(e, this.#o.clock.now());
      throw e;
    }
  }

  async #route(request: GraphRequest): Promise<HttpAnswer> {
    const clientId = this.#authenticate(request.headers);
    // Graph's path segments are case-insensitive; keys in parentheses keep their case.
    const path = request.url.pathname.replace(/\/+$/, '');
    const segments = path
      .split('/')
      .slice(2)
      .map((s) => decodeSegment(s));
    const [first, second, third] = segments;
    if (first?.toLowerCase() === 'subscriptions')
      return this.#subscriptionsRoute(request, clientId, segments.slice(1));
    if (first?.toLowerCase() === 'me') {
      throw new GraphApiError(
        400,
        'BadRequest',
        '/me request is only valid with delegated authentication flow. An app-only token names the user: /users/{id}.',
      );
    }
    if (first?.toLowerCase() !== 'users' || second === undefined || third === undefined) {
      throw new GraphApiError(
        400,
        'BadRequest',
        `Resource not found for the segment ${showValue(first ?? '')}. The stand-in serves /v1.0/subscriptions and /v1.0/users/{id}/… (see docs/graph-simulator.md).`,
      );
    }
    if (request.method !== 'GET') {
      throw new GraphApiError(
        405,
        'BadRequest',
        `${request.method} is not supported on ${path}; the stand-in reads mailboxes only.`,
      );
    }
    const mailbox = this.#mailbox(second);
    const release = this.#admit(clientId, mailbox.address);
    try {
      if (this.#o.requestLatencyMs > 0) await this.#o.clock.sleep(this.#o.requestLatencyMs);
      return this.#mailboxRoute(request, clientId, mailbox, segments.slice(2));
    } finally {
      release();
    }
  }

  // ---- authentication, permissions, throttling --------------------------------------------------

  #authenticate(headers: IncomingHttpHeaders): string {
    const bearer = this.#o.auth.checkBearer(headers.authorization ?? '');
    if (bearer.ok) return bearer.clientId;
    const message = {
      missing: 'Access token is empty.',
      unknown: 'IDX14100: JWT is not well formed: the token is not one the stand-in issued.',
      expired: 'Lifetime validation failed, the token is expired.',
    }[bearer.problem];
    throw new GraphApiError(
      401,
      'InvalidAuthenticationToken',
      `${message} Get a token from /{tenant}/oauth2/v2.0/token.`,
      {
        'WWW-Authenticate': `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="${GRAPH_APP_ID}"`,
      },
    );
  }

  #require(clientId: string, anyOf: readonly GraphPermission[]): void {
    const roles = this.#o.clients.find((c) => c.clientId === clientId)?.roles ?? [];
    if (!anyOf.some((p) => roles.includes(p))) {
      throw new GraphApiError(
        403,
        'ErrorAccessDenied',
        `Access is denied. Check credentials and try again. The app needs the application permission ${anyOf.join(' or ')}; it has ${roles.length === 0 ? 'none' : roles.join(', ')}.`,
      );
    }
  }

  #mailbox(idOrAddress: string): Mailbox {
    const mailbox = this.#o.store.find(idOrAddress);
    if (mailbox === undefined) {
      throw new GraphApiError(404, 'ErrorInvalidUser', `The requested user '${idOrAddress}' is invalid.`);
    }
    return mailbox;
  }

  /** Counts the request against the app's limits for the mailbox; returns what to call when it is answered. */
  #admit(clientId: string, mailbox: string): () => void {
    const now = this.#o.clock.now();
    const key = `${clientId} ${mailbox}`;
    const throttled = (retryAfterSeconds: number, limit: string) =>
      new GraphApiError(429, 'ApplicationThrottled', `Application is over its ${limit} limit.`, {
        'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))),
      });
    const until = this.throttledUntil(mailbox);
    if (until !== null) throw throttled((until - now) / 1000, 'MailboxConcurrency');
    if (this.#o.random.chance(this.#o.chaos().throttleRate)) {
      throw throttled(this.#o.throttleRetryAfterSeconds, 'MailboxConcurrency');
    }
    const inFlight = this.#inFlight.get(key) ?? 0;
    if (inFlight >= MAX_CONCURRENT_PER_MAILBOX) throw throttled(1, 'MailboxConcurrency');
    const recent = (this.#recent.get(key) ?? []).filter((t) => t > now - RATE_WINDOW_MS);
    if (recent.length >= MAX_REQUESTS_PER_WINDOW) {
      const oldest = recent[0] ?? now;
      throw throttled((oldest + RATE_WINDOW_MS - now) / 1000, 'request');
    }
    recent.push(now);
    this.#recent.set(key, recent);
    this.#inFlight.set(key, inFlight + 1);
    return () => this.#inFlight.set(key, (this.#inFlight.get(key) ?? 1) - 1);
  }

  // ---- /users/{id}/… ------------------------------------------------------------------------------

  #mailboxRoute(request: GraphRequest, clientId: string, mailbox: Mailbox, rest: string[]): HttpAnswer {
    const idType = preferredIdType(request.headers);
    const lower = rest.map((s) => s.toLowerCase());
    const base = `${this.#o.baseUrl()}/v1.0/users/${mailbox.userId}`;
    // mailFolders('id') is the same as mailFolders/id.
    const folderCall = /^mailfolders\('([^']+)'\)$/i.exec(rest[0] ?? '');
    if (folderCall?.[1] !== undefined)
      return this.#mailboxRoute(request, clientId, mailbox, ['mailFolders', folderCall[1], ...rest.slice(1)]);
    if (lower[0] === 'mailfolders') {
      this.#require(clientId, ['Mail.Read', 'Mail.ReadBasic']);
      if (rest.length === 1) {
        const all = this.#o.store.listFolders(mailbox);
        return this.#collection(request, all, `${base}/mailFolders`);
      }
      const folder = this.#o.store.folder(mailbox, rest[1] ?? '');
      if (folder === undefined) {
        throw new GraphApiError(
          404,
          'ErrorItemNotFound',
          `The specified object was not found in the store: folder ${showValue(rest[1] ?? '')}.`,
        );
      }
      if (rest.length === 2) {
        const found = this.#o.store.listFolders(mailbox).find((f) => f.id === folder.id);
        return json(200, found ?? {});
      }
      if (lower[2] === 'messages' && rest.length === 3) {
        return this.#collection(
          request,
          this.#o.store.listMessages(mailbox, folder.name, idType),
          `${base}/mailFolders/${folder.id}/messages`,
          idType,
        );
      }
      if (lower[2] === 'messages' && lower[3] === 'delta' && rest.length === 4) {
        const link = `${base}/mailFolders('${folder.id}')/messages/delta`;
        return this.#delta(request, mailbox, { type: 'messages', folder }, link, idType);
      }
    }
    if (lower[0] === 'messages') {
      this.#require(clientId, ['Mail.Read', 'Mail.ReadBasic']);
      if (rest.length === 1)
        return this.#collection(
          request,
          this.#o.store.listMessages(mailbox, null, idType),
          `${base}/messages`,
          idType,
        );
      if (rest.length === 2) {
        const found = this.#o.store.getMessage(mailbox, rest[1] ?? '', idType);
        if (found === undefined) {
          throw new GraphApiError(
            404,
            'ErrorItemNotFound',
            'The specified object was not found in the store.',
          );
        }
        return json(200, selected(request.url, found), idType);
      }
    }
    if (
      lower[0] === 'events' ||
      lower[0] === 'calendarview' ||
      lower[0] === 'calendars' ||
      lower[0] === 'calendar'
    ) {
      this.#require(clientId, ['Calendars.Read']);
      if (lower[0] === 'events' && rest.length === 1) {
        return this.#collection(request, this.#o.store.listEvents(mailbox, idType), `${base}/events`, idType);
      }
      if (lower[0] === 'events' && rest.length === 2) {
        const found = this.#o.store.listEvents(mailbox, idType).find((e) => e.id === rest[1]);
        if (found === undefined)
          throw new GraphApiError(
            404,
            'ErrorItemNotFound',
            'The specified object was not found in the store.',
          );
        return json(200, selected(request.url, found), idType);
      }
      if (lower[0] === 'calendarview' && lower[1] === 'delta' && rest.length === 2) {
        return this.#delta(
          request,
          mailbox,
          calendarViewScope(request.url),
          `${base}/calendarView/delta`,
          idType,
        );
      }
      if ((lower[0] === 'calendars' && rest.length === 1) || (lower[0] === 'calendar' && rest.length === 1)) {
        const calendar = {
          id: mailbox.calendarId,
          name: 'Calendar',
          isDefaultCalendar: true,
          canEdit: false,
        };
        return json(200, lower[0] === 'calendar' ? calendar : { value: [calendar] });
      }
    }
    throw new GraphApiError(
      400,
      'BadRequest',
      `Resource not found for the segment ${showValue(rest.join('/'))}. See docs/graph-simulator.md for what the stand-in serves.`,
    );
  }

  #collection(
    request: GraphRequest,
    all: readonly Record<string, unknown>[],
    link: string,
    idType?: IdType,
  ): HttpAnswer {
    const top = positiveInteger(request.url.searchParams.get('$top'), '$top') ?? 10;
    const skip = positiveInteger(request.url.searchParams.get('$skip'), '$skip') ?? 0;
    const value = all.slice(skip, skip + top);
    const body: Record<string, unknown> = { value };
    if (skip + top < all.length) body['@odata.nextLink'] = `${link}?$top=${top}&$skip=${skip + top}`;
    return json(200, body, idType);
  }

  #delta(
    request: GraphRequest,
    mailbox: Mailbox,
    scope: DeltaScope | null,
    link: string,
    idType: IdType,
  ): HttpAnswer {
    const q = request.url.searchParams;
    const maxPageSize = /odata\.maxpagesize=(\d+)/i.exec(preferHeader(request.headers));
    const pageSize = maxPageSize?.[1] === undefined ? DEFAULT_PAGE_SIZE : Math.max(1, Number(maxPageSize[1]));
    const initialLink =
      scope?.type === 'calendarView'
        ? `${link}?startDateTime=${new Date(scope.start).toISOString()}&endDateTime=${new Date(scope.end).toISOString()}`
        : link;
    const page = this.#o.delta.page(mailbox, scope, {
      skipToken: q.get('$skiptoken') ?? q.get('$skipToken'),
      deltaToken: q.get('$deltatoken') ?? q.get('$deltaToken'),
      idType,
      pageSize,
      initialLink,
      linkBase: link,
    });
    const body: Record<string, unknown> = { value: page.value };
    if (page.nextLink !== null) body['@odata.nextLink'] = page.nextLink;
    if (page.deltaLink !== null) body['@odata.deltaLink'] = page.deltaLink;
    const answer = json(200, body, idType);
    if (maxPageSize !== null) {
      return {
        ...answer,
        headers: { ...answer.headers, 'Preference-Applied': `odata.maxpagesize=${pageSize}` },
      };
    }
    return answer;
  }

  // ---- /subscriptions ------------------------------------------------------------------------------

  async #subscriptionsRoute(request: GraphRequest, clientId: string, rest: string[]): Promise<HttpAnswer> {
    const subs = this.#o.subscriptions;
    const [id, action] = rest;
    const context = `${this.#o.baseUrl()}/v1.0/$metadata#subscriptions`;
    if (id === undefined) {
      if (request.method === 'GET')
        return json(200, { '@odata.context': context, value: subs.list(clientId).map(subscriptionJson) });
      if (request.method === 'POST') return this.#create(request, clientId);
      throw new GraphApiError(
        405,
        'BadRequest',
        `${request.method} is not supported on /subscriptions; use GET or POST.`,
      );
    }
    if (action !== undefined) {
      if (action.toLowerCase() === 'reauthorize' && rest.length === 2 && request.method === 'POST') {
        subs.reauthorize(clientId, id);
        return { status: 204, headers: {}, body: '' };
      }
      throw new GraphApiError(
        400,
        'BadRequest',
        `Resource not found for the segment ${showValue(action)}; the only action is reauthorize.`,
      );
    }
    switch (request.method) {
      case 'GET':
        return json(200, {
          '@odata.context': `${context}/$entity`,
          ...subscriptionJson(subs.get(clientId, id)),
        });
      case 'DELETE':
        subs.delete(clientId, id);
        return { status: 204, headers: {}, body: '' };
      case 'PATCH':
        return this.#renew(request, clientId, id);
      default:
        throw new GraphApiError(
          405,
          'BadRequest',
          `${request.method} is not supported on /subscriptions/{id}; use GET, PATCH or DELETE.`,
        );
    }
  }

  async #create(request: GraphRequest, clientId: string): Promise<HttpAnswer> {
    const body = parseObject(request.body);
    const allowed = [
      '@odata.type',
      'changeType',
      'notificationUrl',
      'lifecycleNotificationUrl',
      'resource',
      'expirationDateTime',
      'clientState',
      'includeResourceData',
      'encryptionCertificate',
      'encryptionCertificateId',
      'latestSupportedTlsVersion',
      'notificationUrlAppId',
    ];
    for (const key of Object.keys(body)) {
      if (!allowed.includes(key)) {
        throw new GraphApiError(
          400,
          'BadRequest',
          `Invalid property ${showValue(key)} on subscription; the properties are ${allowed.join(', ')}.`,
        );
      }
    }
    const resource = requiredString(body, 'resource');
    const watched = this.#parseResource(resource);
    this.#require(clientId, permissionFor(watched));
    const changeTypes = parseChangeTypes(requiredString(body, 'changeType'));
    const notificationUrl = parseWebhookUrl('notificationUrl', requiredString(body, 'notificationUrl'));
    const lifecycleRaw = optionalString(body, 'lifecycleNotificationUrl');
    const lifecycleNotificationUrl =
      lifecycleRaw === null ? null : parseWebhookUrl('lifecycleNotificationUrl', lifecycleRaw);
    const clientState = optionalString(body, 'clientState');
    if (clientState !== null && clientState.length > MAX_CLIENT_STATE_LENGTH) {
      throw new GraphApiError(
        400,
        'BadRequest',
        `clientState is ${clientState.length} characters; the maximum length is ${MAX_CLIENT_STATE_LENGTH}.`,
      );
    }
    const includeResourceData = body.includeResourceData === true;
    const expiresAt = this.#parseExpiry(requiredString(body, 'expirationDateTime'), includeResourceData);
    if (includeResourceData) {
      if (
        optionalString(body, 'encryptionCertificate') === null ||
        optionalString(body, 'encryptionCertificateId') === null
      ) {
        throw new GraphApiError(
          400,
          'BadRequest',
          'encryptionCertificate and encryptionCertificateId are required when includeResourceData is true.',
        );
      }
      throw new GraphApiError(
        501,
        'NotImplemented',
        'The Graph stand-in does not send rich notifications (includeResourceData); subscribe without resource data.',
      );
    }
    const spec: NewSubscription = {
      clientId,
      resource,
      watched,
      changeTypes,
      clientState,
      notificationUrl,
      lifecycleNotificationUrl,
      immutableIds: preferredIdType(request.headers) === 'immutable',
      includeResourceData,
      expiresAt,
    };
    const duplicate = this.#o.subscriptions.duplicateOf(spec);
    if (duplicate !== undefined) {
      throw new GraphApiError(
        409,
        'Conflict',
        `Subscription Id ${duplicate.id} already exists for the requested combination.`,
      );
    }
    await this.#validateUrls(notificationUrl, lifecycleNotificationUrl);
    const created = this.#o.subscriptions.create(spec);
    return json(201, {
      '@odata.context': `${this.#o.baseUrl()}/v1.0/$metadata#subscriptions/$entity`,
      ...subscriptionJson(created),
    });
  }

  async #renew(request: GraphRequest, clientId: string, id: string): Promise<HttpAnswer> {
    const body = parseObject(request.body);
    for (const key of Object.keys(body)) {
      if (key === 'lifecycleNotificationUrl') {
        throw new GraphApiError(
          400,
          'BadRequest',
          'lifecycleNotificationUrl cannot be added or changed by updating a subscription; delete it and create a new one with the property.',
        );
      }
      if (key !== 'expirationDateTime' && key !== 'notificationUrl') {
        throw new GraphApiError(
          400,
          'BadRequest',
          `${showValue(key)} cannot be updated; PATCH takes expirationDateTime and notificationUrl.`,
        );
      }
    }
    const current = this.#o.subscriptions.checkRenewable(clientId, id);
    const rawExpiry = optionalString(body, 'expirationDateTime');
    const expiresAt =
      rawExpiry === null ? undefined : this.#parseExpiry(rawExpiry, current.includeResourceData);
    const rawUrl = optionalString(body, 'notificationUrl');
    const notificationUrl = rawUrl === null ? undefined : parseWebhookUrl('notificationUrl', rawUrl);
    if (this.#o.rules().validateOnRenew) {
      await this.#validateUrls(notificationUrl ?? current.notificationUrl, current.lifecycleNotificationUrl);
    }
    const renewed = this.#o.subscriptions.renew(clientId, id, {
      ...(expiresAt === undefined ? {} : { expiresAt }),
      ...(notificationUrl === undefined ? {} : { notificationUrl }),
    });
    return json(200, {
      '@odata.context': `${this.#o.baseUrl()}/v1.0/$metadata#subscriptions/$entity`,
      ...subscriptionJson(renewed),
    });
  }

  /** Validates the notification URL, then the lifecycle URL: two requests even when they are equal. */
  async #validateUrls(notificationUrl: string, lifecycleNotificationUrl: string | null): Promise<void> {
    for (const url of lifecycleNotificationUrl === null
      ? [notificationUrl]
      : [notificationUrl, lifecycleNotificationUrl]) {
      const token = `Validation: Testing client application reachability for subscription Request-Id: ${guid(this.#o.random)}`;
      const problem = await this.#o.delivery.validate(url, token);
      if (problem !== null) {
        throw new GraphApiError(
          400,
          'ValidationError',
          `Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request. ${url}: ${problem}.`,
        );
      }
    }
  }

  #parseResource(resource: string): WatchedResource {
    const path = resource.replace(/^\/+/, '');
    const refuse = (why: string) =>
      new GraphApiError(400, 'InvalidRequest', `Resource ${showValue(resource)} is not supported: ${why}`);
    if (/^me\//i.test(path))
      throw refuse('/me is only valid with delegated authentication; name the user: /users/{id}/…');
    const m =
      /^users\/([^/]+)\/(messages|events|mailfolders\('([^']+)'\)\/messages|mailfolders\/([^/]+)\/messages|calendars\/([^/]+)\/events)$/i.exec(
        path,
      );
    if (m?.[1] === undefined || m[2] === undefined) {
      throw refuse(
        'the stand-in accepts /users/{id}/messages, /users/{id}/mailFolders/{id}/messages, /users/{id}/events and /users/{id}/calendars/{id}/events',
      );
    }
    const mailbox = this.#o.store.find(m[1]);
    if (mailbox === undefined)
      throw new GraphApiError(404, 'ResourceNotFound', `The user ${showValue(m[1])} does not exist.`);
    const kind = m[2].toLowerCase();
    if (kind === 'messages') return { type: 'messages', mailbox: mailbox.address, folder: null };
    if (kind === 'events') return { type: 'events', mailbox: mailbox.address };
    const calendarId = m[5];
    if (calendarId !== undefined) {
      if (!this.#o.rules().calendarEventsResource)
        throw refuse('calendar-scoped event subscriptions are off (calendarEventsResource rule)');
      if (calendarId !== mailbox.calendarId)
        throw new GraphApiError(
          404,
          'ResourceNotFound',
          `The calendar ${showValue(calendarId)} does not exist.`,
        );
      return { type: 'events', mailbox: mailbox.address };
    }
    const folderKey = m[3] ?? m[4] ?? '';
    const folder = this.#o.store.folder(mailbox, folderKey);
    if (folder === undefined)
      throw new GraphApiError(
        404,
        'ResourceNotFound',
        `The mail folder ${showValue(folderKey)} does not exist.`,
      );
    return { type: 'messages', mailbox: mailbox.address, folder: folder.name };
  }

  #parseExpiry(raw: string, includeResourceData: boolean): number {
    const at = parseDateTimeOffset(raw);
    if (at === null) {
      throw new GraphApiError(
        400,
        'BadRequest',
        `expirationDateTime ${showValue(raw)} is not an ISO 8601 date and time with Z or an offset.`,
      );
    }
    const now = this.#o.clock.now();
    const maxMinutes = includeResourceData ? MAX_RICH_OUTLOOK_MINUTES : MAX_OUTLOOK_MINUTES;
    if (at <= now) {
      throw new GraphApiError(
        400,
        'InvalidRequest',
        `Subscription expiration ${raw} is in the past; the simulated time is ${new Date(now).toISOString()}.`,
      );
    }
    if (at > now + maxMinutes * 60_000) {
      throw new GraphApiError(
        400,
        'InvalidRequest',
        `Subscription expiration can only be ${maxMinutes} minutes in the future.`,
      );
    }
    return at;
  }
}

// ---- helpers ----------------------------------------------------------------------------------------

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new GraphApiError(
      400,
      'BadRequest',
      `The path segment ${showValue(segment)} is not valid percent-encoding.`,
    );
  }
}

function preferHeader(headers: IncomingHttpHeaders): string {
  const prefer = headers.prefer;
  return Array.isArray(prefer) ? prefer.join(',') : (prefer ?? '');
}

/** `Prefer: IdType="ImmutableId"` asks for immutable ids (Learn, immutable identifiers). */
export function preferredIdType(headers: IncomingHttpHeaders): IdType {
  return /IdType\s*=\s*"?ImmutableId"?/i.test(preferHeader(headers)) ? 'immutable' : 'default';
}

/**
 * An item read's `$select`: only the properties named (and `id` and the `@odata` annotations,
 * which Graph always returns). Names the stand-in does not model are left out, not refused.
 */
function selected(url: URL, item: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const select = url.searchParams.get('$select');
  if (select === null || select === '') return { ...item };
  const wanted = new Set(select.split(',').map((name) => name.trim().toLowerCase()));
  return Object.fromEntries(
    Object.entries(item).filter(
      ([key]) => key === 'id' || key.startsWith('@odata.') || wanted.has(key.toLowerCase()),
    ),
  );
}

function json(status: number, value: unknown, idType?: IdType): HttpAnswer {
  const headers: Record<string, string> = { 'Content-Type': 'application/json; charset=utf-8' };
  if (idType === 'immutable') headers['Preference-Applied'] = 'IdType="ImmutableId"';
  return { status, headers, body: JSON.stringify(value) };
}

/** Graph's error shape: `{"error": {"code", "message", "innerError"}}`, with the error's headers (Retry-After, Location, …). */
function graphError(e: GraphApiError, now: number): HttpAnswer {
  const error = { code: e.code, message: e.message, innerError: { date: new Date(now).toISOString() } };
  return {
    status: e.status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', ...e.headers },
    body: JSON.stringify({ error }),
  };
}

function parseObject(body: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (e) {
    throw new GraphApiError(
      400,
      'BadRequest',
      `The request body is not JSON (${e instanceof Error ? e.message : String(e)}).`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GraphApiError(400, 'BadRequest', 'The request body must be a JSON object.');
  }
  return Object.fromEntries(Object.entries(value));
}

function requiredString(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  if (typeof value !== 'string' || value === '') {
    throw new GraphApiError(400, 'BadRequest', `${key} is required and must be a non-empty string.`);
  }
  return value;
}

function optionalString(body: Record<string, unknown>, key: string): string | null {
  const value = body[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new GraphApiError(400, 'BadRequest', `${key} must be a string.`);
  return value;
}

function parseChangeTypes(raw: string): ReadonlySet<ChangeType> {
  const out = new Set<ChangeType>();
  for (const part of raw.split(',').map((p) => p.trim())) {
    const known = CHANGE_TYPES.find((c) => c === part);
    if (known === undefined) {
      throw new GraphApiError(
        400,
        'BadRequest',
        `changeType ${showValue(part)} is not valid; use created, updated and/or deleted, comma-separated.`,
      );
    }
    out.add(known);
  }
  return out;
}

/**
 * Graph requires HTTPS; the stand-in takes plain HTTP too, but only to loopback addresses: it must
 * never send validation requests or notifications anywhere else.
 */
function parseWebhookUrl(field: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new GraphApiError(400, 'BadRequest', `${field} ${showValue(raw)} is not an absolute URL.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new GraphApiError(400, 'BadRequest', `${field} ${showValue(raw)} must use HTTPS.`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!(host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host))) {
    throw new GraphApiError(
      400,
      'BadRequest',
      `${field} ${showValue(raw)} is not on this machine; the stand-in delivers only to loopback addresses (127.0.0.0/8, localhost, [::1]).`,
    );
  }
  return raw;
}

/** ISO 8601 with Z or an offset, up to 7 fractional digits as Graph writes them; null if not one. */
export function parseDateTimeOffset(raw: string): number | null {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,7}))?(Z|[+-]\d{2}:\d{2})$/i.exec(raw);
  if (m?.[1] === undefined || m[3] === undefined) return null;
  const millis = (m[2] ?? '').padEnd(3, '0').slice(0, 3);
  const parsed = Date.parse(`${m[1]}.${millis}${m[3].toUpperCase()}`);
  return Number.isNaN(parsed) ? null : parsed;
}

function calendarViewScope(url: URL): DeltaScope | null {
  const q = url.searchParams;
  const rawStart = q.get('startDateTime') ?? q.get('startdatetime');
  const rawEnd = q.get('endDateTime') ?? q.get('enddatetime');
  if (rawStart === null && rawEnd === null) return null;
  // A calendar view's bounds may come without an offset; they are then UTC (the stand-in's only zone).
  const read = (raw: string | null, name: string) => {
    const at = raw === null ? null : parseDateTimeOffset(/[Zz]|[+-]\d{2}:\d{2}$/.test(raw) ? raw : `${raw}Z`);
    if (at === null) {
      throw new GraphApiError(
        400,
        'ErrorInvalidParameter',
        `${name} ${showValue(raw ?? '(missing)')} is not an ISO 8601 date and time; give both startDateTime and endDateTime.`,
      );
    }
    return at;
  };
  const start = read(rawStart, 'startDateTime');
  const end = read(rawEnd, 'endDateTime');
  if (end <= start)
    throw new GraphApiError(400, 'ErrorInvalidParameter', 'endDateTime must be after startDateTime.');
  return { type: 'calendarView', start, end };
}

function positiveInteger(raw: string | null, name: string): number | undefined {
  if (raw === null) return undefined;
  if (!/^\d{1,6}$/.test(raw))
    throw new GraphApiError(400, 'BadRequest', `${name} ${showValue(raw)} must be a whole number.`);
  return Number(raw);
}

/** The subscription as Graph returns it. */
export function subscriptionJson(s: SubscriptionView): Record<string, unknown> {
  return {
    id: s.id,
    resource: s.resource,
    applicationId: s.applicationId,
    changeType: s.changeType,
    clientState: s.clientState,
    notificationUrl: s.notificationUrl,
    notificationQueryOptions: null,
    lifecycleNotificationUrl: s.lifecycleNotificationUrl,
    expirationDateTime: s.expirationDateTime,
    creatorId: s.applicationId,
    includeResourceData: s.includeResourceData,
    latestSupportedTlsVersion: 'v1_2',
    encryptionCertificate: null,
    encryptionCertificateId: null,
    notificationUrlAppId: null,
  };
}
