/** get_ip_activity: what one client address did over a window. */
import { ipAddressParam, required } from '../params.js';
import { describeWindow, resolveWindow, WINDOW_PARAMS } from '../window.js';
import { defineIntent } from './intent.js';
import { countMap, errorsOf, isoOrNull, statusBreakdown, TABLE, totalOf, Where } from './sql.js';
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
    const [statuses, endpoints, methods] = await Promise.all([
      db.select<{ status: number; n: number; first_seen: Date; last_seen: Date }>(
        `SELECT status_code AS status, COUNT(*) AS n, MIN(\`timestamp\`) AS first_seen, MAX(\`timestamp\`) AS last_seen
         FROM ${TABLE} ${where} GROUP BY status_code`,
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
    // Each status group carries its first and last time: the address's are the extremes of those.
    const times = statuses
      .flatMap((row) => [row.first_seen, row.last_seen])
      .sort((x, y) => x.getTime() - y.getTime());
    return {
      data: {
        ip_address: params.ip_address,
        total_requests: totalOf(statuses),
        error_count: errorsOf(statuses),
        first_seen: isoOrNull(times[0]),
        last_seen: isoOrNull(times.at(-1)),
        top_endpoints: countMap(endpoints),
        status_breakdown: statusBreakdown(statuses),
        methods: countMap(methods),
        window: describeWindow(window),
      },
      rows: statuses.length + endpoints.length + methods.length,
    };
  },
});
