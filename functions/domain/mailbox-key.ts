/**
 * A mailbox's key: what the callback URL, the table and the FIFO message group use to name a
 * mailbox. It is derived from the address (lower-cased, as Exchange compares SMTP addresses) by
 * SHA-256 so that URLs, access logs and queue metadata carry no e-mail address.
 */
import { createHash } from 'node:crypto';

/** 22 base64url characters: 132 bits of SHA-256, URL-safe, a valid FIFO MessageGroupId. */
export type MailboxKey = string & { readonly __brand: 'MailboxKey' };

const MAILBOX_KEY = /^[A-Za-z0-9_-]{22}$/;

export function mailboxKeyOf(mailbox: string): MailboxKey {
  const digest = createHash('sha256').update(normalizeMailbox(mailbox), 'utf8').digest('base64url');
  return digest.slice(0, 22) as MailboxKey;
}

/** Checks a key that arrived from outside (a URL path segment) without trusting it. */
export function parseMailboxKey(value: string): MailboxKey | undefined {
  return MAILBOX_KEY.test(value) ? (value as MailboxKey) : undefined;
}

export function normalizeMailbox(mailbox: string): string {
  return mailbox.trim().toLowerCase();
}

/** A deliberately loose check: Exchange is the authority on addresses; this catches typos early. */
export function isPlausibleMailbox(mailbox: string): boolean {
  return /^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/.test(mailbox.trim()) && mailbox.length <= 320;
}
