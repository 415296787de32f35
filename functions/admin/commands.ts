/**
 * The admin commands (add, remove, list, show a mailbox) as JSON in and JSON out: the contract
 * between the `mailboxes` CLI and whatever runs the management code (the admin Lambda in AWS, the
 * local run's admin endpoint). Input is untrusted JSON, parsed field by field.
 */

import { err, ok, type Result } from '../core/result.ts';
import { showValue } from '../core/show.ts';
import { type EnrichMode, isEnrichMode, isFieldUri, MAX_EXTRA_FIELDS } from '../domain/enrichment.ts';
import { type FolderSyncState, folderLabel } from '../domain/folder-sync-state.ts';
import { GRAPH_RESOURCES } from '../domain/graph-mailbox.ts';
import type { SubscriptionRecord } from '../domain/subscription.ts';
import { type FolderRef, isDistinguishedFolderName } from '../ews/request.ts';
import { SUBSCRIBABLE_EVENT_TYPES, type SubscribableEventType } from '../ews/subscribe.ts';
import {
  addMailbox,
  healthOf,
  InvalidMailboxSpecError,
  listMailboxes,
  type MailboxSetup,
  type MailboxSpec,
  type ManageDeps,
  migrateMailbox,
  removeMailbox,
  setupOf,
  showMailbox,
} from './manage.ts';

export type AdminCommand =
  | ({ readonly command: 'add' } & MailboxSpec)
  | { readonly command: 'remove'; readonly mailbox: string }
  | { readonly command: 'migrate'; readonly mailbox: string; readonly connection: string }
  | { readonly command: 'show'; readonly mailbox: string }
  | { readonly command: 'list'; readonly includeRemoved: boolean };

/** Defaults for `add`: every folder, every event type, a heartbeat every 5 minutes. */
export const ADD_DEFAULTS = {
  folders: 'all',
  eventTypes: SUBSCRIBABLE_EVENT_TYPES,
  // 5 minutes: a lost subscription is noticed within ~10 minutes, and Exchange's retry window
  // (~7.5 minutes at this frequency) outlasts short outages of the callback.
  statusFrequency: 5,
} as const;

/** A mailbox as operators see it: the record plus what it means right now. */
export interface MailboxView {
  readonly mailbox: string;
  readonly mailboxKey: string;
  readonly connection: string;
  /** EWS or Graph, after the connection's kind. */
  readonly source: 'ews' | 'graph';
  readonly state: SubscriptionRecord['state'];
  /** Graph: when the earliest of its subscriptions expires unless renewed; null for EWS or before the first. */
  readonly expiresAt: string | null;
  /** Graph: the subscription per resource (messages, events); absent for EWS. */
  readonly graphSubscriptions?: readonly {
    readonly resource: string;
    readonly subscriptionId: string | null;
    readonly generation: number;
    readonly expiresAt: string | null;
    readonly lastRenewedAt: string | null;
  }[];
  readonly stale: boolean;
  readonly secondsSinceContact: number | null;
  readonly lastContactAt: string | null;
  readonly generation: number;
  readonly subscriptionId: string | null;
  readonly watermark: string | null;
  readonly recovery: string | null;
  readonly attempts: number;
  readonly nextAttemptAt: string | null;
  readonly lastError: string | null;
  readonly folders: 'all' | readonly FolderRef[];
  readonly eventTypes: readonly SubscribableEventType[];
  readonly statusFrequency: number;
  /** The mailbox's own enrichment setting; null: the deployment's default (ENRICH_DEFAULT). */
  readonly enrich: EnrichMode | null;
  /** Extra FieldURIs its events carry. */
  readonly enrichFields: readonly string[];
  readonly createdAt: string;
  /** Folder synchronization still owed: `baseline` after adding, `catchUp` after a loss. */
  readonly syncWork: string | null;
  /** Per folder: how far the SyncState baseline (or the last catch-up) has come. Shown by `show`. */
  readonly folderSync?: readonly {
    readonly folder: string;
    readonly complete: boolean;
    readonly itemsSeen: number;
    /** When the stored SyncState was taken: a catch-up reports every change since. */
    readonly syncStateAt: string;
    /** A checkpoint took a newer SyncState, waiting to be proven safe. */
    readonly checkpointPending: boolean;
  }[];
  /** When the next checkpoint of the SyncStates is due (docs/how-it-works.md, "Checkpoints"). */
  readonly nextCheckpointAt: string | null;
  /** Whether the mailbox is watched yet: what `add` waits for (manage.ts, setupOf). */
  readonly setup: MailboxSetup;
}

export type AdminResponse =
  | {
      readonly ok: true;
      readonly result: MailboxView | readonly MailboxView[];
      readonly progress: readonly string[];
    }
  | {
      readonly ok: false;
      readonly error: { readonly name: string; readonly message: string };
      readonly progress: readonly string[];
    };

