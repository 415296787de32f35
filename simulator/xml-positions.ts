/**
 * Where an element or attribute of a request stands in its text: the LineNumber and LinePosition
 * Exchange puts in an ErrorSchemaValidation fault. Exchange's .NET reader counts both from 1, the
 * position being that of the name (after `<` or `</`) or of the attribute's name.
 *
 * Worked out only for a request that failed, from the text: the parsed tree keeps no positions
 * (fast-xml-parser has none to give), but its elements are the text's start tags in order.
 */
import type { XmlElement } from '../functions/ews/xml.ts';

export interface TextPosition {
  /** 1-based; 0 when the position is not known, as .NET reports it then. */
  readonly line: number;
  readonly position: number;
}

export const UNKNOWN_POSITION: TextPosition = { line: 0, position: 0 };

/** Offsets of each element's name in its start tag and in its end tag, in document order. */
interface Tags {
  readonly starts: number[];
  readonly ends: number[];
}

function scanTags(text: string): Tags {
  const starts: number[] = [];
  const ends: number[] = [];
  const open: number[] = [];
  let at = text.indexOf('<');
  while (at >= 0) {
    let next = at + 1;
    if (text.startsWith('<!--', at)) next = text.indexOf('-->', at + 4) + 3;
    else if (text.startsWith('<![CDATA[', at)) next = text.indexOf(']]>', at + 9) + 3;
    else if (text.startsWith('<?', at)) next = text.indexOf('?>', at + 2) + 2;
    else if (text.startsWith('</', at)) {
      const index = open.pop();
      if (index !== undefined) ends[index] = at + 2;
    } else {
      const index = starts.length;
      starts.push(at + 1);
      // '>' may stand unescaped in a quoted attribute value: skip quoted values to find the end.
      let end = at + 1;
      let quote: string | null = null;
      for (; end < text.length; end++) {
        const c = text[end];
        if (quote !== null) {
          if (c === quote) quote = null;
        } else if (c === '"' || c === "'") quote = c;
        else if (c === '>') break;
      }
      if (text[end - 1] === '/') ends[index] = at + 1;
      else open.push(index);
      next = end + 1;
    }
    if (next <= at) break;
    at = text.indexOf('<', next);
  }
  return { starts, ends };
}

function preOrderIndex(root: XmlElement, target: XmlElement): number {
  let index = -1;
  const visit = (element: XmlElement): boolean => {
    index++;
    if (element === target) return true;
    return element.children.some(visit);
  };
  return visit(root) ? index : -1;
}

function toPosition(text: string, offset: number): TextPosition {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, position: offset - lineStart + 1 };
}

/**
 * Where `node` (its start tag, its end tag with `end`, or one of its attributes) stands in `text`,
 * the document whose parsed root is `root`.
 */
export function positionOf(
  text: string,
  root: XmlElement,
  node: XmlElement,
  where: { readonly attribute?: string; readonly end?: boolean } = {},
): TextPosition {
  const index = preOrderIndex(root, node);
  if (index < 0) return UNKNOWN_POSITION;
  const tags = scanTags(text);
  const start = tags.starts[index];
  if (start === undefined) return UNKNOWN_POSITION;
  if (where.end) return toPosition(text, tags.ends[index] ?? start);
  if (where.attribute !== undefined) {
    const tagEnd = text.indexOf('>', start);
    const tag = text.slice(start, tagEnd < 0 ? undefined : tagEnd);
    const found = new RegExp(`\\s((?:[\\w.-]+:)?${where.attribute})\\s*=`).exec(tag);
    if (found?.[1] !== undefined) return toPosition(text, start + found.index + found[0].indexOf(found[1]));
  }
  return toPosition(text, start);
}

/** The line and column a well-formedness message names ("(line 3, column 7)"), if it names one. */
export function positionInMessage(message: string): TextPosition {
  const found = /\(line (\d+)(?:, column (\d+))?\)/.exec(message);
  if (found === null) return UNKNOWN_POSITION;
  return { line: Number(found[1]), position: Number(found[2] ?? 0) };
}
