/** The processor's enrichment in the local run: GetItem against the simulated Exchange. */

import type { ExchangeClients } from '../functions/adapters/exchange-clients.ts';
import { exchangeItemReader } from '../functions/adapters/exchange-item-reader.ts';
import type { Clock } from '../functions/core/clock.ts';
import type { EnrichMode } from '../functions/domain/enrichment.ts';
import { DEFAULT_ENRICHMENT_SETTINGS } from '../functions/processor/enrich.ts';
import type { EnrichingProcessorDeps } from '../functions/processor/enrich-batch.ts';

export function localEnrichment(
  clients: ExchangeClients,
  clock: Clock,
  mode: EnrichMode,
): Pick<EnrichingProcessorDeps, 'enrichment'> {
  if (mode === 'none') return {};
  const settings = { ...DEFAULT_ENRICHMENT_SETTINGS, defaultMode: mode };
  return {
    enrichment: {
      reader: exchangeItemReader(clients, { maxBodyChars: settings.maxBodyChars }),
      clock,
      settings,
    },
  };
}
