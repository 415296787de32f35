/**
 * The bridge's functions, each by its own wiring.ts (the one its handler.ts uses in Lambda), on the
 * environment the template gives it: the same adapters on the same resources, here on the emulated
 * AWS, with the simulated Exchange's connections, the run's callback key, clock, logs and counts.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExchangeClients } from '../functions/adapters/exchange-clients.ts';
import type { GraphClients } from '../functions/adapters/graph-clients.ts';
import type { SecretSources } from '../functions/adapters/secret-sources.ts';
import { wireAdmin } from '../functions/admin/wiring.ts';
import type { Clock } from '../functions/core/clock.ts';
import { MemoryMetrics } from '../functions/core/telemetry.ts';
import { type CallbackKey, callbackKeyFrom } from '../functions/domain/callback.ts';
import { wireProcessor } from '../functions/processor/wiring.ts';
import { wireReceiver } from '../functions/receiver/wiring.ts';
import { wireRenewer } from '../functions/renewer/wiring.ts';
import { wireSweeper } from '../functions/sweeper/wiring.ts';
import type { EmulatedAws } from './emulated-aws.ts';
import { type LocalSystemOptions, localLogger } from './options.ts';

export type LocalFunctions = ReturnType<typeof wireFunctions>;

export function wireFunctions(args: {
  readonly aws: EmulatedAws;
  readonly clients: ExchangeClients;
  readonly graphClients: GraphClients;
  readonly clock: Clock;
  readonly options: LocalSystemOptions;
}) {
  const { aws, clients, clock, options } = args;
  const key = loadCallbackKey(options.dataDir);
  // Whichever secret a function's environment names: the run's one key, the simulators' connections.
  const secrets: SecretSources = {
    callbackKey: () => async () => key,
    exchangeClients: () => clients,
    graphClients: () => args.graphClients,
  };
  const { dynamodb, sqs, sns } = aws.emulators;
  const host = (service: string) => ({ clock, logger: localLogger(options.log, service) });
  const metrics = {
    receiver: new MemoryMetrics(),
    renewer: new MemoryMetrics(),
    sweeper: new MemoryMetrics(),
    processor: new MemoryMetrics(),
  };
  // The policy knobs (in ms) over the template's variables; the run's report hears every renewal.
  const lifecycle = {
    ...(options.policy ? { policy: options.policy } : {}),
    ...(options.onRenewal ? { onOutcome: options.onRenewal } : {}),
  };
  return {
    metrics,
    receiver: wireReceiver(aws.env.receiver, {
      dynamodb,
      sqs,
      callbackKey: secrets.callbackKey(''),
      ...host('receiver'),
      metrics: metrics.receiver,
    }),
    processor: wireProcessor(aws.env.processor, {
      sns,
      secrets,
      ...host('processor'),
      metrics: metrics.processor,
      // The local run enriches by default (`npm start -- --enrich none` turns it off).
      enrich: options.enrich ?? 'default',
    }),
    renewer: wireRenewer(aws.env.renewer, {
      dynamodb,
      sqs,
      secrets,
      ...host('renewer'),
      metrics: metrics.renewer,
      ...lifecycle,
    }),
    sweeper: wireSweeper(aws.env.sweeper, {
      dynamodb,
      sqs,
      ...host('sweeper'),
      metrics: metrics.sweeper,
      ...(options.policy ? { policy: options.policy } : {}),
    }),
    admin: wireAdmin(aws.env.admin, { dynamodb, sqs, secrets, ...host('admin') }),
  };
}

/** The callback key survives a persisted run's restart: subscriptions' URLs must stay valid. */
function loadCallbackKey(dataDir: string | undefined): CallbackKey {
  if (dataDir === undefined) return callbackKeyFrom(randomBytes(32));
  const file = join(dataDir, 'callback-key');
  try {
    return callbackKeyFrom(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'));
  } catch {
    const bytes = randomBytes(32);
    writeFileSync(file, bytes.toString('base64'), { mode: 0o600 });
    return callbackKeyFrom(bytes);
  }
}
