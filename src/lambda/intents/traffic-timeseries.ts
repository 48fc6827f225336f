/**
 * get_traffic_timeseries: requests and errors per minute, hour or day, empty buckets included.
 * Counts come from the status rollup once it is ready (rollup-queries.ts), else from access_logs.
 */
import { BOTS_PARAM, type BotsFilter, botCondition } from '../bots.js';
import { invalidParam } from '../errors.js';
import { enumParam, withDefault } from '../params.js';
import { countedWindow, readRollupView, seriesFromRollups } from '../rollup-queries.js';
import { describeWindow, resolveWindow, WINDOW_PARAMS } from '../window.js';
import { defineIntent } from './intent.js';
import { TABLE, Where } from './sql.js';

const INTERVAL_SECONDS = { minute: 60, hour: 3600, day: 86400 } as const;
type Interval = keyof typeof INTERVAL_SECONDS;

/** More buckets than this is an answer no chatbot can use: a whole day by the minute still fits. */
export const MAX_BUCKETS = 2000;

/**
 * Up to this many buckets, each is counted by its own range on the timestamp index (UNION ALL of
 * COUNTs): MariaDB then computes no bucket per row and builds no temporary table, 14 ms against
 * 34 ms for a day by the hour over 1M rows (bench/lambda.bench.ts). Beyond it the statement would
 * grow too long, and one GROUP BY over a computed bucket answers.
 */
const RANGE_COUNT_MAX_BUCKETS = 64;

type BucketCount = { bucket: number; requests: number; errors: number | string | null };

/** One COUNT per bucket, each over [bucket start, next start) clipped to the range. */
function countPerBucketRange(
  range: { start: Date; end: Date },
  first: number,
  count: number,
  bucketMs: number,
  bots: BotsFilter,
) {
  const values: unknown[] = [];
  const condition = botCondition(bots);
  const filter = condition ? ` AND ${condition}` : '';
  const parts = Array.from({ length: count }, (_, index) => {
    const from = Math.max(range.start.getTime(), first + index * bucketMs);
    const to = Math.min(range.end.getTime(), first + (index + 1) * bucketMs);
    values.push(new Date(from), new Date(to));
    // The index is a number from this loop, never input: safe as SQL text.
    return `SELECT ${index} AS bucket, COUNT(*) AS requests, SUM(status_code >= 400) AS errors FROM ${TABLE} WHERE \`timestamp\` >= ? AND \`timestamp\` < ?${filter}`;
  });
  return { sql: parts.join(' UNION ALL '), values };
}

export const trafficTimeseries = defineIntent({
  name: 'get_traffic_timeseries',
  description: 'Requests and errors per time bucket (minute, hour or day, UTC), zeros for empty buckets.',
  params: {
    ...WINDOW_PARAMS,
    interval: withDefault(
      enumParam('Bucket size; buckets start on whole UTC minutes, hours or days.', [
        'minute',
        'hour',
        'day',
      ] as Interval[]),
      'hour' as Interval,
    ),
    bots: BOTS_PARAM,
  },
  async run(db, params, { now }) {
    const asked = resolveWindow(params, now);
    const interval: Interval = params.interval;
    const bucketMs = INTERVAL_SECONDS[interval] * 1000;
    const view = await readRollupView(db);
    // The buckets span the window asked for; what a running prune is deleting counts as no traffic.
    const counted = countedWindow(asked, view.floor);
    let range = asked;
    let rows = 0;
    if (!range) {
      const [bounds] = await db.select<{ first: Date | null; last: Date | null }>(
        `SELECT MIN(\`timestamp\`) AS first, MAX(\`timestamp\`) AS last FROM ${TABLE}`,
      );
      rows += 1;
      const first =
        bounds?.first && view.floor && bounds.first.getTime() < view.floor.getTime()
          ? view.floor
          : bounds?.first;
      range =
        first && bounds?.last && first.getTime() <= bounds.last.getTime()
          ? { start: first, end: new Date(bounds.last.getTime() + 1) }
          : null;
    }
    if (!range) return { data: { interval, buckets: [], window: null }, rows };
    const countRange = asked ? (counted as { start: Date; end: Date }) : range;

    const first = Math.floor(range.start.getTime() / bucketMs) * bucketMs;
    const count = Math.ceil((range.end.getTime() - first) / bucketMs);
    if (count > MAX_BUCKETS)
      throw invalidParam(
        'interval',
        `${interval} buckets over this window would be ${count}, more than ${MAX_BUCKETS}; use a larger interval or a shorter window`,
      );
    let bucketCounts: BucketCount[];
    if (view.ready.has('status')) {
      const series = await seriesFromRollups(
        db,
        { from: countRange.start.getTime(), to: countRange.end.getTime() },
        interval,
        params.bots,
      );
      // Several rollup rows (a day's hours, the raw edges) may fall in one bucket of the series.
      const sums = new Map<number, BucketCount>();
      for (const row of series) {
        const bucket = Math.floor((row.bucket - first) / bucketMs);
        const into = sums.get(bucket) ?? { bucket, requests: 0, errors: 0 };
        into.requests += row.requests;
        into.errors = Number(into.errors) + row.errors;
        sums.set(bucket, into);
      }
      bucketCounts = [...sums.values()];
    } else if (count <= RANGE_COUNT_MAX_BUCKETS) {
      const perBucket = countPerBucketRange(countRange, first, count, bucketMs, params.bots);
      bucketCounts = await db.select<BucketCount>(perBucket.sql, perBucket.values);
    } else {
      const where = new Where().window(countRange).bots(params.bots);
      bucketCounts = await db.select<BucketCount>(
        `SELECT TIMESTAMPDIFF(SECOND, ?, \`timestamp\`) DIV ? AS bucket, COUNT(*) AS requests, SUM(status_code >= 400) AS errors
         FROM ${TABLE} ${where} GROUP BY bucket`,
        [new Date(first), INTERVAL_SECONDS[interval], ...where.values],
      );
    }
    rows += bucketCounts.length;
    const byBucket = new Map(bucketCounts.map((row) => [Number(row.bucket), row]));
    const buckets = Array.from({ length: count }, (_, index) => {
      const row = byBucket.get(index);
      return {
        start: new Date(first + index * bucketMs).toISOString(),
        requests: row ? Number(row.requests) : 0,
        errors: row ? Number(row.errors) : 0,
      };
    });
    return { data: { interval, buckets, window: describeWindow(asked) }, rows };
  },
});
