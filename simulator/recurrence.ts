/**
 * Recurring series: the patterns the simulator makes, when each occurrence falls, and the ids of
 * occurrences and exceptions.
 *
 * Exchange keeps a series as one stored item, the recurring master; its occurrences are not items
 * of their own, and an exception (an occurrence someone changed) is kept inside the master. So
 * every change to a series, an exception included, is a change of the master: the events name the
 * master's ItemId, and SyncFolderItems reports the master. Occurrences and exceptions still have
 * ItemIds of their own (a client learns them from the master's FirstOccurrence, LastOccurrence and
 * ModifiedOccurrences, or names one by `t:OccurrenceItemId` with the master's id and an
 * InstanceIndex), and GetItem answers them as CalendarItemType Occurrence or Exception.
 *
 * An occurrence's id here is derived from the master's id and the instance index, so nothing is
 * stored per occurrence and finding the master is one map lookup. All times are UTC (the
 * simulated mailboxes' time zone).
 */

/** The patterns the generator makes (t:RecurrencePatternTypes; the others are not simulated). */
export type RecurrencePattern = 'Daily' | 'Weekly' | 'AbsoluteMonthly';
export const RECURRENCE_PATTERNS: readonly RecurrencePattern[] = ['Daily', 'Weekly', 'AbsoluteMonthly'];

export interface Recurrence {
  readonly pattern: RecurrencePattern;
  /** Every `interval` days, weeks or months. */
  readonly interval: number;
  /** How many occurrences the series has (the range ends after this many). */
  readonly occurrences: number;
  /** How the range is written: NumberedRecurrence, or EndDateRecurrence on the last occurrence's date. */
  readonly range: 'Numbered' | 'EndDate';
}

/** The longest series the simulator makes or accepts: keeps every computation small. */
export const MAX_OCCURRENCES = 100;

/** An occurrence someone changed: it differs from the series in time, place or subject. */
export interface OccurrenceException {
  /** 1-based InstanceIndex of the occurrence. */
  readonly index: number;
  readonly start: number;
  readonly end: number;
  readonly subject: string;
  readonly location: string;
  readonly changeKey: string;
  readonly lastModified: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
export const DAY_NAMES = [
  'Sunday',
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
] as const;

/** The original start of occurrence `index` (1-based) of a series whose first occurrence starts at `start`. */
export function occurrenceStart(recurrence: Recurrence, start: number, index: number): number {
  const n = index - 1;
  switch (recurrence.pattern) {
    case 'Daily':
      return start + n * recurrence.interval * DAY_MS;
    case 'Weekly':
      return start + n * recurrence.interval * 7 * DAY_MS;
    case 'AbsoluteMonthly': {
      const d = new Date(start);
      return Date.UTC(
        d.getUTCFullYear(),
        d.getUTCMonth() + n * recurrence.interval,
        d.getUTCDate(),
        d.getUTCHours(),
        d.getUTCMinutes(),
      );
    }
  }
}

/** xs:date of an instant (UTC), as Exchange writes a recurrence range's dates. */
export function xsDate(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 10)}Z`;
}

/** The first free-form day of a series: the weekday (Weekly) or day of month (AbsoluteMonthly) of its start. */
export function dayOfWeek(epochMs: number): (typeof DAY_NAMES)[number] {
  return DAY_NAMES[new Date(epochMs).getUTCDay()] ?? 'Sunday';
}

/** Kind byte of an occurrence id: distinct from every id kind random.ts mints. */
const OCCURRENCE_ID_KIND = 0x16;

/**
 * The ItemId of occurrence `index` of the master `masterId`: the kind byte, the index, then the
 * master id's bytes. Stable for the master's life; a moved master (new id) has new occurrence ids.
 */
export function occurrenceItemId(masterId: string, index: number): string {
  const master = Buffer.from(masterId, 'base64');
  const out = Buffer.alloc(3 + master.length);
  out[0] = OCCURRENCE_ID_KIND;
  out.writeUInt16LE(index, 1);
  master.copy(out, 3);
  return out.toString('base64');
}

/** The master id and index an occurrence id names, or undefined when it is not an occurrence id. */
export function parseOccurrenceItemId(id: string): { masterId: string; index: number } | undefined {
  // Cheap check first: every occurrence id starts with the kind byte 0x16, "F" in base64.
  if (!id.startsWith('F')) return undefined;
  const bytes = Buffer.from(id, 'base64');
  if (bytes.length < 4 || bytes[0] !== OCCURRENCE_ID_KIND) return undefined;
  return { masterId: bytes.subarray(3).toString('base64'), index: bytes.readUInt16LE(1) };
}

/** Duration as Exchange writes it (xs:duration): PT30M, PT1H30M, P1D. */
export function xsDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes > 0 && minutes % (24 * 60) === 0) return `P${minutes / (24 * 60)}D`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `PT${h > 0 ? `${h}H` : ''}${m > 0 || h === 0 ? `${m}M` : ''}`;
}
