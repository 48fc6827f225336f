/**
 * get_ip_activity: what one client address did over a window. Its totals, errors, status classes
 * and first and last request come from the address rollup once it is ready (rollup-queries.ts);
 * its methods and busiest paths always come from its rows in access_logs (by address and time):
 * rollups keyed by address and path would be nearly as large as the table (docs explain).
 */

import { BOTS_PARAM, rollupsFor } from '../bots.js';
import type { Database } from '../database.js';
import { ipAddressParam, required } from '../params.js';
import { countedWindow, keyTotalsFromRollups, readRollupView, rollupRange } from '../rollup-queries.js';
import { describeWindow, resolveWindow, type TimeWindow, WINDOW_PARAMS } from '../window.js';
import { defineIntent } from './intent.js';
import {
  countMap,
  errorsOf,
  isoOrNull,
  type StatusCounts,
  statusBreakdown,
  TABLE,
  totalOf,
  Where,
} from './sql.js';
import { TOP_N_PARAM } from './traffic-summary.js';

export const ipActivity = defineIntent({
  name: 'get_ip_activity',
  description:
    'One client address: request and error counts, first and last seen, top endpoints, status classes, methods.',
  params: {
    ip_address: required(ipAddressParam('The client address (IPv4 or IPv6).')),
    ...WINDOW_PARAMS,
    top_n: TOP_N_PARAM,
    bots: BOTS_PARAM,
  },
  async run(db, params, { now }) {
    const asked = resolveWindow(params, now);
    const view = rollupsFor(await readRollupView(db), params.bots);
    const window = countedWindow(asked, view.floor);
    const where = new Where().add('ip_address = ?', params.ip_address).window(window).bots(params.bots);
    const [summary, endpoints, methods] = await Promise.all([
      view.ready.has('ip') ? summaryFromRollups(db, params.ip_address, window) : summaryFromRows(db, where),
      db.select<{ k: string; n: number }>(
        `SELECT endpoint AS k, COUNT(*) AS n FROM ${TABLE} ${where} GROUP BY endpoint ORDER BY n DESC, k LIMIT ?`,
        [...where.values, params.top_n],
      ),
      db.select<{ k: string; n: number }>(
        `SELECT method AS k, COUNT(*) AS n FROM ${TABLE} ${where} GROUP BY method ORDER BY n DESC, k`,
        where.values,
      ),
    ]);
    return {
      data: {
        ip_address: params.ip_address,
        total_requests: summary.total,
        error_count: summary.errors,
        first_seen: isoOrNull(summary.first),
        last_seen: isoOrNull(summary.last),
        top_endpoints: countMap(endpoints),
        status_breakdown: statusBreakdown(summary.statuses),
        methods: countMap(methods),
        window: describeWindow(asked),
      },
      rows: summary.statuses.length + endpoints.length + methods.length,
    };
  },
});

interface AddressSummary {
  total: number;
  errors: number;
  first: Date | undefined;
  last: Date | undefined;
  /** Requests per status code, or per class (as the class's first code) from the rollup. */
  statuses: StatusCounts;
}

async function summaryFromRows(db: Database, where: Where): Promise<AddressSummary> {
  const statuses = await db.select<{ status: number; n: number; first_seen: Date; last_seen: Date }>(
    `SELECT status_code AS status, COUNT(*) AS n, MIN(\`timestamp\`) AS first_seen, MAX(\`timestamp\`) AS last_seen
     FROM ${TABLE} ${where} GROUP BY status_code`,
    where.values,
  );
  // Each status group carries its first and last time: the address's are the extremes of those.
  const times = statuses
    .flatMap((row) => [row.first_seen, row.last_seen])
    .sort((x, y) => x.getTime() - y.getTime());
  return {
    total: totalOf(statuses),
    errors: errorsOf(statuses),
    first: times[0],
    last: times.at(-1),
    statuses,
  };
}

async function summaryFromRollups(db: Database, ip: string, window: TimeWindow): Promise<AddressSummary> {
  const row = await keyTotalsFromRollups(db, 'ip', ip, await rollupRange(db, window));
  if (!row) return { total: 0, errors: 0, first: undefined, last: undefined, statuses: [] };
  const statuses = [1, 2, 3, 4, 5]
    .map((digit) => ({ status: digit * 100, n: Number(row[`n_${digit}xx`]) }))
    .filter((s) => s.n > 0);
  return {
    total: row.n,
    errors: Number(row.errors),
    first: new Date(Number(row.first_seen)),
    last: new Date(Number(row.last_seen)),
    statuses,
  };
}
