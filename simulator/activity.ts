/**
 * What happens in the simulated world on its own: users changing their mailboxes (`changeRate`),
 * and the faults that strike at random moments (silent subscription losses, error pushes,
 * mailbox moves). Both are Poisson processes on the simulator's clock, drawn from seeded streams.
 */
import type { Clock } from '../functions/core/clock.ts';
import type { FaultSettings } from './faults.ts';
import type { MailboxStore } from './mailbox-store.ts';
import type { PushEngine } from './push-engine.ts';
import type { Random } from './random.ts';
import type { Timers } from './timers.ts';

/** How often the per-hour faults are drawn: often enough that a rate of a few per hour is smooth. */
const FAULT_TICK_MS = 60_000;

export interface ActivityOptions {
  readonly clock: Clock;
  readonly timers: Timers;
  readonly store: MailboxStore;
  readonly engine: PushEngine;
  readonly faults: () => FaultSettings;
  readonly changeRandom: Random;
  readonly faultRandom: Random;
  /** Changes per simulated minute per mailbox; 0 for none. */
  readonly changeRate: number;
  /** Moves a mailbox as `moveMailbox` does (the engine drops its subscriptions). */
  readonly moveMailbox: (mailbox: string) => void;
}

export class Activity {
  readonly #o: ActivityOptions;

  constructor(options: ActivityOptions) {
    this.#o = options;
  }

  start(): void {
    this.#scheduleChange();
    this.#o.timers.set(FAULT_TICK_MS, () => this.#faultTick());
  }

  /** The changes of all mailboxes form one Poisson process; each arrival picks a mailbox at random. */
  #scheduleChange(): void {
    const { changeRate, store, changeRandom, timers } = this.#o;
    const addresses = store.addresses();
    if (changeRate <= 0 || addresses.length === 0) return;
    const meanGapMs = 60_000 / (changeRate * addresses.length);
    timers.set(changeRandom.exponential(meanGapMs), () => {
      const mailbox = addresses[changeRandom.int(addresses.length)];
      if (mailbox !== undefined) store.makeChange({ mailbox });
      this.#scheduleChange();
    });
  }

  #faultTick(): void {
    const { engine, store, faultRandom, timers } = this.#o;
    const faults = this.#o.faults();
    // P(at least one arrival in a tick) for a Poisson process with the given hourly rate.
    const perTick = (perHour: number) => 1 - Math.exp(-(perHour * FAULT_TICK_MS) / 3_600_000);
    for (const id of engine.activeSubscriptionIds()) {
      if (faultRandom.chance(perTick(faults.subscriptionLossPerHour))) {
        engine.lose(id, 'subscriptionLossPerHour fault (the server holding it restarted)');
      } else if (faultRandom.chance(perTick(faults.errorPushPerHour))) {
        engine.failWithErrorPush(id);
      }
    }
    for (const mailbox of store.addresses()) {
      if (!store.isMoving(mailbox) && faultRandom.chance(perTick(faults.mailboxMovePerHour))) {
        this.#o.moveMailbox(mailbox);
      }
    }
    timers.set(FAULT_TICK_MS, () => this.#faultTick());
  }
}
