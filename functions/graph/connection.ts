/**
 * A connection of kind `graph`: how the bridge reaches Microsoft Graph for the Exchange Online
 * mailboxes that lose EWS (app-only client credentials of one tenant, and the Graph base URL).
 * It lives in the same connections JSON as the EWS connections (functions/ews/connection.ts
 * parses both, so every problem in the document is reported at once); a mailbox's source follows
 * from the kind of connection it names.
 */
import type { GraphCredentials } from './token.ts';

export const DEFAULT_GRAPH_BASE_URL = 'https://graph.microsoft.com/v1.0';

export interface GraphConnection {
  readonly kind: 'graph';
  /** The key it is stored under; mailbox records refer to connections by this name. */
  readonly name: string;
  /** Graph's base URL including the version (`https://graph.microsoft.com/v1.0`; the stand-in's locally). */
  readonly graphUrl: string;
  /** The Entra tenant: its GUID or a verified domain. */
  readonly tenantId: string;
  /** The app registration holding the application permissions Mail.Read and Calendars.Read. */
  readonly clientId: string;
  readonly clientSecret: string;
  /** @default https://login.microsoftonline.com/{tenantId}/oauth2/v2.0/token */
  readonly tokenUrl: string;
  /** How long one HTTP exchange may take, on the client's clock. */
  readonly timeoutMs: number;
}

export function graphCredentialsOf(connection: GraphConnection): GraphCredentials {
  return {
    tenantId: connection.tenantId,
    clientId: connection.clientId,
    clientSecret: connection.clientSecret,
    tokenUrl: connection.tokenUrl,
  };
}
