/**
 * The Exchange contract against the EWS client over HTTP on the EWS simulator (app-only OAuth
 * with impersonation, as a deployment talks to Exchange Online): what keeps FakeExchange honest.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { createEwsClient } from '../../functions/adapters/ews/client.ts';
import { asRenewalExchange } from '../../functions/adapters/exchange-clients.ts';
import { createScaledClock } from '../../functions/core/clock.ts';
import { parseConnections } from '../../functions/ews/connection.ts';
import type { RenewalExchange } from '../../functions/renewer/job.ts';
import { type Simulator, startSimulator } from '../../simulator/server.ts';
import { exchangeContract } from './exchange.contract.ts';

/** More than the contract has tests: each test takes a mailbox of its own. */
const MAILBOXES = Array.from({ length: 12 }, (_, i) => `contract${i + 1}@contoso.test`);

let sim: Simulator;
let exchange: RenewalExchange;
let used = 0;

beforeAll(async () => {
  // No random changes and no initial items: the contract makes every change itself.
  sim = await startSimulator({
    clock: createScaledClock({ timeScale: 60 }),
    auth: 'oauth',
    mailboxes: MAILBOXES,
    initialItems: 0,
    changeRate: 0,
  });
  const [app] = sim.credentials.oauth;
  if (app === undefined) throw new Error('the simulator offers no OAuth client');
  const parsed = parseConnections({
    contract: {
      ewsUrl: sim.ewsUrl,
      auth: {
        kind: 'oauth2',
        tenantId: 'contoso.test',
        clientId: app.clientId,
        clientSecret: app.clientSecret,
        tokenUrl: sim.tokenUrl,
      },
    },
  });
  if (!parsed.ok) throw parsed.error;
  const connection = parsed.value.get('contract');
  if (connection === undefined) throw new Error('the contract connection did not parse');
  exchange = asRenewalExchange(createEwsClient(connection));
});

afterAll(async () => {
  await sim?.stop();
});

describe('the EWS client on the EWS simulator', () => {
  describe('Exchange (RenewalExchange)', () => {
    exchangeContract(() => ({
      exchange,
      folder: { distinguishedFolderId: 'inbox' },
      newMailbox: async () => {
        const mailbox = MAILBOXES[used++];
        if (mailbox === undefined)
          throw new Error(`the contract needs more than ${MAILBOXES.length} mailboxes`);
        return mailbox;
      },
      createItem: async (mailbox) => sim.makeChange({ mailbox, kind: 'create', folder: 'inbox' }).itemId,
      deleteItem: async (mailbox, itemId) => {
        sim.makeChange({ mailbox, kind: 'delete', itemId });
      },
    }));
  });
});
