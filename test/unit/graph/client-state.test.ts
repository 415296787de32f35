import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { callbackToken } from '../../../functions/domain/callback.ts';
import type { MailboxKey } from '../../../functions/domain/mailbox-key.ts';
import { mailboxKeyOf } from '../../../functions/domain/mailbox-key.ts';
import {
  clientStateFor,
  MAX_CLIENT_STATE_LENGTH,
  verifyClientState,
} from '../../../functions/graph/client-state.ts';
import { InvalidGraphRequestError } from '../../../functions/graph/errors.ts';

const key = { bytes: randomBytes(32) };
const mailboxKey: MailboxKey = mailboxKeyOf('user1@contoso.test');

describe('clientState', () => {
  it('round-trips the mailbox key and generation, within Graph’s 128 characters', () => {
    const state = clientStateFor(key, mailboxKey, 2 ** 40);
    expect(state.length).toBeLessThanOrEqual(MAX_CLIENT_STATE_LENGTH);
    expect(verifyClientState(key, state)).toEqual({ mailboxKey, generation: 2 ** 40 });
    expect(verifyClientState(key, clientStateFor(key, mailboxKey, 1))).toEqual({ mailboxKey, generation: 1 });
  });

  it('refuses every altered, foreign or malformed value the same way', () => {
    const state = clientStateFor(key, mailboxKey, 7);
    const [version, mk, generation, mac] = state.split('.');
    const flipped = `${mac?.slice(0, -1)}${mac?.endsWith('A') ? 'B' : 'A'}`;
    const other = mailboxKeyOf('user2@contoso.test');
    for (const forged of [
      `${version}.${mk}.${generation}.${flipped}`,
      `${version}.${mk}.8.${mac}`,
      `${version}.${other}.${generation}.${mac}`,
      `v2.${mk}.${generation}.${mac}`,
      `${version}.${mk}.07.${mac}`,
      `${version}.${mk}.${generation}.${mac}.extra`,
      `${version}.${mk}.${generation}.${mac?.slice(0, 42)}é`,
      clientStateFor({ bytes: randomBytes(32) }, mailboxKey, 7),
      '',
      'x'.repeat(500),
      null,
      undefined,
    ]) {
      expect(verifyClientState(key, forged)).toBeUndefined();
    }
  });

  it('is not the EWS callback token for the same mailbox and generation (domain separation)', () => {
    const ewsToken = callbackToken(key, mailboxKey, 3);
    expect(clientStateFor(key, mailboxKey, 3)).not.toContain(ewsToken);
  });

  it('refuses to make one from a short key or a bad mailbox key or generation', () => {
    expect(() => clientStateFor({ bytes: randomBytes(16) }, mailboxKey, 1)).toThrow(InvalidGraphRequestError);
    expect(() => clientStateFor(key, 'user1@contoso.test', 1)).toThrow(/not a mailbox key/);
    expect(() => clientStateFor(key, mailboxKey, 0)).toThrow(/generation/);
    expect(() => clientStateFor(key, mailboxKey, 1.5)).toThrow(/generation/);
  });
});
