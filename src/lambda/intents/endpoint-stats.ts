/** get_endpoint_stats: per-endpoint requests, errors, mean and 95th-percentile response time. */
import { stringParam } from '../params.js';
import { describeWindow, resolveWindow, WINDOW_PARAMS } from '../window.js';
import { defineIntent } from './intent.js';
import { errorRate, TABLE, Where } from './sql.js';
import { TOP_N_PARAM } from './traffic-summary.js';

interface EndpointRow {
  endpoint: string;
  requests: number;
  errors: number;
  avg_ms: number | null;
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
    const top = await db.select<EndpointRow>(
      `SELECT endpoint, COUNT(*) AS requests, SUM(status_code >= 400) AS errors, AVG(response_time_ms) AS avg_ms
       FROM ${TABLE} ${where} GROUP BY endpoint ORDER BY requests DESC, endpoint LIMIT ?`,
      [...where.values, params.top_n],
    );
    // p95 as the nearest-rank percentile (PERCENTILE_DISC): a response time that actually occurred,
    // at or above 95% of this endpoint's requests. Rows without a response time are left out.
    const p95 = new Map<string, number | null>();
    if (top.length > 0) {
      const only = new Where()
        .window(window)
        .add(`endpoint IN (${top.map(() => '?').join(', ')})`, ...top.map((r) => r.endpoint));
      const rows = await db.select<{ endpoint: string; p95: number | null }>(
        `SELECT DISTINCT endpoint, PERCENTILE_DISC(0.95) WITHIN GROUP (ORDER BY response_time_ms) OVER (PARTITION BY endpoint) AS p95
         FROM ${TABLE} ${only}`,
        only.values,
      );
      for (const row of rows) p95.set(row.endpoint, row.p95 === null ? null : Number(row.p95));
    }
    return {
      data: {
        endpoints: top.map((row) => ({
          endpoint: row.endpoint,
          requests: row.requests,
          errors: Number(row.errors),
          error_rate: errorRate(Number(row.errors), row.requests),
          avg_response_ms: row.avg_ms === null ? null : Math.round(Number(row.avg_ms) * 100) / 100,
          p95_response_ms: p95.get(row.endpoint) ?? null,
        })),
        window: describeWindow(window),
      },
      rows: top.length + p95.size,
    };
  },
});
