/**
 * The project's one XML module. Everything that reads or writes EWS XML goes through here, so the
 * parser is configured in exactly one place:
 *
 * - namespace-aware: elements are matched by namespace URI and local name, never by prefix
 *   (Exchange uses `soap11:`, `s:`, `soap:`, default namespaces and redeclarations freely);
 * - attributes kept, values never coerced (ids and watermarks are opaque, case-sensitive strings);
 * - repeated elements always come back as arrays, in document order (events of different types
 *   interleave, and their order is the watermark chain);
 * - hostile input refused before and during parsing: size cap, no DOCTYPE or entity declarations
 *   (billion laughs, external entities), bounded nesting, strict well-formedness (a truncated
 *   delivery must never be mistaken for a shorter notification).
 *
 * fast-xml-parser does not resolve namespaces and, by itself, accepts truncated or mismatched
 * documents; its validator closes that gap and the namespace resolution is done here.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { err, ok, type Result } from '../core/result.ts';
import { formatCount, showValue } from '../core/show.ts';

export const NS = {
  soap11: 'http://schemas.xmlsoap.org/soap/envelope/',
  soap12: 'http://www.w3.org/2003/05/soap-envelope',
  messages: 'http://schemas.microsoft.com/exchange/services/2006/messages',
  types: 'http://schemas.microsoft.com/exchange/services/2006/types',
  errors: 'http://schemas.microsoft.com/exchange/services/2006/errors',
  xml: 'http://www.w3.org/XML/1998/namespace',
} as const;

/** One element after namespace resolution. */
export interface XmlElement {
  /** Namespace URI; '' when the element is in no namespace. */
  readonly ns: string;
  readonly name: string;
  /**
   * Unqualified attributes by local name; qualified ones as `{uri}local`. Declarations excluded.
   * Values exactly as sent, spaces included (after XML's own attribute-value normalization).
   */
  readonly attributes: ReadonlyMap<string, string>;
  readonly children: readonly XmlElement[];
  /**
   * The element's own character data (text and CDATA), entities decoded, surrounding space trimmed.
   * A character reference to a character XML 1.0 forbids reads as U+FFFD (see decodeReferences).
   */
  readonly text: string;
}

export interface XmlLimits {
  /** Largest accepted document, in UTF-8 bytes. */
  readonly maxBytes: number;
  /** Deepest accepted element nesting. */
  readonly maxDepth: number;
}

export type XmlProblemReason = 'TooLarge' | 'Doctype' | 'Malformed' | 'TooDeep';

/** Why a document was refused; callers wrap it in their own typed error. */
export interface XmlProblem {
  readonly reason: XmlProblemReason;
  readonly message: string;
}

const PARSER_OPTIONS = {
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  // Off: fast-xml-parser trims attribute values too, and ids are opaque (Id=" q07AAAAA==" is a
  // different id from Id="q07AAAAA=="). Element text is trimmed in toElement instead.
  trimValues: false,
  // Entities are decoded here (decodeReferences) so that an unknown one is an error, not text.
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: '#cdata',
  textNodeName: '#text',
  commentPropName: false,
  removeNSPrefix: false,
  // No callback here needs the element path; building it as a string costs ~6% of a parse.
  jPath: false,
} as const;

