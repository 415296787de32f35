/**
 * What happens in the simulated world on its own: users changing their mailboxes (`changeRate`),
 * and the faults that strike at random moments (silent subscription losses, error pushes,
 * mailbox moves, mass losses). Both are Poisson processes on the simulator's clock, drawn from seeded streams.
 *
 * Each automatic change is a random one (`makeChange({ mailbox })`): every kind, copies the
 * rarest, in every item folder, the custom folder (projects) included; the weights and targets
 * are in change-planner.ts.
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
  /** Makes a mass loss of the `massLossFraction` fault's share of the mailboxes (mass-loss.ts). */
  readonly massLoss: (fraction: number) => void;
  /**
   * The stream the `massLossPerHour` draws come from: its own, one draw per tick, so when mass
   * losses strike depends only on the seed, not on how requests and timers interleaved.
   */
  readonly massLossRandom: Random;
}

export class Activity {
  readonly #o: ActivityOptions;
  #changeRate: number;
  /** Bumped by every rate change: a planned change of an older plan does nothing. */
  #plan = 0;

  constructor(options: ActivityOptions) {
    this.#o = options;
    this.#changeRate = options.changeRate;
  }

  /** Changes the rate of automatic changes from now on (0 stops them). */
  setChangeRate(changeRate: number): void {
    this.#changeRate = changeRate;
    this.#plan++;
    this.#scheduleChanges(this.#o.clock.now());
  }

  get changeRate(): number {
    return this.#changeRate;
  }

  start(): void {
    const now = this.#o.clock.now();
    this.#scheduleChanges(now);
    this.#o.timers.at(now + FAULT_TICK_MS, () => this.#faultTick(now + FAULT_TICK_MS));
  }

  /**
   * The changes of all mailboxes form one Poisson process; each arrival picks a mailbox at random.
   * Arrivals are planned in simulated time and a late timer makes every change that was due, so a
   * busy event loop (or a large time scale) does not lower the rate.
   */
  #scheduleChanges(from: number): void {
    const { store, changeRandom } = this.#o;
    const changeRate = this.#changeRate;
    if (changeRate <= 0 || store.addresses().length === 0) return;
    const meanGapMs = 60_000 / (changeRate * store.addresses().length);
    this.#armChange(from + changeRandom.exponential(meanGapMs), meanGapMs, this.#plan);
  }

  #armChange(due: number, meanGapMs: number, plan: number): void {
    const { store, changeRandom, timers, clock } = this.#o;
    timers.at(due, () => {
      if (plan !== this.#plan) return;
      const addresses = store.addresses();
      let next = due;
      const now = clock.now();
      while (next <= now) {
        const mailbox = addresses[changeRandom.int(addresses.length)];
        if (mailbox !== undefined) store.makeChange({ mailbox });
        next += changeRandom.exponential(meanGapMs);
      }
      this.#armChange(next, meanGapMs, plan);
    });
  }

  /** Draws the per-hour faults once per simulated minute, on a fixed grid (a late tick does not shift the next). */
  #faultTick(at: number): void {
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
    if (this.#o.massLossRandom.next() < perTick(faults.massLossPerHour) && faults.massLossFraction > 0) {
      this.#o.massLoss(faults.massLossFraction);
    }
    timers.at(at + FAULT_TICK_MS, () => this.#faultTick(at + FAULT_TICK_MS));
  }
}
