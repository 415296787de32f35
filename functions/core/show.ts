/**
 * Renders an untrusted value for an error message: quoted, control characters escaped, and cut to
 * a length that keeps log lines short (a hostile body must not be echoed into logs whole).
 */
export function showValue(value: string, max = 80): string {
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(cut);
}

/** 1048576 → "1,048,576", for byte counts and limits in messages people read. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
