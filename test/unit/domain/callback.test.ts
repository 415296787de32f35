import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  callbackKeyFrom,
  callbackPath,
  callbackToken,
  callbackUrl,
  InvalidCallbackKeyError,
  verifyCallback,
} from '../../../functions/domain/callback.ts';
import { mailboxKeyOf, parseMailboxKey } from '../../../functions/domain/mailbox-key.ts';

const key = callbackKeyFrom(randomBytes(32));
const mailboxKey = mailboxKeyOf('Ada.Example@Contoso.test');

function segments(path: string) {
  const [, , mailbox, generation, token] = path.split('/');
  return { mailboxKey: mailbox, generation, token };
}

describe('mailbox keys', () => {
  it('are stable, case-insensitive in the address, URL-safe, and reveal no address', () => {
    expect(mailboxKeyOf(' ada.example@contoso.test ')).toBe(mailboxKey);
    expect(mailboxKey).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(mailboxKey).not.toContain('ada');
    expect(mailboxKeyOf('other@contoso.test')).not.toBe(mailboxKey);
    expect(parseMailboxKey(mailboxKey)).toBe(mailboxKey);
    expect(parseMailboxKey('../../etc/passwd')).toBeUndefined();
  });
});

describe('callback URL authentication', () => {
  it('accepts the path it built', () => {
    const path = callbackPath(key, mailboxKey, 7);
    expect(path).toMatch(/^\/ews\/[A-Za-z0-9_-]{22}\/7\/[A-Za-z0-9_-]{32}$/);
    expect(verifyCallback(key, segments(path))).toEqual({ mailboxKey, generation: 7 });
    expect(callbackUrl('https://x.execute-api.eu-west-1.amazonaws.com/', key, mailboxKey, 7)).toBe(
      `https://x.execute-api.eu-west-1.amazonaws.com${path}`,
    );
  });

  it('refuses a token for another generation, another mailbox, or another key', () => {
    const good = segments(callbackPath(key, mailboxKey, 7));
    expect(verifyCallback(key, { ...good, generation: '8' })).toBeUndefined();
    expect(
      verifyCallback(key, { ...good, mailboxKey: mailboxKeyOf('mallory@contoso.test') }),
    ).toBeUndefined();
    expect(verifyCallback(callbackKeyFrom(randomBytes(32)), good)).toBeUndefined();
  });

  it('refuses every malformed part', () => {
    const good = segments(callbackPath(key, mailboxKey, 7));
    const token = callbackToken(key, mailboxKey, 7);
    for (const bad of [
      {},
      { ...good, token: undefined },
      { ...good, token: token.slice(1) },
      { ...good, token: `${token}x` },
      { ...good, token: `${token.slice(0, -1)}é` },
      { ...good, generation: '0' },
      { ...good, generation: '07' },
      { ...good, generation: '-1' },
      { ...good, generation: '1e3' },
      { ...good, generation: '99999999999999' },
      { ...good, mailboxKey: 'short' },
      { ...good, mailboxKey: `${good.mailboxKey}/..` },
    ]) {
      expect(verifyCallback(key, bad), JSON.stringify(bad)).toBeUndefined();
    }
  });

  it('refuses signing keys shorter than 32 bytes', () => {
    expect(() => callbackKeyFrom(randomBytes(16))).toThrow(InvalidCallbackKeyError);
  });
});
