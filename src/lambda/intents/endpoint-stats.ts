/**
 * get_endpoint_stats: per-endpoint requests, errors, mean and 95th-percentile response time.
 * Requests, errors and the response-time sum and count come from the endpoint rollup once it is
 * ready (rollup-queries.ts), with any `bots` filter, else from access_logs; the percentile from the
 * per-day counts of response times where they are complete (`db rollup --percentiles`) and no
 * `bots` filter is asked for, else from the rows.
 */

import { BOTS_PARAM, type BotsFilter } from '../bots.js';
import type { Database } from '../database.js';
import { stringParam } from '../params.js';
import {
  countedWindow,
  type KeyRow,
  keyTotalsFromRollups,
  p95FromRollups,
  readRollupView,
  rollupRange,
  topKeysFromRollups,
} from '../rollup-queries.js';
import type { TimeRange } from '../rollup-tables.js';
import { describeWindow, resolveWindow, type TimeWindow, WINDOW_PARAMS } from '../window.js';
import { defineIntent } from './intent.js';
import { errorRate, TABLE, Where } from './sql.js';
import { topEndpoints } from './top-endpoints.js';
import { TOP_N_PARAM } from './traffic-summary.js';

/** Per endpoint: requests `n`, `errors`, and the sum and count of the response times recorded. */
const MEASURES = ['errors', 'rt_sum', 'rt_count'];
const RAW_MEASURES = [
  'SUM(status_code >= 400) AS errors',
  'COALESCE(SUM(response_time_ms), 0) AS rt_sum',
  'COUNT(response_time_ms) AS rt_count',
];

/**
 * p95 as the nearest-rank percentile (what PERCENTILE_DISC(0.95) gives): the response time at rank
 * ceil(0.95 n) of the endpoint's n timed requests, ascending; rows without one are left out. One
 * ORDER BY ... LIMIT 1 OFFSET per endpoint, read through its own (endpoint, timestamp) index: the
 * window-function form of the same answer took a second on 1M rows, most of it in a temporary
 * table of full-width paths.
 */
async function p95FromRows(
  db: Database,
  paths: { k: string; timed: number }[],
  window: TimeWindow,
  bots: BotsFilter,
): Promise<Map<string, number>> {
  const p95 = new Map<string, number>();
  if (paths.length === 0) return p95;
  const parts: string[] = [];
  const values: unknown[] = [];
  paths.forEach((row, index) => {
    const only = new Where()
      .add('endpoint = ?', row.k)
      .window(window)
      .bots(bots)
      .add('response_time_ms IS NOT NULL');
    parts.push(
      `(SELECT ? AS i, response_time_ms AS p95 FROM ${TABLE} ${only} ORDER BY response_time_ms LIMIT 1 OFFSET ?)`,
    );
    values.push(index, ...only.values, Math.ceil((95 * row.timed) / 100) - 1);
  });
  const rows = await db.select<{ i: number; p95: number }>(parts.join(' UNION ALL '), values);
  for (const row of rows) p95.set(paths[Number(row.i)]!.k, Number(row.p95));
  return p95;
}

export const endpointStats = defineIntent({
  name: 'get_endpoint_stats',
  description:
    'The busiest endpoints (or one endpoint): requests, errors, error rate, mean and p95 response time in ms.',
  params: {
    ...WINDOW_PARAMS,
    endpoint: stringParam('Only this exact path.', 700),
    top_n: TOP_N_PARAM,
    bots: BOTS_PARAM,
  },
  async run(db, params, { now }) {
    const asked = resolveWindow(params, now);
    const view = await readRollupView(db);
    const window = countedWindow(asked, view.floor);
    let top: KeyRow[];
    let range: TimeRange | null = null;
    if (view.ready.has('endpoint')) {
      range = await rollupRange(db, window);
      if (params.endpoint === undefined) {
        top = await topKeysFromRollups(db, 'endpoint', range, params.top_n, MEASURES, params.bots);
      } else {
        const one = await keyTotalsFromRollups(db, 'endpoint', params.endpoint, range, {
          bots: params.bots,
          measures: MEASURES,
        });
        top = one ? [one] : [];
      }
    } else {
      const where = new Where().window(window).bots(params.bots);
      if (params.endpoint !== undefined) where.add('endpoint = ?', params.endpoint);
      top = await topEndpoints<KeyRow>(db, where, {
        topN: params.top_n,
        window,
        bots: params.bots,
        // One endpoint asked for: its own index finds its rows, nothing to rank.
        byChecksum: params.endpoint === undefined,
        aggregates: RAW_MEASURES,
      });
    }
    const timed = top
      .filter((row) => Number(row.rt_count) > 0)
      .map((row) => ({ k: row.k, timed: Number(row.rt_count) }));
    const p95 = range ? await p95FromRollups(db, timed, range, params.bots) : new Map<string, number>();
    const fromRows = timed.filter((row) => !p95.has(row.k));
    for (const [k, v] of await p95FromRows(db, fromRows, window, params.bots)) p95.set(k, v);
    return {
      data: {
        endpoints: top.map((row) => {
          const n = Number(row.n);
          const rtCount = Number(row.rt_count);
          return {
            endpoint: row.k,
            requests: n,
            errors: Number(row.errors),
            error_rate: errorRate(Number(row.errors), n),
            // The mean from the exact integer sum and count, rounded the same way on both paths.
            avg_response_ms: rtCount === 0 ? null : Math.round((Number(row.rt_sum) / rtCount) * 100) / 100,
            p95_response_ms: p95.get(row.k) ?? null,
          };
        }),
        window: describeWindow(asked),
      },
      rows: top.length + p95.size,
    };
  },
});
