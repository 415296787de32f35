/**
 * The change generator's calendar activity: random changes make single meetings and recurring
 * series, move them, collect answers, change and cancel occurrences (exceptions) and cancel
 * meetings, as well as messages arriving in the inbox; the same seed makes the same activity and
 * the same items; and every change still raises exactly the events the ground truth lists (a
 * change to one occurrence is a change of the master, the one stored item of a series).
 */
import { describe, expect, it } from 'vitest';
import type { XmlElement } from '../../functions/ews/xml.ts';
import { CALENDAR_ACTIVITIES } from '../../simulator/items.ts';
import type { ChangeRecord } from '../../simulator/mailbox-store.ts';
import { parseOccurrenceItemId } from '../../simulator/recurrence.ts';
import { type Simulator, startSimulator } from '../../simulator/server.ts';
import { manualClock } from '../support/manual-clock.ts';
import { answers, child, getItemRequest, itemId } from './get-item-support.ts';
import { post } from './support.ts';

const ADA = 'ada@contoso.test';
const BOB = 'bob@contoso.test';

/** A simulator that made `count` random changes (what --change-rate makes), and its ground truth. */
async function run(
  seed: number,
  count: number,
): Promise<{ sim: Simulator; changes: readonly ChangeRecord[] }> {
  const sim = await startSimulator({
    // A clock that stands still: two runs see the same times, so items compare byte for byte.
    clock: manualClock(Date.parse('2026-12-01T08:00:00Z')),
    mailboxes: [ADA, BOB],
    seed,
  });
  for (let i = 0; i < count; i++) sim.makeChange({ mailbox: i % 3 === 2 ? BOB : ADA });
  return { sim, changes: sim.changes() };
}

