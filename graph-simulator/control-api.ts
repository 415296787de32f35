/**
 * `/_graph-sim/`: the Graph stand-in's control and ground-truth API, JSON over HTTP without
 * authentication, in the EWS simulator's conventions (`/_sim/`): the same operations as the
 * in-process API, errors as `{"error": "…"}` with 400, 404 or 405, `after` as a sequence number.
 *
 *   GET  /_graph-sim/                                     summary: URLs, tenant, clock, mailboxes, chaos, rules
 *   GET  /_graph-sim/mailboxes                            mailboxes: user ids, folder ids, calendar id, counts
 *   POST /_graph-sim/mailboxes/{address}/expire-delta-tokens   every delta/skip token of the mailbox → 410
 *   POST /_graph-sim/mailboxes/{address}/throttle         {"forMs": 60000}: every request for it → 429
 *   GET  /_graph-sim/changes[?mailbox=&after=seq]         the ground truth, in order
 *   POST /_graph-sim/changes                              make a change (see ChangeRequest)
 *   GET  /_graph-sim/subscriptions[?mailbox=]             every subscription, whatever its state
 *   POST /_graph-sim/subscriptions/{id}/remove            subscriptionRemoved, then gone
 *   POST /_graph-sim/subscriptions/{id}/missed            {"count": n}: queued (and the next n) lost, then missed
 *   POST /_graph-sim/subscriptions/{id}/reauthorize       reauthorizationRequired; delivery pauses if unanswered
 *   GET  /_graph-sim/deliveries[?subscriptionId=&after=]  every POST of notifications and how it went
 *   GET  /_graph-sim/losses[?subscriptionId=]             every notification lost, and why
 *   GET  /_graph-sim/validations                          every validation request and its verdict
 *   GET  /_graph-sim/endpoints                            each webhook URL: normal, slow or drop, and its window
 *   GET|PUT /_graph-sim/chaos                             the chaos knobs
 *   GET|PUT /_graph-sim/rules                             the rules where Learn is silent
 *   PUT  /_graph-sim/change-rate                          {"changeRate": 2}
 */
import { err, ok, type Result } from '../functions/core/result.ts';
import { showValue } from '../functions/core/show.ts';
import { afterParameter, controlPath, json, problem } from '../simulator/control-api.ts';
import type { HttpAnswer } from '../simulator/ews-service.ts';
import type { GraphSimulator } from './api.ts';
import {
  type ChangeRequest,
  GraphSimulatorInputError,
  isChangeKind,
  isItemType,
  isMailFolderName,
  MAIL_FOLDERS,
} from './mailbox-store.ts';

