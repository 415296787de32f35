import { describe, expect, expectTypeOf, it } from 'vitest';
import type { ExchangeEventType, LifecycleKind, ResyncChangeType } from '../../../events/bridge-event.ts';
import {
  changeNotificationId,
  eventTypeOf,
  type GraphMappedEventType,
  itemTypeOf,
  lifecycleActionOf,
  parseNotificationResource,
  resyncChangeTypeOf,
} from '../../../functions/graph/events.ts';
import type { ChangeNotification } from '../../../functions/graph/notification.ts';

const notification: ChangeNotification = {
  kind: 'change',
  subscriptionId: 'sub-1',
  clientState: 'cs',
  changeType: 'updated',
  resource: 'Users/u-1/Messages/m-1',
  resourceData: { id: 'm-1', odataType: '#Microsoft.Graph.Message', odataId: null, etag: 'W/"1"' },
  tenantId: 't',
  subscriptionExpirationDateTime: null,
};

describe('Graph → the bridge’s event vocabulary', () => {
  it('maps change types onto the EWS event types they stand for', () => {
    expect(eventTypeOf('created')).toBe('CreatedEvent');
    expect(eventTypeOf('updated')).toBe('ModifiedEvent');
    expect(eventTypeOf('deleted')).toBe('DeletedEvent');
    expectTypeOf<GraphMappedEventType>().toExtend<ExchangeEventType>();
  });

  it('maps lifecycle notifications onto actions and lifecycle events', () => {
    expect(lifecycleActionOf('reauthorizationRequired')).toEqual({ action: 'renew', publish: null });
    expect(lifecycleActionOf('subscriptionRemoved')).toEqual({
      action: 'recreateAndCatchUp',
      publish: 'gap-detected',
    });
    expect(lifecycleActionOf('missed')).toEqual({ action: 'catchUp', publish: 'gap-detected' });
    expectTypeOf<'gap-detected'>().toExtend<LifecycleKind>();
  });

  it('maps delta changes onto resync change types', () => {
    const present = { kind: 'present', id: 'm' } as const;
    expect(resyncChangeTypeOf({ kind: 'removed', id: 'm', reason: 'deleted' }, 'incremental')).toBe('Delete');
    expect(
      resyncChangeTypeOf(
        {
          ...present,
          odataType: null,
          changeKey: null,
          parentFolderId: null,
          lastModifiedDateTime: null,
          isRead: null,
          eventType: null,
          seriesMasterId: null,
        },
        'full',
      ),
    ).toBe('Create');
    expect(
      resyncChangeTypeOf(
        {
          ...present,
          odataType: null,
          changeKey: null,
          parentFolderId: null,
          lastModifiedDateTime: null,
          isRead: null,
          eventType: null,
          seriesMasterId: null,
        },
        'incremental',
      ),
    ).toBe('Update');
    expectTypeOf<ReturnType<typeof resyncChangeTypeOf>>().toExtend<ResyncChangeType>();
  });

  it('tells messages from events and reads the user of a resource', () => {
    expect(itemTypeOf(notification)).toBe('message');
    expect(itemTypeOf({ resource: 'Users/u/Events/e', resourceData: null })).toBe('event');
    expect(itemTypeOf({ resource: 'Users/u/Things/x', resourceData: null })).toBe('unknown');
    expect(parseNotificationResource('Users/u-1/Messages/m-1')).toEqual({
      userId: 'u-1',
      collection: 'messages',
      itemId: 'm-1',
    });
    expect(parseNotificationResource('/users/u-1/events/e')).toMatchObject({ collection: 'events' });
    expect(parseNotificationResource('Users/u-1/mailFolders/x/Messages/m')).toBeUndefined();
    expect(parseNotificationResource("Users('u-1')/Messages('m-1')")).toEqual({
      userId: 'u-1',
      collection: 'messages',
      itemId: 'm-1',
    });
    expect(parseNotificationResource("Users('u-1')/Events/e-1")).toMatchObject({
      userId: 'u-1',
      itemId: 'e-1',
    });
    expect(parseNotificationResource('Users//Messages/m')).toBeUndefined();
    expect(parseNotificationResource("Users('u-1'/Messages/m")).toBeUndefined();
  });

  it('gives a redelivery the same id and two updates different ids', () => {
    const id = changeNotificationId('mailbox-key', notification);
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(changeNotificationId('mailbox-key', { ...notification })).toBe(id);
    const next = {
      ...notification,
      resourceData: { id: 'm-1', odataType: null, odataId: null, etag: 'W/"2"' },
    };
    expect(changeNotificationId('mailbox-key', next)).not.toBe(id);
    expect(changeNotificationId('mailbox-key', { ...notification, changeType: 'deleted' })).not.toBe(id);
  });
});
