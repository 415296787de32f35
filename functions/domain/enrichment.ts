/**
 * The enrichment setting of a mailbox (README "Enrichment") and how it travels from the
 * mailbox's record to the processor: the receiver reads the record anyway for every push with
 * events (receiver/receive.ts), so it copies the mailbox's connection and setting onto the ingest
 * message as SQS message attributes. The processor then needs no DynamoDB read per batch, the
 * receiver no extra read or write (a few bytes per message), and the event's bytes stay exactly
 * what consumers get (attributes are not part of the body).
 *
 * Messages without these attributes (published by the lifecycle, or in flight across a deploy)
 * are not enriched.
 */

/** How much of an item an event carries: nothing, the properties listed in README, those and the body. */
export type EnrichMode = 'none' | 'default' | 'full';
export const ENRICH_MODES: readonly EnrichMode[] = ['none', 'default', 'full'];

export function isEnrichMode(value: unknown): value is EnrichMode {
  return typeof value === 'string' && (ENRICH_MODES as readonly string[]).includes(value);
}

/** A FieldURI as types.xsd spells them (`item:Name`, `calendar:Name`, …): extra properties. */
const FIELD_URI =
  /^(item|message|calendar|meeting|meetingRequest|task|contacts|postitem|conversation):[A-Za-z]{1,64}$/;

export function isFieldUri(value: string): boolean {
  return FIELD_URI.test(value);
}

/** Most extra properties a mailbox may ask for. */
export const MAX_EXTRA_FIELDS = 20;

export const HINT_ATTRIBUTES = {
  connection: 'bridge.connection',
  mode: 'bridge.enrich',
  extraFields: 'bridge.enrichFields',
  /** A Graph mailbox's events only: `message` or `event`, the item kind the processor reads through Graph. */
  graphItem: 'bridge.graphItem',
} as const;

/** What the mailbox's record says about enrichment (SubscriptionRecord fields). */
export interface EnrichmentSetting {
  readonly connection: string;
  /** Absent: the deployment's default (processor setting ENRICH_DEFAULT). */
  readonly enrich?: EnrichMode;
  readonly enrichFields?: readonly string[];
}

/** SQS message attributes (name → string value) for an ingest message of this mailbox. */
export function hintAttributes(
  setting: EnrichmentSetting,
  graphItem?: 'message' | 'event',
): Record<string, string> {
  const attributes: Record<string, string> = { [HINT_ATTRIBUTES.connection]: setting.connection };
  if (graphItem !== undefined) attributes[HINT_ATTRIBUTES.graphItem] = graphItem;
  if (setting.enrich !== undefined) attributes[HINT_ATTRIBUTES.mode] = setting.enrich;
  const fields = (setting.enrichFields ?? []).filter(isFieldUri);
  if (fields.length > 0) attributes[HINT_ATTRIBUTES.extraFields] = fields.join(',');
  return attributes;
}
