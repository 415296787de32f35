/**
 * What a function may do in AWS, said once, by the code that does it: each adapter module exports
 * the IAM actions its SDK calls need (per port it implements, when functions use different parts
 * of it), and each function's `access.ts` maps the environment variables naming its resources to
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
