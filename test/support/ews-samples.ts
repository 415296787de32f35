/**
 * Finds the real EWS messages in `../shared/ews-samples` (or `EWS_SAMPLES_DIR`): copies of what
 * Exchange and its documentation actually sent, with a manifest of where each came from and the
 * repairs some need (a documentation typo, a cut declaration). They are not part of the repository;
 * where they are missing, the tests that read them report themselves skipped with the reason.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'vitest';

const repoRoot = resolve(import.meta.dirname, '..', '..');

/** One repair the manifest declares, with why the stored file needs it. */
export type SampleRepair = (
  | {
      readonly kind: 'replace';
      readonly find: string;
      readonly replace: string;
      /** Every occurrence, not only the first. */
      readonly all: boolean;
    }
  /** The documentation shows the HTTP status line and headers before the XML. */
  | { readonly kind: 'stripHttpHead' }
  /** The documentation shows an element's text content (an HTML body) as unescaped markup. */
  | { readonly kind: 'escapeContentOf'; readonly element: string }
) & { readonly why: string };

export interface EwsSample {
  readonly file: string;
  /** What the sample is: `SendNotification`, `GetItemResponse`, `Fault`, … */
  readonly operation: string;
  readonly note: string;
  /** False for samples of something a push client never receives (streaming subscriptions). */
  readonly applies: boolean;
  /** Set for pull and streaming answers whose Notification elements are a push's content. */
  readonly checker: string | null;
  readonly repairs: readonly SampleRepair[];
  /** The file exactly as stored. */
  readonly stored: string;
  /** The file with every declared repair applied (the same text when there are none). */
  readonly repaired: string;
}

export type SampleSet =
  | { available: true; samples: readonly EwsSample[] }
  | { available: false; reason: string };

function text(entry: object, key: string): string | null {
  const value: unknown = Reflect.get(entry, key);
  return typeof value === 'string' ? value : null;
}

function readRepairs(entry: object, file: string): SampleRepair[] {
  const raw: unknown = Reflect.get(entry, 'repairs');
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new Error(`manifest entry ${file}: repairs is not a list`);
  return raw.map((repair: unknown, index) => {
    if (typeof repair !== 'object' || repair === null) {
      throw new Error(`manifest entry ${file}: repair ${index} is not an object`);
    }
    const why = text(repair, 'why') ?? '';
    if (Reflect.get(repair, 'stripHttpHead') === true) return { kind: 'stripHttpHead', why };
    const element = text(repair, 'escapeContentOf');
    if (element !== null) return { kind: 'escapeContentOf', element, why };
    const find = text(repair, 'find');
    const replace = text(repair, 'replace');
    if (find === null || replace === null) {
      throw new Error(
        `manifest entry ${file}: repair ${index} is none of find/replace, stripHttpHead, escapeContentOf`,
      );
    }
    return { kind: 'replace', find, replace, all: Reflect.get(repair, 'all') === true, why };
  });
}

function applyRepair(text: string, repair: SampleRepair, file: string): string {
  const cannot = (what: string) => new Error(`manifest entry ${file}: cannot repair, ${what}`);
  switch (repair.kind) {
    case 'replace':
      if (!text.includes(repair.find)) throw cannot(`${JSON.stringify(repair.find)} is not in the file`);
      return repair.all
        ? text.split(repair.find).join(repair.replace)
        : text.replace(repair.find, () => repair.replace);
    case 'stripHttpHead': {
      const start = text.indexOf('<');
      if (start <= 0) throw cannot('there is no HTTP head before the XML');
      return text.slice(start);
    }
    case 'escapeContentOf': {
      const open = new RegExp(`<${repair.element}(\\s[^>]*)?>`).exec(text);
      const close = text.lastIndexOf(`</${repair.element}>`);
      if (open === null || close < open.index) throw cannot(`no <${repair.element}> element to escape`);
      const from = open.index + open[0].length;
      const inner = text
        .slice(from, close)
        .replace(/&/g, '&amp;')
        .replace(/</g, '&lt;')
        .replace(/>/g, '&gt;');
      return text.slice(0, from) + inner + text.slice(close);
    }
  }
}

function applyRepairs(stored: string, repairs: readonly SampleRepair[], file: string): string {
  return repairs.reduce((text, repair) => applyRepair(text, repair, file), stored);
}

function locate(): SampleSet {
  const dir = process.env.EWS_SAMPLES_DIR ?? resolve(repoRoot, '..', 'shared', 'ews-samples');
  const manifestFile = join(dir, 'manifest.json');
  if (!existsSync(manifestFile)) {
    return {
      available: false,
      reason: `EWS samples manifest ${manifestFile} not found (set EWS_SAMPLES_DIR)`,
    };
  }
  const manifest: unknown = JSON.parse(readFileSync(manifestFile, 'utf8'));
  if (!Array.isArray(manifest)) throw new Error(`${manifestFile} is not a JSON list`);
  const samples = manifest.map((entry: unknown): EwsSample => {
    if (typeof entry !== 'object' || entry === null) throw new Error(`${manifestFile} holds a non-object`);
    const file = text(entry, 'file');
    const operation = text(entry, 'operation');
    if (file === null || operation === null)
      throw new Error(`${manifestFile}: an entry lacks file or operation`);
    const stored = readFileSync(join(dir, 'samples', file), 'utf8');
    const repairs = readRepairs(entry, file);
    return {
      file,
      operation,
      note: text(entry, 'note') ?? '',
      applies: Reflect.get(entry, 'applies') !== false,
      checker: text(entry, 'checker'),
      repairs,
      stored,
      repaired: applyRepairs(stored, repairs, file),
    };
  });
  return { available: true, samples };
}

export const ewsSamples: SampleSet = locate();

/** `describe` for tests that read the samples: reported skipped, with why, where they are missing. */
export function describeWithSamples(name: string, fn: (samples: readonly EwsSample[]) => void): void {
  if (ewsSamples.available) {
    const { samples } = ewsSamples;
    describe(name, () => fn(samples));
  } else {
    it.skipIf(true)(`${name} [skipped: ${ewsSamples.reason}]`, () => {});
  }
}
