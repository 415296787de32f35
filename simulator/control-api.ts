/**
 * `/_sim/`: the simulator's control and ground-truth API, JSON over HTTP, unauthenticated (it
 * listens where the simulator listens, normally 127.0.0.1). It offers exactly the operations of
 * the in-process API (see `Simulator` in api.ts), so a test or an operator can drive the
 * simulated world and read what really happened:
 *
 *   GET  /_sim/                               summary: URLs, auth, clock, mailboxes, faults
 *   GET  /_sim/mailboxes                      mailboxes, their database, folders (ids, names) and item counts
 *   POST /_sim/mailboxes/{address}/move       move a mailbox (subscriptions lost, watermarks invalid)
 *   GET  /_sim/changes[?mailbox=&after=seq]   ground truth: every item change, in order
 *   POST /_sim/changes                        make a change: {"mailbox", "kind"?, "folder"?, "toFolder"?, "itemId"?,
 *                                             "calendarActivity"?, "item"?}
 *   GET  /_sim/subscriptions[?mailbox=]       every subscription and its state
 *   POST /_sim/subscriptions/{id}/drop        lose a subscription silently (URL-encode the id)
 *   GET  /_sim/mass-losses                    every mass loss so far
 *   POST /_sim/mass-losses                    move many mailboxes at once: {"count": N}, {"fraction": F} or {}
 *   GET  /_sim/deliveries[?subscriptionId=&after=seq]  every push attempt and its outcome
 *   GET  /_sim/faults                         the fault settings
 *   PUT  /_sim/faults                         change some of them: {"serverBusyRate": 0.5}
 *
 * Errors are `{"error": "…"}` with 400 (bad input), 404 (unknown path or id) or 405.
 *
 * The API is versioned (`apiVersion` in GET /_sim/, CONTROL_API_VERSION in api.ts) and its shapes
 * are pinned by test/simulator/control-api.test.ts; docs/simulator.md documents every field.
 */
import { err, ok, type Result } from '../functions/core/result.ts';
import { showValue } from '../functions/core/show.ts';
import type { Simulator } from './api.ts';
import { CHANGE_KINDS, type ChangeRequest, isChangeKind } from './change-planner.ts';
import type { HttpAnswer } from './ews-service.ts';
import type { FaultSettings } from './faults.ts';
import { parseFaultSettings } from './faults.ts';
import { ITEM_FOLDERS, type ItemFolder, isItemFolder } from './folders.ts';
import { SimulatorInputError } from './input-error.ts';
import {
  type Attendee,
  CALENDAR_ACTIVITIES,
  type EmailAddress,
  IMPORTANCES,
  type ItemProperties,
  isCalendarActivity,
  RESPONSE_TYPES,
  SENSITIVITIES,
} from './items.ts';
import { parseMassLossRequest } from './mass-loss.ts';
import { MAX_OCCURRENCES, RECURRENCE_PATTERNS, type Recurrence } from './recurrence.ts';

const JSON_TYPE = { 'Content-Type': 'application/json; charset=utf-8' };

export function json(status: number, value: unknown): HttpAnswer {
  return { status, headers: JSON_TYPE, body: `${JSON.stringify(value, null, 2)}\n` };
}
export function problem(status: number, error: string): HttpAnswer {
  return json(status, { error });
}

function parseJson(body: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: body.trim() === '' ? {} : JSON.parse(body) };
  } catch (e) {
    return {
      ok: false,
      error: `the request body is not JSON (${e instanceof Error ? e.message : String(e)})`,
    };
  }
}

export function afterParameter(query: URLSearchParams): number | string {
  const raw = query.get('after');
  if (raw === null) return 0;
  return /^\d{1,15}$/.test(raw) ? Number(raw) : `after ${showValue(raw)} must be a sequence number (0, 1, …)`;
}

const CHANGE_FIELDS = [
  'mailbox',
  'kind',
  'folder',
  'toFolder',
  'itemId',
  'calendarActivity',
  'item',
] as const;

/** A folder field of a change: absent, or an item folder's name (`projects` for the custom folder). */
function parseFolderField(field: string, value: unknown): Result<ItemFolder | undefined, string> {
  if (value === undefined) return ok(undefined);
  if (typeof value === 'string' && isItemFolder(value)) return ok(value);
  return err(
    `${field} ${showValue(String(value))} cannot hold simulated items; use one of ${ITEM_FOLDERS.join(', ')} (folder names, not FolderIds)`,
  );
}

