/**
 * The two secrets the functions read, as a host provides them. In Lambda both come from Secrets
 * Manager, by the ARN the function's environment names; the local run gives its own callback key
 * and the simulator's connections instead (local/functions.ts). The wiring (each function's
 * wiring.ts) reads the ARNs and asks here, so a handler.ts only says which host it is.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CallbackKey } from '../domain/callback.ts';
import { secretsManagerCallbackKey } from './callback-key-source.ts';
import { type ConnectionsSource, secretsManagerConnections } from './connections-source.ts';
import { type ExchangeClients, exchangeClients } from './exchange-clients.ts';
import { type GraphClientDeps, type GraphClients, graphClients } from './graph-clients.ts';

export interface SecretSources {
  /** The key callback URLs are signed with, held in the secret `secretArn`. */
  callbackKey(secretArn: string): () => Promise<CallbackKey>;
  /** Exchange clients for the connections held in the secret `secretArn`. */
  exchangeClients(secretArn: string): ExchangeClients;
  /**
   * Graph clients for the Graph connections held in the same secret; `options` for how long a
   * client may sleep on Retry-After in-process (the processor hands throttling to enrichment's
   * own wait budget instead).
   */
  graphClients(secretArn: string, options?: Pick<GraphClientDeps, 'maxRetryWaitMs'>): GraphClients;
}

/** Lambda's secrets: one Secrets Manager client for both (and for every call in a container). */
export function secretsManagerSources(client: SecretsManagerClient): SecretSources {
  // One cached read of a connections secret serves its EWS and its Graph clients.
  const sources = new Map<string, ConnectionsSource>();
  const connections = (secretArn: string) => {
    let source = sources.get(secretArn);
    if (source === undefined) {
      source = secretsManagerConnections({ secretId: secretArn, client });
      sources.set(secretArn, source);
    }
    return source;
  };
  return {
    callbackKey: (secretArn) => secretsManagerCallbackKey(client, secretArn),
    exchangeClients: (secretArn) => exchangeClients(connections(secretArn)),
    graphClients: (secretArn, options) => graphClients(connections(secretArn), options),
  };
}
