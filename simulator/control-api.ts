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
 *   POST /_sim/changes                        make a change: {"mailbox", "kind"?, "folder"?, "toFolder"?, "itemId"?}
 *   GET  /_sim/subscriptions[?mailbox=]       every subscription and its state
 *   POST /_sim/subscriptions/{id}/drop        lose a subscription silently (URL-encode the id)
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

const CHANGE_FIELDS = ['mailbox', 'kind', 'folder', 'toFolder', 'itemId'] as const;

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
  return {
    mailbox,
    ...(kind === undefined ? {} : { kind }),
    ...(folder === undefined ? {} : { folder }),
    ...(toFolder === undefined ? {} : { toFolder }),
    ...(itemId === undefined ? {} : { itemId }),
  };
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
