/**
 * A mass loss: hundreds of subscriptions die at once. Modelled as many mailboxes moved in the same
 * moment (Exchange moves mailboxes between databases in batches, and a move loses a mailbox's
 * subscriptions without a word and makes its old watermarks refused, ews-protocol.md §3 and §5).
 * The per-mailbox `mailboxMovePerHour` fault scatters single moves and never makes that burst;
 * this does, from the `massLossPerHour` fault or on request (`POST /_sim/mass-losses`,
 * `sim.massLoss()`), so a client can show how long a burst takes to heal.
 */
import type { Clock } from '../functions/core/clock.ts';
import { err, ok, type Result } from '../functions/core/result.ts';
import { showValue } from '../functions/core/show.ts';
import type { Random } from './random.ts';

/** How many mailboxes to move: a count, or a fraction of all the simulator's mailboxes. */
export type MassLossRequest = { readonly count: number } | { readonly fraction: number };

export interface MassLoss {
  /** 1, 2, … in the order they happened. */
  readonly seq: number;
  /** When it struck (simulated epoch ms): the subscriptions ended at or just after it. */
  readonly at: number;
  /** What made it: the `massLossPerHour` fault or the control API. */
  readonly reason: string;
  /** The mailboxes moved (each loses every subscription, and its old watermarks are refused). */
  readonly mailboxes: readonly string[];
  /** The subscriptions that died with them (active ones only; a mailbox may have had none). */
  readonly subscriptionIds: readonly string[];
}

/** Reads an untrusted request: `{"count": N}`, `{"fraction": F}`, or `{}` for the `massLossFraction` fault's share. */
export function parseMassLossRequest(
  input: unknown,
  defaultFraction: number,
): Result<MassLossRequest, string> {
  const example = 'a JSON object such as {"count": 300} or {"fraction": 0.3}';
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return err(`a mass loss is ${example}`);
  }
  const keys = Object.keys(input);
  const unknown = keys.find((key) => key !== 'count' && key !== 'fraction');
  if (unknown !== undefined) return err(`unknown field ${showValue(unknown)}; a mass loss is ${example}`);
  if (keys.length > 1) return err(`give count or fraction, not both; a mass loss is ${example}`);
  const count: unknown = Reflect.get(input, 'count');
  const fraction: unknown = Reflect.get(input, 'fraction');
  if (count !== undefined) {
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) {
      return err(`count ${showValue(String(count))} must be a whole number of mailboxes, at least 1`);
    }
    return ok({ count });
  }
  if (fraction !== undefined) {
    if (typeof fraction !== 'number' || !Number.isFinite(fraction) || fraction <= 0 || fraction > 1) {
      return err(
        `fraction ${showValue(String(fraction))} must be a share of the mailboxes, above 0 and at most 1`,
      );
    }
    return ok({ fraction });
  }
  if (defaultFraction <= 0) {
    return err(`the massLossFraction fault is 0; give {"count": N} or {"fraction": F}`);
  }
  return ok({ fraction: defaultFraction });
}

export interface MassLossesOptions {
  readonly clock: Clock;
  /** Its own stream: which mailboxes a mass loss picks does not change any other random choice. */
  readonly random: Random;
  readonly addresses: () => readonly string[];
  readonly isMoving: (mailbox: string) => boolean;
  /** Moves one mailbox; returns the ids of the subscriptions it lost. */
  readonly move: (mailbox: string, reason: string) => readonly string[];
}

export class MassLosses {
  readonly #o: MassLossesOptions;
  readonly #losses: MassLoss[] = [];

  constructor(options: MassLossesOptions) {
    this.#o = options;
  }

  /**
   * Moves the requested number of mailboxes at once, chosen at random among those not already
   * moving (a mailbox in the middle of a move cannot start another). A fraction is rounded to the
   * nearest whole mailbox, at least one; a count beyond the mailboxes there are moves them all.
   */
  trigger(request: MassLossRequest, reason: string): MassLoss {
    // The moment it struck: before the first move (the moves themselves take a little clock time).
    const at = this.#o.clock.now();
    const all = this.#o.addresses();
    const wanted =
      'count' in request ? request.count : Math.max(1, Math.round(request.fraction * all.length));
    // A full shuffle whatever is moving: the draws, and so later mass losses, do not depend on
    // which mailboxes happen to be moving at the time.
    const order = [...all];
    for (let i = order.length - 1; i > 0; i--) {
      const j = this.#o.random.int(i + 1);
      const a = order[i];
      const b = order[j];
      if (a !== undefined && b !== undefined) {
        order[i] = b;
        order[j] = a;
      }
    }
    const chosen = order.filter((mailbox) => !this.#o.isMoving(mailbox)).slice(0, wanted);
    const subscriptionIds = chosen.flatMap((mailbox) =>
      this.#o.move(mailbox, `a mass loss (${reason}): ${chosen.length} mailboxes moved at once`),
    );
    const loss: MassLoss = {
      seq: this.#losses.length + 1,
      at,
      reason,
      mailboxes: chosen,
      subscriptionIds,
    };
    this.#losses.push(loss);
    return loss;
  }

  list(): readonly MassLoss[] {
    return this.#losses;
  }
}
