/** get_endpoint_stats: per-endpoint requests, errors, mean and 95th-percentile response time. */
import { stringParam } from '../params.js';
import { describeWindow, resolveWindow, WINDOW_PARAMS } from '../window.js';
import { defineIntent } from './intent.js';
import { errorRate, TABLE, Where } from './sql.js';
import { topEndpoints } from './top-endpoints.js';
import { TOP_N_PARAM } from './traffic-summary.js';

interface EndpointRow {
  k: string;
  n: number;
  errors: number;
  avg_ms: number | null;
  /** Requests with a response time. */
  timed: number;
}

export const endpointStats = defineIntent({
  name: 'get_endpoint_stats',
  description:
    'The busiest endpoints (or one endpoint): requests, errors, error rate, mean and p95 response time in ms.',
  params: {
    ...WINDOW_PARAMS,
    endpoint: stringParam('Only this exact path.', 700),
    top_n: TOP_N_PARAM,
  },
  async run(db, params, { now }) {
    const window = resolveWindow(params, now);
    const where = new Where().window(window);
    if (params.endpoint !== undefined) where.add('endpoint = ?', params.endpoint);
    const top = await topEndpoints<EndpointRow>(db, where, {
      topN: params.top_n,
      window,
      // One endpoint asked for: its own index finds its rows, nothing to rank.
      byChecksum: params.endpoint === undefined,
      aggregates: [
        'SUM(status_code >= 400) AS errors',
        'AVG(response_time_ms) AS avg_ms',
        'COUNT(response_time_ms) AS timed',
      ],
    });
    // p95 as the nearest-rank percentile (what PERCENTILE_DISC(0.95) gives): the response time at
    // rank ceil(0.95 n) of the endpoint's n timed requests, ascending; rows without one are left
    // out. One ORDER BY ... LIMIT 1 OFFSET per endpoint, read through its own (endpoint, timestamp)
    // index: the window-function form of the same answer took a second on 1M rows, most of it in a
    // temporary table of full-width paths.
    const p95 = new Map<string, number | null>();
    const timed = top.filter((row) => Number(row.timed) > 0);
    if (timed.length > 0) {
      const parts: string[] = [];
      const values: unknown[] = [];
      timed.forEach((row, index) => {
        const only = new Where()
          .add('endpoint = ?', row.k)
          .window(window)
          .add('response_time_ms IS NOT NULL');
        parts.push(
          `(SELECT ? AS i, response_time_ms AS p95 FROM ${TABLE} ${only} ORDER BY response_time_ms LIMIT 1 OFFSET ?)`,
        );
        values.push(index, ...only.values, Math.ceil((95 * Number(row.timed)) / 100) - 1);
      });
      const rows = await db.select<{ i: number; p95: number }>(parts.join(' UNION ALL '), values);
      for (const row of rows) p95.set(timed[Number(row.i)]!.k, Number(row.p95));
    }
    return {
      data: {
        endpoints: top.map((row) => ({
          endpoint: row.k,
          requests: row.n,
          errors: Number(row.errors),
          error_rate: errorRate(Number(row.errors), row.n),
          avg_response_ms: row.avg_ms === null ? null : Math.round(Number(row.avg_ms) * 100) / 100,
          p95_response_ms: p95.get(row.k) ?? null,
        })),
        window: describeWindow(window),
      },
      rows: top.length + p95.size,
    };
  },
});
