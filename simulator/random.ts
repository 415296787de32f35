/**
 * Seeded pseudo-randomness for the simulator. Everything random it does (ids, generated changes,
 * fault draws) comes from here, so a run is reproducible from `--seed` up to the jitter of the
 * wall clock (which decides how requests and timers interleave).
 *
 * Each concern draws from its own stream derived from the seed, so that, for example, turning a
 * fault on does not change the ids or the generated changes.
 */

export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** One element of a non-empty list. */
  pick<T>(items: readonly [T, ...T[]]): T;
  /** True with probability p (clamped to [0, 1]). */
  chance(p: number): boolean;
  /** An exponentially distributed wait with the given mean: the gap between Poisson arrivals. */
  exponential(mean: number): number;
  /** n random bytes. */
  bytes(n: number): Uint8Array;
}

/** splitmix32: turns a seed and a stream name into a well-mixed 32-bit state. */
function mix(seed: number, stream: string): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < stream.length; i++) {
    h = Math.imul(h ^ stream.charCodeAt(i), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
  }
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator): passes PractRand, has a guaranteed
 * minimum period of 2^32 thanks to its counter, and needs only 32-bit integer arithmetic.
 */
export function createRandom(seed: number, stream: string): Random {
  let a = mix(seed, `${stream}/a`);
  let b = mix(seed, `${stream}/b`);
  let c = mix(seed, `${stream}/c`);
  let counter = 1;
  const nextUint32 = (): number => {
    const t = (((a + b) | 0) + counter) | 0;
    counter = (counter + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  // Discard the first outputs: the state is still close to the seed there.
  for (let i = 0; i < 12; i++) nextUint32();

  const next = () => nextUint32() / 4294967296;
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (items) => items[Math.floor(next() * items.length)] ?? items[0],
    chance: (p) => (p <= 0 ? false : p >= 1 ? true : next() < p),
    exponential: (mean) => -mean * Math.log(1 - next()),
    bytes(n) {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i += 4) {
        const word = nextUint32();
        for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (word >>> (8 * j)) & 0xff;
      }
      return out;
    },
  };
}

/** Standard base64 (with `+`, `/` and padding), as Exchange's opaque ids and watermarks look. */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

/** The kind byte of each sort of id the simulator mints: no two sorts ever share an id. */
export const ID_KIND = {
  watermark: 0x01,
  item: 0x11,
  folder: 0x12,
  changeKey: 0x13,
  syncState: 0x14,
  subscription: 0x15,
  token: 0x20,
} as const;

/**
 * Mints the simulator's opaque ids (SubscriptionIds, watermarks, item and folder ids, SyncStates,
 * tokens). Exchange's look like base64 of a binary structure; these are base64 of a kind byte, a
 * counter (so no two ids of one simulator are ever equal) and random bytes (so ids differ in case
 * and shape the way real ones do, and nobody can guess one).
 */
export interface IdMinter {
  mint(kind: number, randomBytes: number, prefix?: Uint8Array): string;
}

export function createIdMinter(random: Random): IdMinter {
  let counter = 0;
  return {
    mint(kind, randomBytes, prefix = new Uint8Array(0)) {
      counter++;
      const head = new Uint8Array(5);
      head[0] = kind & 0xff;
      new DataView(head.buffer).setUint32(1, counter, true);
      const out = new Uint8Array(prefix.length + head.length + randomBytes);
      out.set(prefix, 0);
      out.set(head, prefix.length);
      out.set(random.bytes(randomBytes), prefix.length + head.length);
      return toBase64(out);
    },
  };
}
