/** The per-mailbox enrichment setting: parsed by the admin command, carried to the processor as hints. */
import { describe, expect, it } from 'vitest';
import { parseAdminCommand } from '../../../functions/admin/commands.ts';
import { hintAttributes } from '../../../functions/domain/enrichment.ts';
import { hintsOf } from '../../../functions/processor/enrich-hints.ts';

const add = (extra: Record<string, unknown>) =>
  parseAdminCommand({ command: 'add', mailbox: 'ada@contoso.test', connection: 'c', ...extra });

describe('enrichment setting', () => {
  it('add takes enrich and enrichFields, and refuses what is not one', () => {
    const parsed = add({ enrich: 'full', enrichFields: ['calendar:MyResponseType'] });
    expect(parsed.ok && parsed.value).toMatchObject({
      enrich: 'full',
      enrichFields: ['calendar:MyResponseType'],
    });
    const plain = add({});
    expect(plain.ok && 'enrich' in plain.value).toBe(false);
    expect(add({ enrich: 'all' }).ok).toBe(false);
    expect(add({ enrichFields: ['<x/>'] }).ok).toBe(false);
  });

  it('travels from the record to the processor as message attributes', () => {
    const attributes = hintAttributes({
      connection: 'onprem',
      enrich: 'none',
      enrichFields: ['item:Culture'],
    });
    const record = {
      messageAttributes: Object.fromEntries(
        Object.entries(attributes).map(([k, v]) => [k, { stringValue: v, dataType: 'String' }]),
      ),
    };
    expect(hintsOf(record)).toEqual({ connection: 'onprem', mode: 'none', extraFields: ['item:Culture'] });
    // Without the mailbox's own setting: the deployment default applies (no mode).
    const inherit = hintAttributes({ connection: 'onprem' });
    expect(
      hintsOf({
        messageAttributes: {
          'bridge.connection': { stringValue: inherit['bridge.connection'], dataType: 'String' },
        },
      }),
    ).toEqual({ connection: 'onprem' });
    expect(hintsOf({ messageAttributes: {} })).toBeUndefined();
  });
});
