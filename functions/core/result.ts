/**
 * The outcome of an operation whose failure is expected (untrusted input, a remote service that
 * says no). Callers must look at `ok` before they can reach the value, so a failure cannot be
 * forgotten the way an uncaught exception can.
 */
export type Result<T, E> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: E };

export const ok = <T>(value: T): { readonly ok: true; readonly value: T } => ({ ok: true, value });
export const err = <E>(error: E): { readonly ok: false; readonly error: E } => ({ ok: false, error });
