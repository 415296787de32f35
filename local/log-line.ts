/**
 * How `npm start` shows a function's log entry: one line, with the reason in full (a cut reason
 * is no reason), and, for the live view, folded to the terminal's width so redrawing in place
 * knows how many rows it drew.
 */
import type { LocalLogEntry } from './options.ts';

export function logLine(entry: LocalLogEntry, time: string): string {
  const detail = reasonOf(entry.extra);
  return `${time} [${entry.service}] ${entry.level}: ${entry.message}${detail === '' ? '' : ` (${detail})`}`;
}

/**
 * What the entry says went wrong or was decided: an error, a renewal's outcome's error, a
 * receiver decision, or the job's reason, in that order.
 */
function reasonOf(extra: Record<string, unknown>): string {
  const outcome = extra.outcome;
  const outcomeError =
    typeof outcome === 'object' && outcome !== null ? Reflect.get(outcome, 'error') : undefined;
  const reason = extra.error ?? outcomeError ?? extra.decision ?? extra.reason;
  if (reason === undefined || reason === null || reason === '') return '';
  return typeof reason === 'object' ? JSON.stringify(reason) : String(reason);
}

/** `line` as rows of at most `width` characters, the rows after the first indented. */
export function fold(line: string, width: number): string[] {
  const indent = '    ';
  if (width <= indent.length || line.length <= width) return [line];
  const rows = [line.slice(0, width)];
  for (let at = width; at < line.length; at += width - indent.length)
    rows.push(indent + line.slice(at, at + width - indent.length));
  return rows;
}