describe('calendar activity of the change generator', () => {
  it('makes every kind of calendar activity and messages arriving in the inbox', async () => {
    const { sim, changes } = await run(3, 600);
    try {
      const activities = new Set(changes.map((c) => c.calendarActivity).filter((a) => a != null));
      expect([...activities].sort()).toEqual([...CALENDAR_ACTIVITIES].sort());
      expect(changes.filter((c) => c.kind === 'create' && c.folder === 'inbox').length).toBeGreaterThan(50);
      // Calendar activity is a fair part of the mix, not a trickle.
      expect(changes.filter((c) => c.calendarActivity != null).length).toBeGreaterThan(60);
    } finally {
      await sim.stop();
    }
  });

  it('is the same for the same seed, item for item, and differs for another seed', async () => {
    const first = await run(11, 250);
    const second = await run(11, 250);
    const other = await run(12, 250);
    try {
      expect(second.changes).toEqual(first.changes);
      expect(other.changes.map((c) => c.calendarActivity)).not.toEqual(
        first.changes.map((c) => c.calendarActivity),
      );
      // The items themselves are the same too: ADA's calendar items, every property.
      const ids = [
        ...new Set(
          first.changes
            .filter((c) => c.mailbox === ADA && c.folder === 'calendar' && c.kind !== 'delete')
            .map((c) => c.itemId),
        ),
      ].slice(0, 40);
      const fetchAll = async (sim: Simulator) =>
        (await post(sim.ewsUrl, getItemRequest({ baseShape: 'AllProperties' }, ids.map(itemId), ADA))).body;
      expect(await fetchAll(second.sim)).toEqual(await fetchAll(first.sim));
    } finally {
      await Promise.all([first.sim.stop(), second.sim.stop(), other.sim.stop()]);
    }
  });

  it('raises the events of the stored item: a series is created, changed and cancelled as one item', async () => {
    const { sim, changes } = await run(5, 600);
    try {
      const calendarId = sim.mailboxes().find((m) => m.address === ADA)?.folders.calendar?.folderId;
      for (const change of changes.filter((c) => c.calendarActivity != null && c.folder === 'calendar')) {
        const types = change.events.map((e) => e.type);
        const expected =
          change.kind === 'create'
            ? ['CreatedEvent', 'ModifiedEvent', 'FreeBusyChangedEvent']
            : change.kind === 'delete'
              ? ['DeletedEvent', 'ModifiedEvent', 'FreeBusyChangedEvent']
              : ['ModifiedEvent', 'ModifiedEvent', 'FreeBusyChangedEvent'];
        expect(types, `${change.seq} ${change.kind} ${change.calendarActivity}`).toEqual(expected);
        // The item events name the stored item (the master), never an occurrence.
        expect(change.events[0]?.itemId).toBe(change.itemId);
        if (change.mailbox === ADA) expect(change.events[1]?.folderId).toBe(calendarId);
        if (change.calendarActivity === 'exception' || change.calendarActivity === 'occurrenceCancelled') {
          expect(parseOccurrenceItemId(change.occurrenceItemId ?? '')?.masterId).toBe(change.itemId);
        } else {
          expect(change.occurrenceItemId).toBeNull();
        }
      }
    } finally {
      await sim.stop();
    }
  });

  it('leaves each item as its changes say: answers, moved meetings, exceptions, cancellations', async () => {
    const clock = manualClock(Date.parse('2026-12-01T08:00:00Z'));
    const sim = await startSimulator({ clock, mailboxes: [ADA], seed: 4 });
    try {
      const get = async (id: string) =>
        answers(
          (await post(sim.ewsUrl, getItemRequest({ baseShape: 'AllProperties' }, [itemId(id)], ADA))).body,
        )[0];
      const text = (item: XmlElement | undefined, name: string) => child(item, name)?.text;
      const responses = (item: XmlElement | undefined) =>
        ['RequiredAttendees', 'OptionalAttendees']
          .flatMap((list) => child(item, list)?.children ?? [])
          .map((a) => `${text(a, 'ResponseType')}@${text(a, 'LastResponseTime')}`)
          .join() + text(item, 'MyResponseType');
      const seen = new Set<string>();
      for (const organizer of [
        { name: 'Ada', emailAddress: ADA },
        { name: 'Grace', emailAddress: 'grace@fabrikam.test' },
      ]) {
        const series = sim.makeChange({
          mailbox: ADA,
          calendarActivity: 'recurringSeries',
          item: {
            organizer,
            recurrence: { pattern: 'Daily', interval: 1, occurrences: 30, range: 'Numbered' },
          },
        });
        for (let step = 0; step < 25; step++) {
          const before = await get(series.itemId);
          if (text(before?.item, 'IsCancelled') === 'true') break;
          clock.advance(60_000);
          const change = sim.makeChange({ mailbox: ADA, kind: 'modify', itemId: series.itemId });
          const activity = String(change.calendarActivity);
          seen.add(activity);
          const after = await get(series.itemId);
          expect(child(after?.item, 'ItemId')?.attributes.get('ChangeKey'), activity).toBe(change.changeKey);
          switch (change.calendarActivity) {
            case 'attendeeResponse':
              expect(responses(after?.item)).not.toBe(responses(before?.item));
              break;
            case 'reschedule':
              expect(text(after?.item, 'Start')).not.toBe(text(before?.item, 'Start'));
              expect(Number(text(after?.item, 'AppointmentSequenceNumber'))).toBe(
                Number(text(before?.item, 'AppointmentSequenceNumber')) + 1,
              );
              break;
            case 'exception': {
              const exception = await get(String(change.occurrenceItemId));
              expect(text(exception?.item, 'CalendarItemType')).toBe('Exception');
              expect(text(exception?.item, 'Start')).not.toBe(text(exception?.item, 'OriginalStart'));
              break;
            }
            case 'occurrenceCancelled':
              expect((await get(String(change.occurrenceItemId)))?.code).toBe(
                'ErrorCalendarOccurrenceIsDeletedFromRecurrence',
              );
              expect(child(after?.item, 'DeletedOccurrences')?.children.length).toBeGreaterThan(0);
              break;
            case 'cancelled':
              expect(organizer.emailAddress).not.toBe(ADA);
              expect(text(after?.item, 'IsCancelled')).toBe('true');
              expect(text(after?.item, 'Subject')).toMatch(/^Canceled: /);
              expect(text(after?.item, 'LegacyFreeBusyStatus')).toBe('Free');
              break;
            case 'edit':
              break;
            default:
              throw new Error(`a modify of a series was ${activity}`);
          }
        }
      }
      expect([...seen].sort()).toEqual(
        ['attendeeResponse', 'cancelled', 'edit', 'exception', 'occurrenceCancelled', 'reschedule'].sort(),
      );
    } finally {
      await sim.stop();
    }
  });
});