export function viewOf(
  record: SubscriptionRecord,
  now: number,
  folders: readonly FolderSyncState[] = [],
): MailboxView {
  const health = healthOf(record, now);
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  return {
    mailbox: record.mailbox,
    mailboxKey: record.mailboxKey,
    connection: record.connection,
    source: record.source ?? 'ews',
    state: record.state,
    expiresAt: iso(health.expiresAt ?? undefined),
    ...(record.graph === undefined
      ? {}
      : {
          graphSubscriptions: GRAPH_RESOURCES.flatMap((resource) => {
            const sub = record.graph?.[resource];
            return sub === undefined
              ? []
              : [
                  {
                    resource,
                    subscriptionId: sub.subscriptionId ?? null,
                    generation: sub.generation,
                    expiresAt: iso(sub.expiresAt),
                    lastRenewedAt: iso(sub.lastRenewedAt),
                  },
                ];
          }),
        }),
    stale: health.stale,
    secondsSinceContact: health.secondsSinceContact,
    lastContactAt: iso(record.lastContactAt),
    generation: record.generation,
    subscriptionId: record.subscriptionId ?? null,
    watermark: record.watermark ?? null,
    recovery: record.recovery ?? null,
    attempts: record.attempts,
    nextAttemptAt: iso(record.nextAttemptAt),
    lastError: record.lastError ?? null,
    folders: record.folders,
    eventTypes: record.eventTypes,
    statusFrequency: record.statusFrequency,
    enrich: record.enrich ?? null,
    enrichFields: record.enrichFields ?? [],
    createdAt: new Date(record.createdAt).toISOString(),
    syncWork: record.syncWork ?? null,
    nextCheckpointAt: iso(record.checkpointDueAt),
    setup: setupOf(record, folders),
  };
}

/** Runs one command. Never throws for a refused command; infrastructure failures do throw. */
export async function runAdminCommand(input: unknown, deps: ManageDeps): Promise<AdminResponse> {
  const progress: string[] = [];
  const withProgress: ManageDeps = {
    ...deps,
    progress: (step) => {
      progress.push(step);
      deps.progress?.(step);
    },
  };
  const failed = (error: Error): AdminResponse => ({
    ok: false,
    error: { name: error.name, message: error.message },
    progress,
  });
  const parsed = parseAdminCommand(input);
  if (!parsed.ok) return failed(parsed.error);
  const command = parsed.value;
  const now = () => deps.clock.now();
  switch (command.command) {
    case 'add': {
      const { command: _, ...spec } = command;
      const added = await addMailbox(spec, withProgress);
      return added.ok ? { ok: true, result: viewOf(added.value, now()), progress } : failed(added.error);
    }
    case 'remove': {
      const removed = await removeMailbox(command.mailbox, withProgress);
      return removed.ok
        ? { ok: true, result: viewOf(removed.value, now()), progress }
        : failed(removed.error);
    }
    case 'migrate': {
      const migrated = await migrateMailbox(command.mailbox, command.connection, withProgress);
      return migrated.ok
        ? { ok: true, result: viewOf(migrated.value, now()), progress }
        : failed(migrated.error);
    }
    case 'show': {
      const shown = await showMailbox(command.mailbox, withProgress);
      if (!shown.ok) return failed(shown.error);
      const states = await deps.syncStates.list(shown.value.mailboxKey);
      const folderSync = states.map((state) => ({
        folder: folderLabel(state.folder),
        complete: state.complete,
        itemsSeen: state.itemsSeen,
        syncStateAt: new Date(state.updatedAt).toISOString(),
        checkpointPending: state.pending !== undefined,
      }));
      return { ok: true, result: { ...viewOf(shown.value, now(), states), folderSync }, progress };
    }
    case 'list': {
      const records = await listMailboxes(withProgress, { includeRemoved: command.includeRemoved });
      return { ok: true, result: records.map((r) => viewOf(r, now())), progress };
    }
  }
}

