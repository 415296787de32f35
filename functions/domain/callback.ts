/**
 * The callback URL Exchange pushes to, and its authentication. EWS push carries no signature, so
 * the URL itself is the credential: `{base}/ews/{mailboxKey}/{generation}/{token}`, where the token
 * is an HMAC of (mailboxKey, generation) under a deployment secret. The generation in the URL is
 * what tells a superseded subscription (answered Unsubscribe) from the current one.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { type MailboxKey, parseMailboxKey } from './mailbox-key.ts';

/** The route the receiver serves; API Gateway maps the three segments to path parameters. */
export const CALLBACK_ROUTE = '/ews/{mailboxKey}/{generation}/{token}';

/** 32 base64url characters = 192 bits of HMAC-SHA256. */
const TOKEN_LENGTH = 32;
const MAX_GENERATION = 2 ** 40;

/** The deployment secret the tokens are made with: at least 32 bytes of randomness. */
export interface CallbackKey {
  readonly bytes: Uint8Array;
}

export class InvalidCallbackKeyError extends Error {
  override readonly name = 'InvalidCallbackKeyError';
  constructor(length: number) {
    super(
      `the callback signing key is ${length} bytes; it must be at least 32 random bytes (the stack generates one in Secrets Manager; locally one is generated per run)`,
    );
  }
}

export function callbackKeyFrom(bytes: Uint8Array): CallbackKey {
  if (bytes.byteLength < 32) throw new InvalidCallbackKeyError(bytes.byteLength);
  return { bytes };
}

export function callbackToken(key: CallbackKey, mailboxKey: MailboxKey, generation: number): string {
  return createHmac('sha256', key.bytes)
    .update(`exchange-push-bridge/callback/v1\n${mailboxKey}\n${generation}`)
    .digest('base64url')
    .slice(0, TOKEN_LENGTH);
}

export function callbackPath(key: CallbackKey, mailboxKey: MailboxKey, generation: number): string {
  return `/ews/${mailboxKey}/${generation}/${callbackToken(key, mailboxKey, generation)}`;
}

/** The full URL for Subscribe: `baseUrl` is the API's invoke URL (no trailing slash needed). */
export function callbackUrl(
  baseUrl: string,
  key: CallbackKey,
  mailboxKey: MailboxKey,
  generation: number,
): string {
  return `${baseUrl.replace(/\/+$/, '')}${callbackPath(key, mailboxKey, generation)}`;
}

export interface VerifiedCallback {
  readonly mailboxKey: MailboxKey;
  readonly generation: number;
}

/**
 * Checks the three path segments. Every malformed or forged request fails the same way (undefined)
 * so a caller learns nothing about which part was wrong, and the token comparison takes the same
 * time wherever the first differing byte is.
 */
export function verifyCallback(
  key: CallbackKey,
  segments: { mailboxKey?: string | undefined; generation?: string | undefined; token?: string | undefined },
): VerifiedCallback | undefined {
  const mailboxKey = parseMailboxKey(segments.mailboxKey ?? '');
  const generationText = segments.generation ?? '';
  const token = segments.token ?? '';
  if (
    mailboxKey === undefined ||
    !/^[1-9][0-9]{0,12}$/.test(generationText) ||
    token.length !== TOKEN_LENGTH
  ) {
    return undefined;
  }
  const generation = Number(generationText);
  if (generation > MAX_GENERATION) return undefined;
  const expected = Buffer.from(callbackToken(key, mailboxKey, generation), 'utf8');
  const given = Buffer.from(token, 'utf8');
  // Lengths are equal here for ASCII tokens; a multi-byte character would change the byte length.
  if (given.byteLength !== expected.byteLength || !timingSafeEqual(given, expected)) return undefined;
  return { mailboxKey, generation };
}
