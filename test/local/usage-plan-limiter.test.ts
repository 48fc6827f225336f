import { describe, expect, it } from 'vitest';
import { quotaPeriodStart, TokenBucket, UsagePlanLimiter } from '../../src/local/usage-plan-limiter.js';

/** A clock the test moves by hand. */
function manualClock(start = Date.UTC(2026, 0, 15, 12)) {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

const takeMany = (bucket: { tryTake(): boolean }, n: number) =>
  Array.from({ length: n }, () => bucket.tryTake()).filter(Boolean).length;

describe('TokenBucket', () => {
  it('admits the burst at once, then nothing until time passes', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(10, 20, clock.now);
    expect(takeMany(bucket, 100)).toBe(20);
    expect(bucket.tryTake()).toBe(false);
  });

  it.each([
    { elapsedMs: 100, admitted: 1 },
    { elapsedMs: 1000, admitted: 10 },
    { elapsedMs: 1500, admitted: 15 },
    { elapsedMs: 60_000, admitted: 20 },
  ])(
    'refills at the rate, capped at the burst: $elapsedMs ms later admits $admitted',
    ({ elapsedMs, admitted }) => {
      const clock = manualClock();
      const bucket = new TokenBucket(10, 20, clock.now);
      takeMany(bucket, 20);
      clock.advance(elapsedMs);
      expect(takeMany(bucket, 100)).toBe(admitted);
    },
  );

  it('sustains the rate over time: 10 a second for 10 seconds', () => {
    const clock = manualClock();
    const bucket = new TokenBucket(10, 20, clock.now);
    takeMany(bucket, 20);
    let admitted = 0;
    for (let step = 0; step < 100; step++) {
      clock.advance(100);
      admitted += takeMany(bucket, 5);
    }
    expect(admitted).toBe(100);
  });
});

describe('quotaPeriodStart', () => {
  const t = Date.UTC(2026, 4, 14, 15, 30); // Thursday 14 May 2026
  it.each([
    { period: 'DAY' as const, start: Date.UTC(2026, 4, 14) },
    { period: 'WEEK' as const, start: Date.UTC(2026, 4, 11) },
    { period: 'MONTH' as const, start: Date.UTC(2026, 4, 1) },
  ])('$period starts at $start', ({ period, start }) => {
    expect(quotaPeriodStart(period, t)).toBe(start);
  });
});

describe('UsagePlanLimiter', () => {
  it('throttles beyond the burst and says so', () => {
    const clock = manualClock();
    const limiter = new UsagePlanLimiter(
      { rateLimit: 1, burstLimit: 2, quotaLimit: 100, quotaPeriod: 'DAY' },
      clock.now,
    );
    expect([limiter.check('k'), limiter.check('k'), limiter.check('k')]).toEqual([
      'admit',
      'admit',
      'throttled',
    ]);
  });

  it('keeps a bucket per key', () => {
    const limiter = new UsagePlanLimiter(
      { rateLimit: 1, burstLimit: 1, quotaLimit: 100, quotaPeriod: 'DAY' },
      manualClock().now,
    );
    expect([limiter.check('a'), limiter.check('b'), limiter.check('a')]).toEqual([
      'admit',
      'admit',
      'throttled',
    ]);
  });

  it('refuses over the quota until the next period, and throttled requests do not count', () => {
    // Prepare
    const clock = manualClock(Date.UTC(2026, 0, 15, 23, 59));
    const limiter = new UsagePlanLimiter(
      { rateLimit: 100, burstLimit: 2, quotaLimit: 3, quotaPeriod: 'DAY' },
      clock.now,
    );
    // Act
    const first = [limiter.check('k'), limiter.check('k'), limiter.check('k')];
    clock.advance(1000);
    const second = [limiter.check('k'), limiter.check('k')];
    clock.advance(60_000);
    const nextDay = limiter.check('k');
    // Assess
    expect(first).toEqual(['admit', 'admit', 'throttled']);
    expect(second).toEqual(['admit', 'quota-exceeded']);
    expect(nextDay).toBe('admit');
    expect(limiter.remaining('k')).toBe(2);
  });
});
