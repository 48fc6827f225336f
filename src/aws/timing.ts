/**
 * Time as the AWS code sees it: a clock and a sleep, plus the SDK waiters' polling delays. Tests
 * pass a fake clock and millisecond delays so retries and waits run instantly.
 */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Delays (seconds) for the SDK waiters; maxWaitSeconds bounds each wait. */
export interface WaiterTiming {
  minDelaySeconds: number;
  maxDelaySeconds: number;
  maxWaitSeconds: number;
}

export interface Timing {
  clock: Clock;
  waiter: WaiterTiming;
}

export const realTiming: Timing = {
  clock: systemClock,
  waiter: { minDelaySeconds: 1, maxDelaySeconds: 5, maxWaitSeconds: 300 },
};