function parseBody(body: string): Result<Record<string, unknown>, string> {
  let value: unknown;
  try {
    value = body.trim() === '' ? {} : JSON.parse(body);
  } catch (e) {
    return err(`the request body is not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return err('the body must be a JSON object');
  return ok(Object.fromEntries(Object.entries(value)));
}

const CHANGE_FIELDS = ['mailbox', 'itemType', 'kind', 'folder', 'toFolder', 'itemId', 'recurring'] as const;

/** Reads a change request from untrusted JSON, field by field. */
export function parseChangeRequest(body: Record<string, unknown>): Result<ChangeRequest, string> {
  for (const key of Object.keys(body)) {
    if (!CHANGE_FIELDS.some((f) => f === key))
      return err(`unknown field ${showValue(key)}; a change has ${CHANGE_FIELDS.join(', ')}`);
  }
  const { mailbox, itemType, kind, folder, toFolder, itemId, recurring } = body;
  if (typeof mailbox !== 'string')
    return err('mailbox is required and must be a string such as "user1@contoso.test"');
  if (itemType !== undefined && (typeof itemType !== 'string' || !isItemType(itemType))) {
    return err(`itemType ${showValue(String(itemType))} is unknown; use message or event`);
  }
  if (kind !== undefined && (typeof kind !== 'string' || !isChangeKind(kind))) {
    return err(`kind ${showValue(String(kind))} is unknown; use created, updated, moved or deleted`);
  }
  for (const [name, value] of [
    ['folder', folder],
    ['toFolder', toFolder],
  ] as const) {
    if (value !== undefined && (typeof value !== 'string' || !isMailFolderName(value))) {
      return err(
        `${name} ${showValue(String(value))} is not a mail folder; use one of ${MAIL_FOLDERS.join(', ')}`,
      );
    }
  }
  if (itemId !== undefined && typeof itemId !== 'string') return err('itemId must be a string');
  if (recurring !== undefined && typeof recurring !== 'boolean')
    return err('recurring must be true or false');
  return ok({
    mailbox,
    ...(typeof itemType === 'string' && isItemType(itemType) ? { itemType } : {}),
    ...(typeof kind === 'string' && isChangeKind(kind) ? { kind } : {}),
    ...(typeof folder === 'string' && isMailFolderName(folder) ? { folder } : {}),
    ...(typeof toFolder === 'string' && isMailFolderName(toFolder) ? { toFolder } : {}),
    ...(typeof itemId === 'string' ? { itemId } : {}),
    ...(typeof recurring === 'boolean' ? { recurring } : {}),
  });
}

function nonNegative(
  body: Record<string, unknown>,
  key: string,
  fallback: number | null,
): Result<number, string> {
  const value = body[key];
  if (value === undefined && fallback !== null) return ok(fallback);
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    return err(`${key} must be a number of at least 0, such as {"${key}": ${fallback ?? 60000}}`);
  }
  return ok(value);
}

export function handleGraphControl(
  graph: GraphSimulator,
  method: string,
  url: URL,
  body: string,
): HttpAnswer {
  const parsed = controlPath(url);
  if (!parsed.ok) return parsed.error;
  const { path, segments } = parsed.value;
  const [resource, id, action] = segments;
  const query = url.searchParams;
  const allow = (methods: string) => problem(405, `${method} is not allowed on ${path}; use ${methods}`);
  const withBody = (fn: (parsed: Record<string, unknown>) => HttpAnswer): HttpAnswer => {
    const parsed = parseBody(body);
    return parsed.ok ? fn(parsed.value) : problem(400, parsed.error);
  };
  try {
    switch (resource) {
      case undefined:
        return method === 'GET' ? json(200, graph.summary()) : allow('GET');
      case 'mailboxes':
        if (id === undefined)
          return method === 'GET' ? json(200, { mailboxes: graph.mailboxes() }) : allow('GET');
        if (segments.length !== 3) break;
        if (method !== 'POST') return allow('POST');
        if (action === 'expire-delta-tokens') return json(200, graph.expireDeltaTokens(id));
        if (action === 'throttle') {
          return withBody((b) => {
            const forMs = nonNegative(b, 'forMs', null);
            return forMs.ok ? json(200, graph.throttle(id, forMs.value)) : problem(400, forMs.error);
          });
        }
        break;
      case 'changes': {
        if (id !== undefined) break;
        if (method === 'POST') {
          return withBody((b) => {
            const request = parseChangeRequest(b);
            return request.ok ? json(201, graph.makeChange(request.value)) : problem(400, request.error);
          });
        }
        if (method !== 'GET') return allow('GET, POST');
        const after = afterParameter(query);
        if (typeof after === 'string') return problem(400, after);
        const mailbox = query.get('mailbox');
        return json(200, {
          changes: graph.changes({ after, ...(mailbox === null ? {} : { mailbox }) }),
        });
      }
      case 'subscriptions':
        if (id === undefined) {
          if (method !== 'GET') return allow('GET');
          const mailbox = query.get('mailbox');
          return json(200, { subscriptions: graph.subscriptions(mailbox === null ? {} : { mailbox }) });
        }
        if (segments.length !== 3) break;
        if (method !== 'POST') return allow('POST');
        if (action === 'remove') return json(200, graph.removeSubscription(id));
        if (action === 'reauthorize') return json(200, graph.requireReauthorization(id));
        if (action === 'missed') {
          return withBody((b) => {
            const count = nonNegative(b, 'count', 0);
            return count.ok ? json(200, graph.missNotifications(id, count.value)) : problem(400, count.error);
          });
        }
        break;
      case 'deliveries': {
        if (id !== undefined) break;
        if (method !== 'GET') return allow('GET');
        const after = afterParameter(query);
        if (typeof after === 'string') return problem(400, after);
        const subscriptionId = query.get('subscriptionId');
        return json(200, {
          deliveries: graph.deliveries({
            after,
            ...(subscriptionId === null ? {} : { subscriptionId }),
          }),
        });
      }
      case 'losses': {
        if (id !== undefined) break;
        if (method !== 'GET') return allow('GET');
        const subscriptionId = query.get('subscriptionId');
        return json(200, { losses: graph.losses(subscriptionId === null ? {} : { subscriptionId }) });
      }
      case 'validations':
        if (id !== undefined) break;
        return method === 'GET' ? json(200, { validations: graph.validations() }) : allow('GET');
      case 'endpoints':
        if (id !== undefined) break;
        return method === 'GET' ? json(200, { endpoints: graph.endpoints() }) : allow('GET');
      case 'chaos':
        if (id !== undefined) break;
        if (method === 'GET') return json(200, graph.chaos());
        return method === 'PUT' ? withBody((b) => json(200, graph.setChaos(b))) : allow('GET, PUT');
      case 'rules':
        if (id !== undefined) break;
        if (method === 'GET') return json(200, graph.rules());
        return method === 'PUT' ? withBody((b) => json(200, graph.setRules(b))) : allow('GET, PUT');
      case 'change-rate':
        if (id !== undefined) break;
        if (method !== 'PUT') return allow('PUT');
        return withBody((b) => {
          const rate = nonNegative(b, 'changeRate', null);
          if (!rate.ok) return problem(400, rate.error);
          graph.setChangeRate(rate.value);
          return json(200, { changeRate: rate.value });
        });
    }
  } catch (e) {
    if (e instanceof GraphSimulatorInputError) return problem(e.notFound ? 404 : 400, e.message);
    throw e;
  }
  return problem(
    404,
    `no control endpoint ${method} ${path}; see GET /_graph-sim/ and docs/graph-simulator.md`,
  );
}
