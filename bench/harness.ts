/**
 * A small benchmark harness built for shared, noisy machines: every figure is a ratio against a
 * baseline measured in the same run, with baseline and candidate interleaved round by round so a
 * burst of load from a neighbour hits both, and the median of the per-round ratios reported.
 */
export interface Comparison {
  readonly name: string;
  /** What the candidate is compared with, in words. */
  readonly baseline: string;
  readonly baselineMicros: number;
  readonly candidateMicros: number;
  /** Median over rounds of candidate time / baseline time. */
  readonly ratio: number;
  /** Lowest and highest per-round ratio: the spread the noise produced. */
  readonly ratioRange: readonly [number, number];
  /** The ratio to stay within, or null for a price that is only reported (no target to miss). */
  readonly target: number | null;
  readonly withinTarget: boolean;
  readonly rounds: number;
  readonly iterationsPerRound: number;
}

type Work = () => unknown | Promise<unknown>;

/**
 * `smoke`: one round of two iterations, to prove a benchmark still runs against the code as it is
 * (`npm test` does this); its ratios mean nothing.
 */
export type Effort = 'full' | 'smoke';

async function timeIterations(work: Work, iterations: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await work();
  return Number(process.hrtime.bigint() - start) / iterations / 1000;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export async function compare(args: {
  name: string;
  baseline: string;
  target: number | null;
  baselineWork: Work;
  candidateWork: Work;
  iterationsPerRound: number;
  rounds: number;
  warmupIterations?: number;
  effort?: Effort;
  onProgress?: (round: number, rounds: number) => void;
}): Promise<Comparison> {
  const smoke = args.effort === 'smoke';
  const rounds = smoke ? 1 : args.rounds;
  const iterations = smoke ? 2 : args.iterationsPerRound;
  const warmup = smoke ? 1 : (args.warmupIterations ?? iterations);
  await timeIterations(args.baselineWork, warmup);
  await timeIterations(args.candidateWork, warmup);
  return compareSamples({
    ...args,
    rounds,
    iterationsPerRound: iterations,
    baselineSample: () => timeIterations(args.baselineWork, iterations),
    candidateSample: () => timeIterations(args.candidateWork, iterations),
  });
}

/**
 * The same interleaved rounds for measurements a benchmark takes itself (microseconds per
 * sample), e.g. a module's load time reported by a fresh process.
 */
export async function compareSamples(args: {
  name: string;
  baseline: string;
  target: number | null;
  baselineSample: () => Promise<number>;
  candidateSample: () => Promise<number>;
  rounds: number;
  iterationsPerRound: number;
  onProgress?: (round: number, rounds: number) => void;
}): Promise<Comparison> {
  const { rounds } = args;
  const baselineTimes: number[] = [];
  const candidateTimes: number[] = [];
  const ratios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    // Alternate which goes first so neither always runs on a cache (or a neighbour) warmed by the other.
    const [first, second] =
      round % 2 ? [args.candidateSample, args.baselineSample] : [args.baselineSample, args.candidateSample];
    const a = await first();
    const b = await second();
    const [baseline, candidate] = round % 2 ? [b, a] : [a, b];
    baselineTimes.push(baseline);
    candidateTimes.push(candidate);
    ratios.push(candidate / baseline);
    args.onProgress?.(round + 1, rounds);
  }
  const ratio = median(ratios);
  return {
    name: args.name,
    baseline: args.baseline,
    baselineMicros: median(baselineTimes),
    candidateMicros: median(candidateTimes),
    ratio,
    ratioRange: [Math.min(...ratios), Math.max(...ratios)],
    target: args.target,
    withinTarget: args.target === null || ratio <= args.target,
    rounds,
    iterationsPerRound: args.iterationsPerRound,
  };
}

export function formatComparison(c: Comparison): string {
  const fixed = (n: number) => n.toFixed(2);
  return (
    `${c.name}: ${fixed(c.ratio)}x ${c.baseline} (${c.target === null ? 'reported, no target' : `target <= ${c.target}x: ${c.withinTarget ? 'met' : 'MISSED'}`}; ` +
    `rounds ${fixed(c.ratioRange[0])}-${fixed(c.ratioRange[1])}x; ${fixed(c.candidateMicros)} us vs ${fixed(c.baselineMicros)} us)`
  );
}
