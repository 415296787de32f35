/**
 * The mailbox store on its own (no HTTP, a clock that stands still): the mix of random changes,
 * the automatic changes `changeRate` makes, and that the ground truth accounts for every item.
 */
import { describe, expect, it } from 'vitest';
import { CHANGE_KINDS, type ChangeKind } from '../../simulator/change-planner.ts';
import { ITEM_FOLDERS, type ItemFolder } from '../../simulator/folders.ts';
import { type ChangeRecord, MailboxStore } from '../../simulator/mailbox-store.ts';
import { createIdMinter, createRandom } from '../../simulator/random.ts';
import { manualClock } from '../support/manual-clock.ts';

const ADA = 'ada@contoso.test';

function store(seed: number): MailboxStore {
  return new MailboxStore({
    clock: manualClock(),
    addresses: [ADA],
    random: createRandom(seed, 'mailboxes'),
    ids: createIdMinter(createRandom(seed, 'ids')),
  });
}

/** Replays the ground truth: which item ids each folder holds. */
function replay(changes: readonly ChangeRecord[]): Map<ItemFolder, Set<string>> {
  const folders = new Map(ITEM_FOLDERS.map((f) => [f, new Set<string>()]));
  const at = (folder: ItemFolder) => folders.get(folder) ?? new Set<string>();
  for (const change of changes) {
    switch (change.kind) {
      case 'create':
      case 'copy': // the original stays where it is
        at(change.folder).add(change.itemId);
        break;
      case 'move':
        if (change.oldFolder !== null && change.oldItemId !== null)
          at(change.oldFolder).delete(change.oldItemId);
        at(change.folder).add(change.itemId);
        break;
      case 'delete':
        at(change.folder).delete(change.itemId);
        break;
      case 'modify':
      case 'readFlag':
        expect(at(change.folder).has(change.itemId), `${change.kind} of an item the truth has`).toBe(true);
        break;
    }
  }
  return folders;
}

describe('random changes', () => {
  it('are mostly creates and edits, copies the rarest, and file items into the custom folder', () => {
    const mailboxes = store(5);
    for (let i = 0; i < 3000; i++) mailboxes.makeChange({ mailbox: ADA });
    const changes = mailboxes.changes();
    const count = (kind: ChangeKind) => changes.filter((c) => c.kind === kind).length;
    for (const kind of CHANGE_KINDS) expect(count(kind), kind).toBeGreaterThan(0);
    // Weights 6:4:2:2:1:2 (copy 1 in 17); an empty folder turns a few edits into creates.
    expect(count('copy') / changes.length).toBeGreaterThan(0.02);
    expect(count('copy') / changes.length).toBeLessThan(0.1);
    for (const kind of CHANGE_KINDS) if (kind !== 'copy') expect(count('copy')).toBeLessThan(count(kind));
    // The custom folder is a place items are created in, moved to and from, and copied to.
    const intoProjects = (kind: ChangeKind) =>
      changes.some((c) => c.kind === kind && c.folder === 'projects');
    for (const kind of ['create', 'move', 'copy'] as const) expect(intoProjects(kind), kind).toBe(true);
    expect(changes.some((c) => c.kind === 'move' && c.oldFolder === 'projects')).toBe(true);
    // Copies are of messages, to another folder, with a new id; the original stays.
    for (const copy of changes.filter((c) => c.kind === 'copy')) {
      expect(copy.element).toBe('Message');
      expect(copy.oldFolder).not.toBe(copy.folder);
      expect(copy.oldItemId).not.toBe(copy.itemId);
      expect(copy.events.map((e) => e.type)).toEqual(['CopiedEvent', 'ModifiedEvent']);
    }
    // The ground truth accounts for every item of every folder.
    const truth = replay(changes);
    const [described] = mailboxes.describeMailboxes();
    for (const folder of ITEM_FOLDERS) {
      expect(truth.get(folder)?.size, folder).toBe(described?.folders[folder]?.items);
    }
  });
});
