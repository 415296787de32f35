import type { Random } from '../simulator/random.ts';

/** A version-4-shaped GUID from the seeded stream: Graph's user, tenant, subscription and request ids look like this. */
export function guid(random: Random): string {
  const hex = Array.from(random.bytes(16), (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
