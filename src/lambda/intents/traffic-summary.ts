/**
 * get_traffic_summary: totals, error rate, top endpoints and IPs, status classes, over a window.
 * Each part comes from its rollup table once that is ready (rollup-queries.ts), else from access_logs;
 * with a `bots` filter too (the rollups count bots' requests apart).
 */
import { BOTS_PARAM } from '../bots.js';
import { integerParam, withDefault } from '../params.js';
import {
  countedWindow,
  readRollupView,
  rollupRange,
  statusCountsFromRollups,
  topKeysFromRollups,
} from '../rollup-queries.js';
import { describeWindow, resolveWindow, WINDOW_PARAMS } from '../window.js';
import { defineIntent } from './intent.js';
import {
  countMap,
  errorRate,
  errorsOf,
  statusBreakdown,
  statusCountsSql,
  TABLE,
  totalOf,
  Where,
} from './sql.js';
import { topEndpoints } from './top-endpoints.js';

export const TOP_N_PARAM = withDefault(
  integerParam('How many entries in each top list.', { min: 1, max: 50 }),
  5,
);

export const trafficSummary = defineIntent({
  name: 'get_traffic_summary',
  description:
    'Request count, error count and rate, top endpoints, top IPs and status classes over a time window.',
  params: { ...WINDOW_PARAMS, top_n: TOP_N_PARAM, bots: BOTS_PARAM },
  async run(db, params, { now }) {
    const asked = resolveWindow(params, now);
    // Every `bots` value reads the rollups: they count bots' requests beside all requests.
    const view = await readRollupView(db);
    const window = countedWindow(asked, view.floor);
    const where = new Where().window(window).bots(params.bots);
    const range = view.ready.size > 0 ? await rollupRange(db, window) : null;
    // Three independent reads, one connection each: the pool runs them side by side.
    const [statuses, endpoints, ips] = await Promise.all([
      view.ready.has('status')
        ? statusCountsFromRollups(db, range, params.bots)
        : db.select<{ status: number; n: number }>(statusCountsSql(where), where.values),
      view.ready.has('endpoint')
        ? topKeysFromRollups(db, 'endpoint', range, params.top_n, ['n'], params.bots)
        : topEndpoints(db, where, { topN: params.top_n, window, bots: params.bots, byChecksum: true }),
      view.ready.has('ip')
        ? topKeysFromRollups(db, 'ip', range, params.top_n, ['n'], params.bots)
        : db.select<{ k: string; n: number }>(
            `SELECT ip_address AS k, COUNT(*) AS n FROM ${TABLE} ${where} GROUP BY ip_address ORDER BY n DESC, k LIMIT ?`,
            [...where.values, params.top_n],
          ),
    ]);
    const total = totalOf(statuses);
    const errors = errorsOf(statuses);
    return {
      data: {
        total_requests: total,
        error_count: errors,
        error_rate: errorRate(errors, total),
        top_endpoints: countMap(endpoints),
        top_ips: countMap(ips),
        status_breakdown: statusBreakdown(statuses),
        window: describeWindow(asked),
      },
      rows: statuses.length + endpoints.length + ips.length,
    };
  },
});
