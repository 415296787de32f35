/**
 * The deployment's enrichment settings, from the processor's environment (plain values, not
 * resources: no IAM grant goes with them):
 * - `ENRICH_DEFAULT`: none | default | full, for mailboxes without their own setting (default: default);
 * - `ENRICH_MAX_BODY_CHARS`: longest body text an event carries with `full` (default 32768).
 */
import { isEnrichMode } from '../domain/enrichment.ts';
import { DEFAULT_ENRICHMENT_SETTINGS, type EnrichmentSettings } from './enrich.ts';

/** The variables the settings are read from: the processor's environment.ts names them. */
export const ENRICHMENT_VARIABLES = ['ENRICH_DEFAULT', 'ENRICH_MAX_BODY_CHARS'] as const;

export type EnrichmentVariable = (typeof ENRICHMENT_VARIABLES)[number];

/** `env`: a variable's value, undefined when unset (the processor's `read(env).optional`). */
export function enrichmentSettingsFromEnvironment(
  env: (variable: EnrichmentVariable) => string | undefined,
): EnrichmentSettings {
  const mode = env('ENRICH_DEFAULT');
  if (mode !== undefined && mode !== '' && !isEnrichMode(mode))
    throw new Error(`ENRICH_DEFAULT is ${JSON.stringify(mode)}: expected none, default or full`);
  const body = env('ENRICH_MAX_BODY_CHARS');
  const maxBodyChars =
    body === undefined || body === '' ? DEFAULT_ENRICHMENT_SETTINGS.maxBodyChars : Number(body);
  if (!Number.isInteger(maxBodyChars) || maxBodyChars < 0 || maxBodyChars > 200_000)
    throw new Error(`ENRICH_MAX_BODY_CHARS is ${JSON.stringify(body)}: expected an integer 0..200000`);
  return {
    ...DEFAULT_ENRICHMENT_SETTINGS,
    ...(isEnrichMode(mode) ? { defaultMode: mode } : {}),
    maxBodyChars,
  };
}