const parsers = new Map<number, XMLParser>();
function parserFor(maxDepth: number): XMLParser {
  let parser = parsers.get(maxDepth);
  if (!parser) {
    parser = new XMLParser({ ...PARSER_OPTIONS, maxNestedTags: maxDepth });
    parsers.set(maxDepth, parser);
  }
  return parser;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Parses a whole document into its root element, or says why it was refused. Never throws for any
 * input: every failure of the underlying parser is reported as `Malformed`.
 */
export function parseXml(input: string | Uint8Array, limits: XmlLimits): Result<XmlElement, XmlProblem> {
  const size = byteLength(input, limits.maxBytes);
  if (size > limits.maxBytes) {
    return err({
      reason: 'TooLarge',
      message: `document is ${size > limits.maxBytes * 3 ? 'over ' : ''}${formatCount(size)} bytes, over the ${formatCount(limits.maxBytes)}-byte limit`,
    });
  }
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    try {
      text = utf8.decode(input);
    } catch {
      return err({ reason: 'Malformed', message: 'document is not valid UTF-8' });
    }
  }
  // An optional UTF-8 byte-order mark (the EWS schema files themselves start with one).
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  const declaration = findMarkupDeclaration(text);
  if (declaration >= 0) {
    return err({
      reason: 'Doctype',
      message: `document contains a DOCTYPE or entity declaration at offset ${declaration} (${showValue(text.slice(declaration, declaration + 40))}); EWS messages never carry one, so it is refused as hostile`,
    });
  }
  const encoding = declaredEncoding(text);
  if (encoding !== null && !/^(utf-8|utf8|us-ascii)$/i.test(encoding)) {
    return err({
      reason: 'Malformed',
      message: `XML declaration names encoding ${showValue(encoding)}; only UTF-8 is accepted`,
    });
  }

  const valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    return err({
      reason: 'Malformed',
      message: `document is not well-formed XML: ${oneLine(msg)} (line ${line}${col === undefined ? '' : `, column ${col}`})`,
    });
  }

  let nodes: unknown;
  try {
    nodes = parserFor(limits.maxDepth).parse(text);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (/nested tags/i.test(message)) {
      return err({ reason: 'TooDeep', message: `elements nest deeper than ${limits.maxDepth} levels` });
    }
    return err({ reason: 'Malformed', message: `document is not well-formed XML: ${oneLine(message)}` });
  }
  return buildTree(nodes, limits.maxDepth);
}

/**
 * Counts UTF-8 bytes, stopping early once the answer is clearly over `cap` (a string never has
 * fewer bytes than UTF-16 units, nor more than three times as many).
 */
function byteLength(input: string | Uint8Array, cap: number): number {
  if (typeof input !== 'string') return input.byteLength;
  if (input.length > cap) return input.length;
  if (input.length * 3 <= cap) return input.length;
  return Buffer.byteLength(input, 'utf8');
}

/** Offset of the first `<!` that is not a comment or CDATA section, or -1. */
function findMarkupDeclaration(text: string): number {
  let at = text.indexOf('<!');
  while (at >= 0) {
    if (text.startsWith('<!--', at)) {
      const end = text.indexOf('-->', at + 4);
      if (end < 0) return -1; // unterminated comment: the validator reports it as malformed
      at = text.indexOf('<!', end + 3);
    } else if (text.startsWith('<![CDATA[', at)) {
      const end = text.indexOf(']]>', at + 9);
      if (end < 0) return -1;
      at = text.indexOf('<!', end + 3);
    } else {
      return at;
    }
  }
  return -1;
}

