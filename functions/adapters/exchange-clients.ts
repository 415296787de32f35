/**
 * One EWS client per configured connection, shared by every call in a container (each client
 * keeps its OAuth token), and rebuilt when the connection's configuration changes (a rotated
 * secret). Unknown connection names are answered `undefined`; an unreadable or invalid
 * configuration is thrown, because nothing can be done without it.
 */
import type { Clock } from '../core/clock.ts';
import { err, ok } from '../core/result.ts';
import { EwsProtocolError } from '../ews/errors.ts';
import { MAX_FIND_FOLDER_ENTRIES } from '../ews/folders.ts';
import type { FolderRef } from '../ews/request.ts';
import type { RenewalExchange } from '../renewer/job.ts';
import type { ItemPresence } from '../renewer/reconcile.ts';
import { type ConnectionsSource, clientsByConnection } from './connections-source.ts';
import { createEwsClient, type EwsClient, type EwsClientDeps } from './ews/client.ts';

export interface ExchangeClients {
  client(name: string): Promise<EwsClient | undefined>;
  names(): Promise<readonly string[]>;
}

export function exchangeClients(
  source: ConnectionsSource,
  deps: EwsClientDeps & { clock?: Clock } = {},
): ExchangeClients {
  return clientsByConnection({ get: (name) => source.get(name), all: () => source.all() }, (connection) =>
    createEwsClient(connection, deps),
  );
}

/**
 * The EWS client as the lifecycle sees it: Subscribe, SyncFolderItems, FindFolder (every folder,
 * page by page) and GetItem existence checks.
 */
export function asRenewalExchange(client: EwsClient): RenewalExchange {
  return {
    // Every error of the client says whether it is retryable (ExchangeRequestError).
    subscribe: (mailbox, request) => client.subscribe(mailbox, request),
    syncFolderItems: (mailbox, request) => client.syncFolderItems(mailbox, request),
    async listFolders(mailbox) {
      const folders: FolderRef[] = [];
      let offset = 0;
      for (;;) {
        const page = await client.findFolders(mailbox, {
          maxEntriesReturned: MAX_FIND_FOLDER_ENTRIES,
          offset,
        });
        if (!page.ok) return err(page.error);
        for (const folder of page.value.folders)
          if (folder.kind !== 'SearchFolder') folders.push({ folderId: folder.folderId });
        const next = page.value.nextOffset;
        if (page.value.includesLastItemInRange || next === null) return ok(folders);
        if (next <= offset) {
          const stuck = new EwsProtocolError(
            'FindFolder',
            `IndexedPagingOffset ${next} does not move past offset ${offset}, so paging would never end`,
          );
          return err(stuck);
        }
        offset = next;
      }
    },
    async checkItems(mailbox, itemIds) {
      const result = await client.getItems(
        mailbox,
        itemIds.map((id) => ({ id })),
        { baseShape: 'IdOnly' },
      );
      if (!result.ok) return err(result.error);
      const answers: ItemPresence[] = [];
      for (const answer of result.value) {
        if (answer.ok) {
          answers.push('present');
          continue;
        }
        const { category } = answer.error;
        if (category === 'NotFound') answers.push('missing');
        // Worth retrying the whole check later rather than leaving the item undecided.
        else if (category === 'ServerBusy' || category === 'MailboxMoved' || category === 'Transient')
          return err(answer.error);
        else answers.push({ undetermined: answer.error.message });
      }
      return { ok: true, value: answers };
    },
  };
}
