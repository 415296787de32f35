/**
 * The `clientState` of a Graph subscription: the secret Graph echoes in every change and
 * lifecycle notification, and so the only credential a notification carries (Graph signs basic
 * notifications with nothing, and the notification URL is shared by every mailbox because Graph
 * batches notifications per URL, across subscriptions and tenants).
 *
 * It names the mailbox and generation it was made for and carries an HMAC of both under the
 * deployment secret, the Graph counterpart of the EWS callback token (functions/domain/callback.ts):
 * `v1.{mailboxKey}.{generation}.{mac}`. The receiver checks it per item, in constant time, before
 * reading any state, so a forgery costs no database read; the generation tells a superseded
 * subscription from the current one, as the EWS callback URL's does.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { InvalidGraphRequestError } from './errors.ts';

/**
 * The deployment secret: at least 32 random bytes. Structurally the EWS `CallbackKey`, so one key
 * can serve both sources (the HMAC inputs are domain-separated).
 */
export interface ClientStateKey {
  readonly bytes: Uint8Array;
}

/** Graph refuses a clientState longer than this (subscription resource type). */
export const MAX_CLIENT_STATE_LENGTH = 128;

const VERSION = 'v1';
/** 43 base64url characters: all 256 bits of HMAC-SHA256 (there is room; Graph allows 128). */
const MAC_LENGTH = 43;
const MAILBOX_KEY = /^[A-Za-z0-9_-]{22}$/;
const GENERATION = /^[1-9][0-9]{0,12}$/;
const MAX_GENERATION = 2 ** 40;

export interface VerifiedClientState {
  /** The mailbox key (22 base64url characters, as functions/domain/mailbox-key.ts makes them). */
  readonly mailboxKey: string;
  readonly generation: number;
}

function mac(key: ClientStateKey, mailboxKey: string, generation: number): string {
  return createHmac('sha256', key.bytes)
    .update(`exchange-push-bridge/graph-client-state/v1\n${mailboxKey}\n${generation}`)
    .digest('base64url');
}

/** The clientState to create a subscription of `mailboxKey`'s `generation` with. */
export function clientStateFor(key: ClientStateKey, mailboxKey: string, generation: number): string {
  if (key.bytes.byteLength < 32) {
    throw new InvalidGraphRequestError(
      'client state key',
      `${key.bytes.byteLength} bytes`,
      'is too short; it must be at least 32 random bytes (the same deployment secret the EWS callback tokens use)',
    );
  }
  if (!MAILBOX_KEY.test(mailboxKey)) {
    throw new InvalidGraphRequestError(
      'mailboxKey',
      mailboxKey,
      'is not a mailbox key (22 base64url characters)',
    );
  }
  if (!Number.isSafeInteger(generation) || generation < 1 || generation > MAX_GENERATION) {
    throw new InvalidGraphRequestError(
      'generation',
      String(generation),
      `must be an integer from 1 to ${MAX_GENERATION}`,
    );
  }
  return `${VERSION}.${mailboxKey}.${generation}.${mac(key, mailboxKey, generation)}`;
}

/**
 * Checks a clientState from a notification. Every malformed or forged value fails the same way
 * (undefined), so a caller learns nothing about which part was wrong, and the MAC comparison
 * takes the same time wherever the first differing byte is.
 */
export function verifyClientState(
  key: ClientStateKey,
  clientState: string | null | undefined,
): VerifiedClientState | undefined {
  if (typeof clientState !== 'string' || clientState.length > MAX_CLIENT_STATE_LENGTH) return undefined;
  const parts = clientState.split('.');
  if (parts.length !== 4) return undefined;
  const [version, mailboxKey, generationText, given] = parts;
  if (
    version !== VERSION ||
    mailboxKey === undefined ||
    !MAILBOX_KEY.test(mailboxKey) ||
    generationText === undefined ||
    !GENERATION.test(generationText) ||
    given === undefined ||
    given.length !== MAC_LENGTH
  ) {
    return undefined;
  }
  const generation = Number(generationText);
  if (generation > MAX_GENERATION) return undefined;
  const expected = Buffer.from(mac(key, mailboxKey, generation), 'utf8');
  const actual = Buffer.from(given, 'utf8');
  // Equal for ASCII; a multi-byte character would change the byte length, and timingSafeEqual throws on that.
  if (actual.byteLength !== expected.byteLength || !timingSafeEqual(actual, expected)) return undefined;
  return { mailboxKey, generation };
}