/** Reads a change request from untrusted JSON, field by field. */
function parseChangeRequest(value: unknown): ChangeRequest | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'the body must be a JSON object such as {"mailbox": "user1@contoso.test", "kind": "create", "folder": "inbox"}';
  }
  for (const key of Object.keys(value)) {
    if (!CHANGE_FIELDS.some((field) => field === key)) {
      return `unknown field ${showValue(key)}; a change has ${CHANGE_FIELDS.join(', ')}`;
    }
  }
  const mailbox: unknown = Reflect.get(value, 'mailbox');
  const kind: unknown = Reflect.get(value, 'kind');
  const itemId: unknown = Reflect.get(value, 'itemId');
  if (typeof mailbox !== 'string')
    return 'mailbox is required and must be a string such as "user1@contoso.test"';
  if (kind !== undefined && (typeof kind !== 'string' || !isChangeKind(kind))) {
    return `kind ${showValue(String(kind))} is unknown; use one of ${CHANGE_KINDS.join(', ')}`;
  }
  const folderField = parseFolderField('folder', Reflect.get(value, 'folder'));
  if (!folderField.ok) return folderField.error;
  const toFolderField = parseFolderField('toFolder', Reflect.get(value, 'toFolder'));
  if (!toFolderField.ok) return toFolderField.error;
  const folder = folderField.value;
  const toFolder = toFolderField.value;
  if (itemId !== undefined && typeof itemId !== 'string') return 'itemId must be a string';
  const calendarActivity: unknown = Reflect.get(value, 'calendarActivity');
  if (
    calendarActivity !== undefined &&
    (typeof calendarActivity !== 'string' || !isCalendarActivity(calendarActivity))
  ) {
    return `calendarActivity ${showValue(String(calendarActivity))} is unknown; use one of ${CALENDAR_ACTIVITIES.join(', ')}`;
  }
  const itemField: unknown = Reflect.get(value, 'item');
  let item: ItemProperties | undefined;
  if (itemField !== undefined) {
    const parsed = parseItemProperties(itemField);
    if (!parsed.ok) return `item: ${parsed.error}`;
    item = parsed.value;
  }
  return {
    mailbox,
    ...(kind === undefined ? {} : { kind }),
    ...(folder === undefined ? {} : { folder }),
    ...(toFolder === undefined ? {} : { toFolder }),
    ...(itemId === undefined ? {} : { itemId }),
    ...(calendarActivity === undefined ? {} : { calendarActivity }),
    ...(item === undefined ? {} : { item }),
  };
}

const ITEM_FIELDS = [
  'subject',
  'body',
  'importance',
  'sensitivity',
  'categories',
  'hasAttachments',
  'from',
  'toRecipients',
  'ccRecipients',
  'isRead',
  'start',
  'end',
  'isAllDayEvent',
  'location',
  'organizer',
  'requiredAttendees',
  'optionalAttendees',
  'recurrence',
] as const;

/** An address: `"ada@contoso.test"` or `{"emailAddress": "ada@contoso.test", "name": "Ada"}`. */
function parseAddress(field: string, value: unknown): Result<EmailAddress, string> {
  if (typeof value === 'string' && /^[^@\s]+@[^@\s]+$/.test(value)) {
    return ok({ name: value.split('@')[0] ?? value, emailAddress: value });
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const emailAddress: unknown = Reflect.get(value, 'emailAddress');
    const name: unknown = Reflect.get(value, 'name');
    if (typeof emailAddress === 'string' && /^[^@\s]+@[^@\s]+$/.test(emailAddress)) {
      if (name !== undefined && typeof name !== 'string') return err(`${field}.name must be a string`);
      return ok({ name: name ?? emailAddress.split('@')[0] ?? emailAddress, emailAddress });
    }
  }
  return err(
    `${field} must be an address such as "ada@contoso.test" or {"emailAddress": "ada@contoso.test", "name": "Ada"}`,
  );
}

function parseList<T>(
  field: string,
  value: unknown,
  each: (f: string, v: unknown) => Result<T, string>,
): Result<T[], string> {
  if (!Array.isArray(value)) return err(`${field} must be a list`);
  const out: T[] = [];
  for (const [i, v] of value.entries()) {
    const parsed = each(`${field}[${i}]`, v);
    if (!parsed.ok) return parsed;
    out.push(parsed.value);
  }
  return ok(out);
}

function parseAttendee(field: string, value: unknown): Result<Attendee, string> {
  const mailbox = parseAddress(field, value);
  if (!mailbox.ok) return mailbox;
  const responseType: unknown =
    typeof value === 'object' && value !== null ? Reflect.get(value, 'responseType') : undefined;
  if (responseType === undefined)
    return ok({ mailbox: mailbox.value, responseType: 'NoResponseReceived', lastResponseTime: null });
  const known = RESPONSE_TYPES.find((r) => r === responseType);
  if (known === undefined) return err(`${field}.responseType must be one of ${RESPONSE_TYPES.join(', ')}`);
  return ok({ mailbox: mailbox.value, responseType: known, lastResponseTime: null });
}

