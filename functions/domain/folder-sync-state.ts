/**
 * Where a folder's SyncFolderItems synchronization stands, as the renewer stores it and mailbox
 * management shows it.
 */
import type { FolderRef } from '../ews/request.ts';

/** Where one folder's synchronization stands. */
export interface FolderSyncState {
  readonly folder: FolderRef;
  /** Absent until the first page: Exchange then starts from the beginning. */
  readonly syncState?: string;
  /** True once a page said IncludesLastItemInRange. */
  readonly complete: boolean;
  /** Changes read so far by the baseline (progress for people). */
  readonly itemsSeen: number;
  readonly updatedAt: number;
  /**
   * A newer SyncState a checkpoint took from `syncState` (renewer/checkpoint.ts), current once
   * proven safe. Storing a state (`put`) drops it: the checkpoint then starts again.
   */
  readonly pending?: PendingSyncState;
}

export interface PendingSyncState {
  readonly syncState: string;
  /**
   * The current SyncState it was taken from; it only replaces that one. Null: taken from scratch
   * for a folder with none (one created after the baseline); it only becomes current while the
   * folder still has none.
   */
  readonly basedOn: string | null;
}

export function folderLabel(folder: FolderRef): string {
  return 'folderId' in folder ? `folder ${folder.folderId.slice(0, 16)}…` : folder.distinguishedFolderId;
}
