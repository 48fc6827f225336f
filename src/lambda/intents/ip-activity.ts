/** get_ip_activity: what one client address did over a window. */
import { ipAddressParam, required } from '../params.js';
import { describeWindow, resolveWindow, WINDOW_PARAMS } from '../window.js';
import { defineIntent } from './intent.js';
import { countMap, isoOrNull, statusBreakdown, TABLE, Where } from './sql.js';
import { TOP_N_PARAM } from './traffic-summary.js';

export const ipActivity = defineIntent({
  name: 'get_ip_activity',
  description:
    'One client address: request and error counts, first and last seen, top endpoints, status classes, methods.',
  params: {
    ip_address: required(ipAddressParam('The client address (IPv4 or IPv6).')),
    ...WINDOW_PARAMS,
    top_n: TOP_N_PARAM,
  },
  async run(db, params, { now }) {
    const window = resolveWindow(params, now);
    const where = new Where().add('ip_address = ?', params.ip_address).window(window);
    const [classes, endpoints, methods] = await Promise.all([
      db.select<{ class: number; n: number; first_seen: Date | null; last_seen: Date | null }>(
        `SELECT status_code DIV 100 AS class, COUNT(*) AS n, MIN(\`timestamp\`) AS first_seen, MAX(\`timestamp\`) AS last_seen
         FROM ${TABLE} ${where} GROUP BY class`,
        where.values,
      ),
      db.select<{ k: string; n: number }>(
        `SELECT endpoint AS k, COUNT(*) AS n FROM ${TABLE} ${where} GROUP BY endpoint ORDER BY n DESC, k LIMIT ?`,
        [...where.values, params.top_n],
      ),
      db.select<{ k: string; n: number }>(
        `SELECT method AS k, COUNT(*) AS n FROM ${TABLE} ${where} GROUP BY method ORDER BY n DESC, k`,
        where.values,
      ),
    ]);
    const total = classes.reduce((sum, row) => sum + row.n, 0);
    const times = classes
      .flatMap((row) => [row.first_seen, row.last_seen])
      .filter((t): t is Date => t instanceof Date);
    const byTime = times.sort((a, b) => a.getTime() - b.getTime());
    return {
      data: {
        ip_address: params.ip_address,
        total_requests: total,
        error_count: classes.filter((row) => row.class >= 4).reduce((sum, row) => sum + row.n, 0),
        first_seen: isoOrNull(byTime[0]),
        last_seen: isoOrNull(byTime.at(-1)),
        top_endpoints: countMap(endpoints),
        status_breakdown: statusBreakdown(classes),
        methods: countMap(methods),
        window: describeWindow(window),
      },
      rows: classes.length + endpoints.length + methods.length,
    };
  },
});