function parseRecurrence(value: unknown): Result<Recurrence, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return err(
      'recurrence must be an object such as {"pattern": "Weekly", "interval": 1, "occurrences": 10}',
    );
  }
  const pattern = RECURRENCE_PATTERNS.find((p) => p === Reflect.get(value, 'pattern'));
  if (pattern === undefined)
    return err(`recurrence.pattern must be one of ${RECURRENCE_PATTERNS.join(', ')}`);
  const interval: unknown = Reflect.get(value, 'interval') ?? 1;
  const occurrences: unknown = Reflect.get(value, 'occurrences');
  const range: unknown = Reflect.get(value, 'range') ?? 'Numbered';
  if (typeof interval !== 'number' || !Number.isInteger(interval) || interval < 1 || interval > 99) {
    return err('recurrence.interval must be a whole number from 1 to 99');
  }
  if (
    typeof occurrences !== 'number' ||
    !Number.isInteger(occurrences) ||
    occurrences < 2 ||
    occurrences > MAX_OCCURRENCES
  ) {
    return err(`recurrence.occurrences must be a whole number from 2 to ${MAX_OCCURRENCES}`);
  }
  if (range !== 'Numbered' && range !== 'EndDate')
    return err('recurrence.range must be "Numbered" or "EndDate"');
  return ok({ pattern, interval, occurrences, range });
}

/** Reads a create's `item` properties from untrusted JSON, field by field. */
export function parseItemProperties(value: unknown): Result<ItemProperties, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return err('must be an object such as {"subject": "Budget", "location": "Room 1"}');
  }
  for (const key of Object.keys(value)) {
    if (!ITEM_FIELDS.some((f) => f === key))
      return err(`unknown field ${showValue(key)}; an item has ${ITEM_FIELDS.join(', ')}`);
  }
  const out: { -readonly [K in keyof ItemProperties]: ItemProperties[K] } = {};
  const get = (key: (typeof ITEM_FIELDS)[number]): unknown => Reflect.get(value, key);
  for (const key of ['subject', 'body', 'location'] as const) {
    const v = get(key);
    if (v === undefined) continue;
    if (typeof v !== 'string') return err(`${key} must be a string`);
    out[key] = v;
  }
  for (const key of ['hasAttachments', 'isRead', 'isAllDayEvent'] as const) {
    const v = get(key);
    if (v === undefined) continue;
    if (typeof v !== 'boolean') return err(`${key} must be true or false`);
    out[key] = v;
  }
  const importance = get('importance');
  if (importance !== undefined) {
    const known = IMPORTANCES.find((a) => a === importance);
    if (known === undefined) return err(`importance must be one of ${IMPORTANCES.join(', ')}`);
    out.importance = known;
  }
  const sensitivity = get('sensitivity');
  if (sensitivity !== undefined) {
    const known = SENSITIVITIES.find((a) => a === sensitivity);
    if (known === undefined) return err(`sensitivity must be one of ${SENSITIVITIES.join(', ')}`);
    out.sensitivity = known;
  }
  const categories = get('categories');
  if (categories !== undefined) {
    if (!Array.isArray(categories) || !categories.every((c) => typeof c === 'string')) {
      return err('categories must be a list of strings');
    }
    out.categories = categories;
  }
  for (const key of ['start', 'end'] as const) {
    const v = get(key);
    if (v === undefined) continue;
    const at = typeof v === 'string' ? Date.parse(v) : Number.NaN;
    if (!Number.isFinite(at))
      return err(`${key} must be an ISO 8601 date and time such as "2026-12-01T09:00:00Z"`);
    out[key] = at;
  }
  if (typeof out.start === 'number' && typeof out.end === 'number' && out.end <= out.start) {
    return err('end must be after start');
  }
  for (const key of ['from', 'organizer'] as const) {
    const v = get(key);
    if (v === undefined) continue;
    const parsed = parseAddress(key, v);
    if (!parsed.ok) return parsed;
    out[key] = parsed.value;
  }
  for (const key of ['toRecipients', 'ccRecipients'] as const) {
    const v = get(key);
    if (v === undefined) continue;
    const parsed = parseList(key, v, parseAddress);
    if (!parsed.ok) return parsed;
    out[key] = parsed.value;
  }
  for (const key of ['requiredAttendees', 'optionalAttendees'] as const) {
    const v = get(key);
    if (v === undefined) continue;
    const parsed = parseList(key, v, parseAttendee);
    if (!parsed.ok) return parsed;
    out[key] = parsed.value;
  }
  const recurrence = get('recurrence');
  if (recurrence !== undefined) {
    const parsed = parseRecurrence(recurrence);
    if (!parsed.ok) return parsed;
    out.recurrence = parsed.value;
  }
  return ok(out);
}

