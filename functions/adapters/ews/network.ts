/**
 * What a failed `fetch` means: undici reports every network failure as "fetch failed", with the
 * system or TLS error code somewhere in its cause chain. Named here, so errors can say what went
 * wrong and whether trying again can help.
 */

/** Why no HTTP answer came. */
export type UnreachableReason =
  | 'timeout'
  | 'connectionRefused'
  | 'dnsFailure'
  | 'tlsFailure'
  | 'connectionReset'
  | 'network';

const TLS_CODE =
  /^(?:ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|HOSTNAME_MISMATCH$|EPROTO$)/;

/** Names what undici's `fetch failed` stands for, from the codes in its cause chain. */
export function classifyNetworkError(error: unknown): { reason: UnreachableReason; code: string | null } {
  const code = findCode(error, 0);
  if (code === null) return { reason: 'network', code };
  if (code === 'ECONNREFUSED') return { reason: 'connectionRefused', code };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME' || code === 'EAI_FAIL') {
    return { reason: 'dnsFailure', code };
  }
  if (TLS_CODE.test(code)) return { reason: 'tlsFailure', code };
  if (['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED'].includes(code)) {
    return { reason: 'connectionReset', code };
  }
  if (
    ['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'].includes(code)
  ) {
    return { reason: 'timeout', code };
  }
  return { reason: 'network', code };
}

function findCode(error: unknown, depth: number): string | null {
  if (depth > 5 || typeof error !== 'object' || error === null) return null;
  const code: unknown = Reflect.get(error, 'code');
  if (typeof code === 'string' && code !== '') return code;
  // Happy eyeballs: an AggregateError of one failure per address tried.
  const errors: unknown = Reflect.get(error, 'errors');
  if (Array.isArray(errors)) {
    for (const inner of errors) {
      const found = findCode(inner, depth + 1);
      if (found !== null) return found;
    }
  }
  return findCode(Reflect.get(error, 'cause'), depth + 1);
}

/** The message of the innermost cause, unless it is undici's uninformative "fetch failed". */
export function innermostMessage(error: unknown): string | null {
  let message: string | null = null;
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
    message = current.message;
    current = current.cause;
  }
  return message === 'fetch failed' ? null : message;
}
