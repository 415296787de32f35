/**
 * What a function may do in AWS, said once, by the code that does it: each adapter module exports
 * the IAM actions its SDK calls need (per port it implements, when functions use different parts
 * of it), and each function's `environment.ts` maps the environment variables naming its resources to
 * the actions its adapters need there. The CDK wiring sets each variable together with exactly
 * that grant (infra/bridge-function.ts), and test/infra proves the deployed policies allow exactly
 * this, with AWS's own evaluation rules.
 */

/** IAM actions (`service:Action`), as an adapter needs them on one resource. */
export type IamActions = readonly `${string}:${string}`[];

/** Environment variable naming a resource → the actions the function's code takes on it. */
export type FunctionAccess = Readonly<Record<string, IamActions>>;

/** Actions needed on one resource by several adapters, each once. */
export function allOf(...lists: IamActions[]): IamActions {
  return [...new Set(lists.flat())];
}

/** Variables a function reads: some name a resource (with the actions taken there), some are settings. */
export interface FunctionEnvironment<
  A extends FunctionAccess = FunctionAccess,
  S extends string = string,
  O extends string = string,
> {
  /** Each variable naming a resource → the actions the function's code takes on it. */
  readonly access: A;
  /** Variables holding a plain value (a URL, a name), granting nothing. */
  readonly settings: readonly S[];
  /**
   * Plain values the code has a default for (a policy's numbers, the enrichment default): the
   * stack sets them only when its props ask for something else. Their parser (domain/config.ts,
   * processor/enrich-config.ts) refuses a bad value with the variable's name.
   */
  readonly optional: readonly O[];
  /**
   * Reads every variable from `env` (Lambda's process.env, or the record a host builds), failing
   * at once with every missing required name; then hands out the values by name, and the optional
   * ones (undefined when unset) by `.optional(name)`.
   */
  read(env: Readonly<Record<string, string | undefined>>): EnvironmentValues<(keyof A & string) | S, O>;
}

/** A function's variables, read: the required ones by name, the optional ones by `.optional`. */
export type EnvironmentValues<R extends string, O extends string> = ((name: R) => string) & {
  readonly optional: (name: O) => string | undefined;
};

export class MissingEnvironmentError extends Error {
  override readonly name = 'MissingEnvironmentError';
  readonly variables: readonly string[];
  constructor(variables: readonly string[]) {
    super(
      `environment variable${variables.length === 1 ? '' : 's'} ${variables.join(', ')} ${variables.length === 1 ? 'is' : 'are'} required; the CDK app sets them (infra/bridge-function.ts), the local run passes them (local/functions.ts)`,
    );
    this.variables = variables;
  }
}

/** A function's environment, named once: its wiring.ts reads it, infra sets it with its grants. */
export function defineEnvironment<
  const A extends FunctionAccess,
  const S extends string = never,
  const O extends string = never,
>(access: A, settings: readonly S[] = [], optional: readonly O[] = []): FunctionEnvironment<A, S, O> {
  const names = [...Object.keys(access), ...settings];
  return {
    access,
    settings,
    optional,
    read(env) {
      const missing = names.filter((name) => (env[name] ?? '') === '');
      if (missing.length > 0) throw new MissingEnvironmentError(missing);
      const values = new Map(names.map((name) => [name, env[name] ?? '']));
      // Unset and empty are the same to an optional variable: the code's default applies.
      const optionalValues = new Map<O, string>();
      for (const name of optional) {
        const value = env[name];
        if (value !== undefined && value !== '') optionalValues.set(name, value);
      }
      return Object.assign((name: (keyof A & string) | S) => values.get(name) ?? '', {
        optional: (name: O) => optionalValues.get(name),
      });
    },
  };
}
