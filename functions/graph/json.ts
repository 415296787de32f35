/**
 * Reading untrusted JSON (Graph's answers, and bodies POSTed to the receiver by anyone) without
 * casting and without trusting the prototype chain.
 *
 * `JSON.parse` makes every key an own data property, `__proto__` included, so parsing itself is
 * safe; the danger is afterwards: `obj.constructor` on an object without that key reads
 * `Object.prototype.constructor`, and `Object.assign({}, obj)` runs the `__proto__` setter. So
 * values are read only through `own()`, and decoded results are always built as new objects with
 * the fields named here, never by copying what came in.
 */
import { err, ok, type Result } from '../core/result.ts';
import { formatCount } from '../core/show.ts';

export type JsonObject = { readonly [key: string]: unknown };

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value of an own property, or undefined (never one inherited from a prototype). */
export function own(object: JsonObject, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/** A non-empty string of at most `max` characters, or undefined. */
export function ownText(object: JsonObject, key: string, max: number): string | undefined {
  const value = own(object, key);
  return typeof value === 'string' && value !== '' && value.length <= max ? value : undefined;
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Parses a body of at most `maxBytes` bytes. Refusals are one short line that never echoes the
 * body (a hostile body must not reach the logs whole).
 */
export interface JsonRefusal {
  readonly tooLarge: boolean;
  readonly detail: string;
}

export function parseJsonBody(body: string | Uint8Array, maxBytes: number): Result<unknown, JsonRefusal> {
  const bytes = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.byteLength;
  if (bytes > maxBytes) {
    return err({
      tooLarge: true,
      detail: `the body is ${formatCount(bytes)} bytes, more than the ${formatCount(maxBytes)} accepted`,
    });
  }
  let text: string;
  try {
    text = typeof body === 'string' ? body : decoder.decode(body);
  } catch {
    return err({ tooLarge: false, detail: 'the body is not valid UTF-8' });
  }
  try {
    return ok(JSON.parse(text));
  } catch (error) {
    // V8's messages name a position, never more than a few characters of the input.
    const why = error instanceof Error ? error.message.slice(0, 120) : 'unparsable';
    return err({ tooLarge: false, detail: `the body is not JSON (${why})` });
  }
}
