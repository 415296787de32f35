/**
 * The lifecycle policy from the environment the stack sets (construct props), each variable
 * optional with the documented default, and refused with its name when it is not a number.
 */
import { DEFAULT_POLICY, type LifecyclePolicy } from './policy.ts';

export class InvalidLifecycleConfigError extends Error {
  override readonly name = 'InvalidLifecycleConfigError';
  constructor(variable: string, value: string) {
    super(
      `environment variable ${variable}=${JSON.stringify(value)} must be a positive whole number; fix the stack's lifecycle props`,
    );
  }
}

const VARIABLES: Array<[string, keyof LifecyclePolicy, number]> = [
  ['STALE_SLACK_SECONDS', 'staleSlackMs', 1000],
  ['LOST_AFTER_ATTEMPTS', 'lostAfterAttempts', 1],
  ['LOST_AFTER_MINUTES', 'lostAfterMs', 60_000],
  ['RETRY_BASE_SECONDS', 'retryBaseMs', 1000],
  ['RETRY_MAX_MINUTES', 'retryMaxMs', 60_000],
  ['LOST_RETRY_MINUTES', 'lostRetryMs', 60_000],
  ['CHECKPOINT_INTERVAL_MINUTES', 'checkpointIntervalMs', 60_000],
];

export function policyFromEnvironment(env: Record<string, string | undefined>): LifecyclePolicy {
  const policy: Record<keyof LifecyclePolicy, number> = { ...DEFAULT_POLICY };
  for (const [variable, field, unit] of VARIABLES) {
    const raw = env[variable];
    if (raw === undefined || raw === '') continue;
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value <= 0) throw new InvalidLifecycleConfigError(variable, raw);
    policy[field] = value * unit;
  }
  return policy;
}
