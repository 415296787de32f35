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

/** Each variable: the policy field it sets, and the field's unit (ms) per unit of the variable. */
const VARIABLES = {
  STALE_SLACK_SECONDS: ['staleSlackMs', 1000],
  LOST_AFTER_ATTEMPTS: ['lostAfterAttempts', 1],
  LOST_AFTER_MINUTES: ['lostAfterMs', 60_000],
  RETRY_BASE_SECONDS: ['retryBaseMs', 1000],
  RETRY_MAX_MINUTES: ['retryMaxMs', 60_000],
  LOST_RETRY_MINUTES: ['lostRetryMs', 60_000],
  CHECKPOINT_INTERVAL_MINUTES: ['checkpointIntervalMs', 60_000],
} as const satisfies Record<string, readonly [keyof LifecyclePolicy, number]>;

export type PolicyVariable = keyof typeof VARIABLES;

/** The variables the policy is read from: the renewer's and sweeper's environment.ts name them. */
export const POLICY_VARIABLES = Object.keys(VARIABLES).filter(isPolicyVariable);

function isPolicyVariable(name: string): name is PolicyVariable {
  return Object.hasOwn(VARIABLES, name);
}

/** `env`: a variable's value, undefined when unset (a function's `read(env).optional`). */
export function policyFromEnvironment(
  env: (variable: PolicyVariable) => string | undefined,
): LifecyclePolicy {
  const policy: Record<keyof LifecyclePolicy, number> = { ...DEFAULT_POLICY };
  for (const variable of POLICY_VARIABLES) {
    const [field, unit] = VARIABLES[variable];
    const raw = env(variable);
    if (raw === undefined || raw === '') continue;
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value <= 0) throw new InvalidLifecycleConfigError(variable, raw);
    policy[field] = value * unit;
  }
  return policy;
}