function declaredEncoding(text: string): string | null {
  if (!text.startsWith('<?xml')) return null;
  const end = text.indexOf('?>');
  if (end < 0) return null;
  const match = /\sencoding\s*=\s*["']([^"']*)["']/.exec(text.slice(0, end));
  return match?.[1] ?? null;
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

// ---- namespace resolution -------------------------------------------------------------------

type Scope = ReadonlyMap<string, string>;
const ROOT_SCOPE: Scope = new Map([['xml', NS.xml]]);

class TreeError extends Error {
  readonly problem: XmlProblem;
  constructor(problem: XmlProblem) {
    super(problem.message);
    this.problem = problem;
  }
}

function buildTree(nodes: unknown, maxDepth: number): Result<XmlElement, XmlProblem> {
  if (!Array.isArray(nodes)) return err({ reason: 'Malformed', message: 'document has no root element' });
  const roots = nodes.filter(isElementNode);
  if (roots.length !== 1) {
    return err({
      reason: 'Malformed',
      message:
        roots.length === 0 ? 'document has no root element' : `document has ${roots.length} root elements`,
    });
  }
  try {
    const [root] = roots;
    if (root === undefined) return err({ reason: 'Malformed', message: 'document has no root element' });
    return ok(toElement(root, ROOT_SCOPE, 1, maxDepth));
  } catch (e) {
    if (e instanceof TreeError) return err(e.problem);
    throw e;
  }
}

type Node = Record<string, unknown>;

function isElementNode(node: unknown): node is Node {
  return typeof node === 'object' && node !== null && elementName(node) !== undefined;
}

/** The tag name of a parser node, or undefined for text, CDATA and comment nodes. */
function elementName(node: object): string | undefined {
  // for...in rather than Object.keys: this runs once per node on the hot path.
  for (const key in node) {
    if (key !== ':@' && key !== '#text' && key !== '#cdata') return key;
  }
  return undefined;
}

const NO_ATTRIBUTES: ReadonlyMap<string, string> = new Map();

function toElement(node: Node, parentScope: Scope, depth: number, maxDepth: number): XmlElement {
  if (depth > maxDepth) {
    throw new TreeError({ reason: 'TooDeep', message: `elements nest deeper than ${maxDepth} levels` });
  }
  const qname = elementName(node) ?? '';
  const rawAttributes = node[':@'];
  let scope = parentScope;
  let attributes = NO_ATTRIBUTES;
  if (typeof rawAttributes === 'object' && rawAttributes !== null) {
    // Namespace declarations first: they apply to the element's own name and attributes.
    let declared: Map<string, string> | undefined;
    for (const name in rawAttributes) {
      if (name !== 'xmlns' && !name.startsWith('xmlns:')) continue;
      const value = decodeReferences(String(Reflect.get(rawAttributes, name)), true);
      const prefix = name === 'xmlns' ? '' : name.slice(6);
      if (prefix !== '' && value === '')
        throw malformed(`namespace prefix ${showValue(prefix)} is undeclared with an empty URI`);
      declared ??= new Map(parentScope);
      declared.set(prefix, value);
    }
    if (declared) scope = declared;
    let own: Map<string, string> | undefined;
    for (const name in rawAttributes) {
      if (name === 'xmlns' || name.startsWith('xmlns:')) continue;
      const value = decodeReferences(String(Reflect.get(rawAttributes, name)), true);
      own ??= new Map();
      if (name.includes(':')) {
        const resolved = resolve(name, scope, false);
        own.set(`{${resolved.ns}}${resolved.local}`, value);
      } else {
        own.set(name, value);
      }
    }
    if (own) attributes = own;
  }
  const { ns, local } = resolve(qname, scope, true);

  const children: XmlElement[] = [];
  let text = '';
  const content = node[qname];
  if (Array.isArray(content)) {
    for (const child of content) {
      if (typeof child !== 'object' || child === null) continue;
      const textValue: unknown = child['#text'];
      if (textValue !== undefined) {
        text += decodeReferences(String(textValue), false);
        continue;
      }
      const cdata: unknown = child['#cdata'];
      if (Array.isArray(cdata)) {
        for (const part of cdata) text += String(part?.['#text'] ?? '');
        continue;
      }
      if (elementName(child) !== undefined) children.push(toElement(child, scope, depth + 1, maxDepth));
    }
  }
  return { ns, name: local, attributes, children, text: text === '' ? text : text.trim() };
}

function resolve(qname: string, scope: Scope, isElement: boolean): { ns: string; local: string } {
  const colon = qname.indexOf(':');
  if (colon < 0) return { ns: isElement ? (scope.get('') ?? '') : '', local: qname };
  const prefix = qname.slice(0, colon);
  const local = qname.slice(colon + 1);
  if (local === '' || local.includes(':'))
    throw malformed(`name ${showValue(qname)} is not a valid qualified name`);
  const ns = scope.get(prefix);
  if (ns === undefined)
    throw malformed(`namespace prefix ${showValue(prefix)} (in ${showValue(qname)}) is not declared`);
  return { ns, local };
}

function malformed(detail: string): TreeError {
  return new TreeError({ reason: 'Malformed', message: `document is not namespace-well-formed: ${detail}` });
}

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** What a reference to a character XML 1.0 cannot carry reads as. */
export const REPLACEMENT_CHARACTER = '\uFFFD';

/**
 * Decodes the five predefined entities and character references. Anything else after `&` is an
 * error: with no DOCTYPE there is no other entity, and guessing would change opaque ids.
 *
 * A reference to a character XML 1.0 forbids (`&#x0;`, `&#x1A;`) is not well-formed XML, but
 * Exchange writes them: a control character in a subject or body goes out as such a reference
 * (Exchange 2016 did, WinRb/Viewpoint's dodgy_ews_response capture). Refusing the document would
 * lose a whole response for one character of text, so the character reads as U+FFFD, as a lenient
 * XML reader would show it. Opaque values are base64 and never contain one.
 */
function decodeReferences(raw: string, isAttribute: boolean): string {
  let value = raw;
  // Attribute-value normalization (XML 1.0 §3.3.3): literal tab, CR and LF read as a space.
  if (isAttribute && /[\t\n\r]/.test(value)) value = value.replace(/\r\n|[\t\n\r]/g, ' ');
  if (value.indexOf('&') < 0) return value;
  let out = '';
  let from = 0;
  for (let at = value.indexOf('&'); at >= 0; at = value.indexOf('&', from)) {
    out += value.slice(from, at);
    const end = value.indexOf(';', at);
    const name = end < 0 ? '' : value.slice(at + 1, end);
    let decoded: string | undefined;
    if (name.startsWith('#x') && /^#x[0-9A-Fa-f]{1,6}$/.test(name))
      decoded = fromCodePoint(Number.parseInt(name.slice(2), 16));
    else if (name.startsWith('#') && /^#[0-9]{1,7}$/.test(name))
      decoded = fromCodePoint(Number.parseInt(name.slice(1), 10));
    else decoded = Object.hasOwn(PREDEFINED, name) ? PREDEFINED[name] : undefined;
    if (decoded === undefined) {
      throw malformed(
        `unknown or broken entity reference ${showValue(value.slice(at, end < 0 ? at + 12 : end + 1))}`,
      );
    }
    out += decoded;
    from = end + 1;
  }
  return out + value.slice(from);
}

/** The character a reference names; U+FFFD for one XML 1.0 forbids; undefined beyond Unicode. */
function fromCodePoint(code: number): string | undefined {
  if (code > 0x10ffff) return undefined;
  const allowed =
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    code >= 0x10000;
  return allowed ? String.fromCodePoint(code) : REPLACEMENT_CHARACTER;
}

// ---- reading helpers ------------------------------------------------------------------------

export function childrenNamed(parent: XmlElement, ns: string, name: string): XmlElement[] {
  return parent.children.filter((c) => c.ns === ns && c.name === name);
}

export function firstChild(parent: XmlElement, ns: string, name: string): XmlElement | undefined {
  return parent.children.find((c) => c.ns === ns && c.name === name);
}

export function qualifiedName(element: Pick<XmlElement, 'ns' | 'name'>): string {
  return element.ns === '' ? element.name : `{${element.ns}}${element.name}`;
}

// ---- writing helpers ------------------------------------------------------------------------

/** Escapes character data for element content. */
export function escapeText(value: string): string {
  return value.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

/** Escapes a value for a double-quoted attribute (also tab/CR/LF, which normalization would eat). */
export function escapeAttribute(value: string): string {
  return value.replace(/[&<>"\t\n\r]/g, (c) => ATTRIBUTE_ESCAPES[c] ?? c);
}
const ATTRIBUTE_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};

/**
 * True when a string can be written into an XML 1.0 document at all. Encoders check values they
 * did not produce (ids, addresses) so they fail with a clear message instead of sending XML that
 * Exchange rejects as unparseable.
 */
export function isXmlSafe(value: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching the characters XML forbids is the point
  return !/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(
    value,
  );
}