export function parseAdminCommand(input: unknown): Result<AdminCommand, InvalidMailboxSpecError> {
  const invalid = (field: string, message: string) => err(new InvalidMailboxSpecError(field, message));
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return invalid('command', 'the admin request must be a JSON object like {"command":"list"}');
  }
  const field = (name: string): unknown => Reflect.get(input, name);
  const command = field('command');
  const mailbox = field('mailbox');
  const needMailbox = () => (typeof mailbox === 'string' && mailbox.trim() !== '' ? mailbox : undefined);
  switch (command) {
    case 'remove':
    case 'show': {
      const m = needMailbox();
      return m === undefined
        ? invalid('mailbox', `"${command}" needs a mailbox address`)
        : ok({ command, mailbox: m });
    }
    case 'migrate': {
      const m = needMailbox();
      const connection = field('connection');
      if (m === undefined) return invalid('mailbox', '"migrate" needs a mailbox address');
      if (typeof connection !== 'string' || connection === '')
        return invalid('connection', '"migrate" needs the name of a Graph connection');
      return ok({ command, mailbox: m, connection });
    }
    case 'list': {
      const includeRemoved = field('includeRemoved');
      if (includeRemoved !== undefined && typeof includeRemoved !== 'boolean') {
        return invalid('includeRemoved', 'includeRemoved must be true or false');
      }
      return ok({ command, includeRemoved: includeRemoved ?? false });
    }
    case 'add': {
      const m = needMailbox();
      if (m === undefined) return invalid('mailbox', '"add" needs a mailbox address');
      const connection = field('connection');
      if (typeof connection !== 'string' || connection === '')
        return invalid('connection', '"add" needs the name of an Exchange connection');
      const folders = parseFolders(field('folders') ?? ADD_DEFAULTS.folders);
      if (!folders.ok) return folders;
      const eventTypes = parseEventTypes(field('eventTypes') ?? ADD_DEFAULTS.eventTypes);
      if (!eventTypes.ok) return eventTypes;
      const statusFrequency = field('statusFrequency') ?? ADD_DEFAULTS.statusFrequency;
      if (
        typeof statusFrequency !== 'number' ||
        !Number.isInteger(statusFrequency) ||
        statusFrequency < 1 ||
        statusFrequency > 1440
      ) {
        return invalid(
          'statusFrequency',
          `statusFrequency ${showValue(String(statusFrequency))} must be a whole number of minutes from 1 to 1440`,
        );
      }
      const enrich = field('enrich');
      if (enrich !== undefined && !isEnrichMode(enrich))
        return invalid('enrich', `enrich ${showValue(String(enrich))} must be none, default or full`);
      const rawFields = field('enrichFields') ?? [];
      const enrichFields = Array.isArray(rawFields)
        ? rawFields.filter((f): f is string => typeof f === 'string' && isFieldUri(f))
        : [];
      if (
        !Array.isArray(rawFields) ||
        rawFields.length > MAX_EXTRA_FIELDS ||
        enrichFields.length !== rawFields.length
      ) {
        return invalid(
          'enrichFields',
          `enrichFields must be at most ${MAX_EXTRA_FIELDS} FieldURIs such as calendar:MyResponseType`,
        );
      }
      return ok({
        command,
        mailbox: m,
        connection,
        folders: folders.value,
        eventTypes: eventTypes.value,
        statusFrequency,
        ...(enrich === undefined ? {} : { enrich }),
        ...(enrichFields.length === 0 ? {} : { enrichFields }),
      });
    }
    default:
      return invalid(
        'command',
        `unknown command ${showValue(String(command))}; use add, remove, show or list`,
      );
  }
}

/** `"all"`, or a list of well-known folder names and `{ "folderId": "…" }` objects. */
export function parseFolders(value: unknown): Result<'all' | FolderRef[], InvalidMailboxSpecError> {
  if (value === 'all') return ok('all');
  if (!Array.isArray(value) || value.length === 0) {
    return err(
      new InvalidMailboxSpecError(
        'folders',
        'folders must be "all" or a non-empty list of folder names (calendar, inbox, …) or {"folderId": "…"}',
      ),
    );
  }
  const folders: FolderRef[] = [];
  for (const entry of value) {
    if (typeof entry === 'string' && isDistinguishedFolderName(entry)) {
      folders.push({ distinguishedFolderId: entry });
      continue;
    }
    const folderId: unknown =
      typeof entry === 'object' && entry !== null ? Reflect.get(entry, 'folderId') : undefined;
    if (typeof folderId === 'string' && folderId !== '') {
      folders.push({ folderId });
      continue;
    }
    return err(
      new InvalidMailboxSpecError(
        'folders',
        `folder ${showValue(JSON.stringify(entry) ?? String(entry))} is neither a well-known folder name (calendar, inbox, deleteditems, sentitems, …; lower case) nor {"folderId": "…"}`,
      ),
    );
  }
  return ok(folders);
}

export function parseEventTypes(value: unknown): Result<SubscribableEventType[], InvalidMailboxSpecError> {
  const invalid = (what: string) =>
    err(
      new InvalidMailboxSpecError(
        'eventTypes',
        `${what}; choose from ${SUBSCRIBABLE_EVENT_TYPES.join(', ')}`,
      ),
    );
  if (!Array.isArray(value) || value.length === 0) return invalid('eventTypes must be a non-empty list');
  const types: SubscribableEventType[] = [];
  for (const entry of value) {
    const type = SUBSCRIBABLE_EVENT_TYPES.find((t) => t === entry);
    if (type === undefined) return invalid(`event type ${showValue(String(entry))} cannot be subscribed to`);
    if (!types.includes(type)) types.push(type);
  }
  return ok(types);
}
