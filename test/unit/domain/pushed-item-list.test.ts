import { describe, expect, it } from 'vitest';
import { pushedItemListChanges } from '../../../functions/domain/pushed-item-list.ts';
import type { NotificationEvent, NotificationEventType } from '../../../functions/ews/notification.ts';

function event(
  type: NotificationEventType,
  fields: { itemId?: string; oldItemId?: string; folderId?: string; parent?: string } = {},
): NotificationEvent {
  const id = (value: string | undefined) => (value === undefined ? null : { id: value, changeKey: null });
  return {
    type,
    watermark: 'W',
    timeStamp: null,
    itemId: id(fields.itemId),
    folderId: id(fields.folderId),
    parentFolderId: id(fields.parent ?? 'inbox-id'),
    oldItemId: id(fields.oldItemId),
    oldFolderId: null,
    oldParentFolderId: null,
    unreadCount: null,
  };
}

describe('pushedItemListChanges', () => {
  it('notes items that pushes say exist, with their folder', () => {
    const changes = pushedItemListChanges([
      event('CreatedEvent', { itemId: 'A' }),
      event('NewMailEvent', { itemId: 'A' }),
      event('CopiedEvent', { itemId: 'B', oldItemId: 'A0', parent: 'archive-id' }),
    ]);
    expect(changes.noted).toEqual([
      { itemId: 'A', folderId: 'inbox-id' },
      { itemId: 'B', folderId: 'archive-id' },
    ]);
    // A copy leaves the original where it was.
    expect(changes.forgotten).toEqual([]);
  });

  it('forgets deleted items and the old id of a moved item, and notes its new id', () => {
    const changes = pushedItemListChanges([
      event('MovedEvent', { itemId: 'M2', oldItemId: 'M1', parent: 'projects-id' }),
      event('DeletedEvent', { itemId: 'D' }),
    ]);
    expect(changes.noted).toEqual([{ itemId: 'M2', folderId: 'projects-id' }]);
    expect(changes.forgotten).toEqual(['M1', 'D']);
  });

  it('keeps only the net effect per item, so one batch never names an item twice', () => {
    const changes = pushedItemListChanges([
      event('CreatedEvent', { itemId: 'A' }),
      event('ModifiedEvent', { itemId: 'A' }),
      event('DeletedEvent', { itemId: 'A' }),
      event('CreatedEvent', { itemId: 'B' }),
      event('MovedEvent', { itemId: 'B2', oldItemId: 'B' }),
    ]);
    expect(changes.noted).toEqual([{ itemId: 'B2', folderId: 'inbox-id' }]);
    expect(changes.forgotten).toEqual(['A', 'B']);
  });

  it('ignores folder events, modifications and heartbeats', () => {
    const changes = pushedItemListChanges([
      event('CreatedEvent', { folderId: 'F' }),
      event('DeletedEvent', { folderId: 'F' }),
      event('ModifiedEvent', { itemId: 'A' }),
      event('FreeBusyChangedEvent', { itemId: 'A' }),
      event('StatusEvent'),
    ]);
    expect(changes).toEqual({ noted: [], forgotten: [] });
  });

  it('notes an item whose push named no folder, with folder null', () => {
    const changes = pushedItemListChanges([
      { ...event('CreatedEvent', { itemId: 'A' }), parentFolderId: null },
    ]);
    expect(changes.noted).toEqual([{ itemId: 'A', folderId: null }]);
  });
});
