/**
 * The usage plan's limits as API Gateway applies them per API key: a token bucket for the throttle
 * (refilled at `rateLimit` tokens a second, holding at most `burstLimit`) and a request quota per
 * period. Pure apart from the clock, which is injected so tests step time by hand.
 */

/** Milliseconds since the epoch; `Date.now` in production, a hand-stepped value in tests. */
export type Clock = () => number;

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: Clock = Date.now,
  ) {
    // A new key starts with a full bucket: API Gateway admits an initial burst.
    this.tokens = burst;
    this.last = now();
  }

  /** Take one token if there is one. */
  tryTake(): boolean {
    const t = this.now();
    if (t > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.rate);
      this.last = t;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }
}

export type QuotaPeriod = 'DAY' | 'WEEK' | 'MONTH';

/** Start (UTC) of the quota period holding `t`. Weeks start on Monday. */
export function quotaPeriodStart(period: QuotaPeriod, t: number): number {
  const d = new Date(t);
  const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  if (period === 'DAY') return day;
  if (period === 'WEEK') return day - ((d.getUTCDay() + 6) % 7) * 86_400_000;
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

export interface UsagePlanLimits {
  rateLimit: number;
  burstLimit: number;
  quotaLimit: number;
  quotaPeriod: string;
}

/** What the gateway does with a request: let it through, or answer 429 for one of the two reasons. */
export type LimitDecision = 'admit' | 'throttled' | 'quota-exceeded';

export class UsagePlanLimiter {
  private readonly keys = new Map<string, { bucket: TokenBucket; periodStart: number; used: number }>();

  constructor(
    private readonly limits: UsagePlanLimits,
    private readonly now: Clock = Date.now,
  ) {}

  /** Decide for one request of the key `keyId`. A request turned away by either limit does not count. */
  check(keyId: string): LimitDecision {
    const t = this.now();
    const period = this.limits.quotaPeriod as QuotaPeriod;
    let entry = this.keys.get(keyId);
    if (!entry) {
      entry = {
        bucket: new TokenBucket(this.limits.rateLimit, this.limits.burstLimit, this.now),
        periodStart: quotaPeriodStart(period, t),
        used: 0,
      };
      this.keys.set(keyId, entry);
    }
    const start = quotaPeriodStart(period, t);
    if (start !== entry.periodStart) {
      entry.periodStart = start;
      entry.used = 0;
    }
    if (entry.used >= this.limits.quotaLimit) return 'quota-exceeded';
    if (!entry.bucket.tryTake()) return 'throttled';
    entry.used += 1;
    return 'admit';
  }

  /** Requests the key has left this period. */
  remaining(keyId: string): number {
    return this.limits.quotaLimit - (this.keys.get(keyId)?.used ?? 0);
  }
}
