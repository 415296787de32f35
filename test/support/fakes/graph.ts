/**
 * Graph's subscriptions as mailbox management sees them: which ids exist, which were deleted, and
 * a DELETE made to fail the way the Graph client fails (a typed error in the Result, never a
 * throw). DELETE of an unknown id answers `alreadyGone`, as Graph's 404 does through the client
 * (graph/subscription.ts `decodeDeleteSubscriptionResponse`; the stand-in's DELETE is exercised
 * through the real client in test/integration/graph/remove.test.ts).
 */
import { err, ok } from '../../../functions/core/result.ts';
import { GraphUnreachableError } from '../../../functions/graph/errors.ts';
import type { GraphClient } from '../../../functions/graph/graph-client.ts';

export class FakeGraphSubscriptions implements Pick<GraphClient, 'deleteSubscription'> {
  readonly live = new Set<string>();
  /** Every DELETE asked for, in order. */
  readonly deletes: string[] = [];
  readonly #unreachable = new Set<string>();

  /** DELETEs of `id` fail as an unreachable Graph would, until healed. */
  failDeleteOf(id: string): void {
    this.#unreachable.add(id);
  }

  async deleteSubscription(id: string): ReturnType<GraphClient['deleteSubscription']> {
    this.deletes.push(id);
    if (this.#unreachable.has(id)) {
      return err(
        new GraphUnreachableError({
          operation: 'deleteSubscription',
          url: `https://graph.example.test/v1.0/subscriptions/${id}`,
          reason: 'network',
          detail: 'could not be reached',
        }),
      );
    }
    return ok(this.live.delete(id) ? 'deleted' : 'alreadyGone');
  }
}
