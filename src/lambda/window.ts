/**
 * The time window shared by every intent that reads logs: start_time/end_time,
 * or hours, default the last 24 hours, or all_time. Windows are half-open, [start, end).
 */
import { invalidParam } from './errors.js';
import { booleanParam, integerParam, timeParam } from './params.js';

const HOUR_MS = 3600_000;
const DEFAULT_HOURS = 24;

export const WINDOW_PARAMS = {
  start_time: timeParam('Start of the window, inclusive (ISO 8601; a time without offset is UTC).'),
  end_time: timeParam('End of the window, exclusive (ISO 8601; default now).'),
  hours: integerParam('The last N hours before end_time (or now); default 24. Not with start_time.', {
    min: 1,
    max: 8760,
  }),
  all_time: booleanParam('true lifts the time window: every row in the table.'),
};

export interface WindowParams {
  start_time: Date | undefined;
  end_time: Date | undefined;
  hours: number | undefined;
  all_time: boolean | undefined;
}

/** A resolved window; null means all time. */
export type TimeWindow = { start: Date; end: Date } | null;

export function resolveWindow(params: WindowParams, now: Date): TimeWindow {
  const { start_time, end_time, hours, all_time } = params;
  if (all_time) {
    if (start_time || end_time || hours !== undefined)
      throw invalidParam('all_time', 'cannot be combined with start_time, end_time or hours');
    return null;
  }
  if (hours !== undefined && start_time) throw invalidParam('hours', 'cannot be combined with start_time');
  const end = end_time ?? now;
  const start = start_time ?? new Date(end.getTime() - (hours ?? DEFAULT_HOURS) * HOUR_MS);
  if (start.getTime() >= end.getTime()) throw invalidParam('start_time', 'must be before end_time (or now)');
  return { start, end };
}

/** data.window as answers echo it. */
export function describeWindow(window: TimeWindow): { start: string; end: string } | null {
  return window ? { start: window.start.toISOString(), end: window.end.toISOString() } : null;
}

/** SQL conditions restricting `timestamp` to the window (none for all time), for a WHERE clause. */
export function windowConditions(window: TimeWindow): { sql: string[]; values: unknown[] } {
  if (!window) return { sql: [], values: [] };
  return { sql: ['`timestamp` >= ?', '`timestamp` < ?'], values: [window.start, window.end] };
}
