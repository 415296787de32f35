/**
 * Reading an HTTP answer from a server we do not control (Exchange, Microsoft Graph, a token
 * endpoint) without holding more than we accept: a lying or huge answer must not exhaust a
 * Lambda's memory before it is refused.
 */

/** Reads a body, giving up (null) as soon as it passes `maxBytes`, or at once if it says it will. */
export async function readCapped(response: Response, maxBytes: number): Promise<Uint8Array | null> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    response.body?.cancel().catch(() => {});
    return null;
  }
  if (response.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}