/** A control path without its prefix, split and decoded: `/_sim/subscriptions/a%2Bb/drop` → subscriptions, a+b, drop. */
export function controlPath(url: URL): Result<{ path: string; segments: string[] }, HttpAnswer> {
  const path = url.pathname.replace(/\/+$/, '');
  try {
    return ok({
      path,
      segments: path
        .split('/')
        .slice(2)
        .map((s) => decodeURIComponent(s)),
    });
  } catch {
    return err(
      problem(
        400,
        `the path ${showValue(path)} is not valid percent-encoding; URL-encode ids with encodeURIComponent`,
      ),
    );
  }
}

export function handleControl(sim: Simulator, method: string, url: URL, body: string): HttpAnswer {
  const parsed = controlPath(url);
  if (!parsed.ok) return parsed.error;
  const { path, segments } = parsed.value;
  const [resource, id, action] = segments;
  const query = url.searchParams;
  const allow = (methods: string) => problem(405, `${method} is not allowed on ${path}; use ${methods}`);
  try {
    switch (resource) {
      case undefined:
        return method === 'GET' ? json(200, sim.summary()) : allow('GET');
      case 'mailboxes':
        if (id === undefined)
          return method === 'GET' ? json(200, { mailboxes: sim.mailboxes() }) : allow('GET');
        if (action === 'move' && segments.length === 3)
          return method === 'POST' ? json(200, sim.moveMailbox(id)) : allow('POST');
        break;
      case 'changes': {
        if (id !== undefined) break;
        if (method === 'POST') {
          const parsed = parseJson(body);
          if (!parsed.ok) return problem(400, parsed.error);
          const request = parseChangeRequest(parsed.value);
          if (typeof request === 'string') return problem(400, request);
          return json(201, sim.makeChange(request));
        }
        if (method !== 'GET') return allow('GET, POST');
        const after = afterParameter(query);
        if (typeof after === 'string') return problem(400, after);
        const mailbox = query.get('mailbox');
        return json(200, { changes: sim.changes({ after, ...(mailbox === null ? {} : { mailbox }) }) });
      }
      case 'subscriptions':
        if (id === undefined) {
          if (method !== 'GET') return allow('GET');
          const mailbox = query.get('mailbox');
          return json(200, { subscriptions: sim.subscriptions(mailbox === null ? {} : { mailbox }) });
        }
        if (action === 'drop' && segments.length === 3) {
          return method === 'POST' ? json(200, sim.dropSubscription(id)) : allow('POST');
        }
        break;
      case 'mass-losses': {
        if (id !== undefined) break;
        if (method === 'GET') return json(200, { massLosses: sim.massLosses() });
        if (method !== 'POST') return allow('GET, POST');
        const parsed = parseJson(body);
        if (!parsed.ok) return problem(400, parsed.error);
        const request = parseMassLossRequest(parsed.value, sim.faults().massLossFraction);
        if (!request.ok) return problem(400, request.error);
        return json(201, sim.massLoss(request.value));
      }
      case 'deliveries': {
        if (id !== undefined) break;
        if (method !== 'GET') return allow('GET');
        const after = afterParameter(query);
        if (typeof after === 'string') return problem(400, after);
        const subscriptionId = query.get('subscriptionId');
        return json(200, {
          deliveries: sim.deliveries({ after, ...(subscriptionId === null ? {} : { subscriptionId }) }),
        });
      }
      case 'faults': {
        if (id !== undefined) break;
        if (method === 'GET') return json(200, sim.faults());
        if (method !== 'PUT') return allow('GET, PUT');
        const parsed = parseJson(body);
        if (!parsed.ok) return problem(400, parsed.error);
        const faults = parseFaultSettings(parsed.value);
        if (!faults.ok) return problem(400, faults.error);
        const updated: FaultSettings = sim.setFaults(faults.value);
        return json(200, updated);
      }
    }
  } catch (e) {
    if (e instanceof SimulatorInputError) return problem(e.notFound ? 404 : 400, e.message);
    throw e;
  }
  return problem(404, `no control endpoint ${method} ${path}; see GET /_sim/ and docs/simulator.md`);
}
