/**
 * get_not_found: the paths most requested with status 404 over a window, with hits, visitors
 * (GoAccess's: same address, day and agent) and when each was last asked for. Read from the rows
 * through the (status_code, timestamp) index: the rollups hold no per-path status.
 */
import { BOTS_PARAM } from '../bots.js';
import { describeWindow, resolveWindow, WINDOW_PARAMS } from '../window.js';
import { defineIntent } from './intent.js';
import { isoOrNull, TABLE, VISITOR_KEY, Where } from './sql.js';
import { TOP_N_PARAM } from './traffic-summary.js';

export const notFound = defineIntent({
  name: 'get_not_found',
  description:
    'The most requested paths answered 404 (not found): hits, unique visitors and last seen, with the total of 404s.',
  params: { ...WINDOW_PARAMS, top_n: TOP_N_PARAM, bots: BOTS_PARAM },
  async run(db, params, { now }) {
    const window = resolveWindow(params, now);
    const where = new Where().add('status_code = 404').window(window).bots(params.bots);
    const [paths, [total]] = await Promise.all([
      db.select<{ k: string; n: number; visitors: number; last_seen: Date }>(
        `SELECT endpoint AS k, COUNT(*) AS n, COUNT(DISTINCT ${VISITOR_KEY}) AS visitors, MAX(\`timestamp\`) AS last_seen
         FROM ${TABLE} ${where} GROUP BY endpoint ORDER BY n DESC, k LIMIT ?`,
        [...where.values, params.top_n],
      ),
      db.select<{ n: number; visitors: number }>(
        `SELECT COUNT(*) AS n, COUNT(DISTINCT ${VISITOR_KEY}) AS visitors FROM ${TABLE} ${where}`,
        where.values,
      ),
    ]);
    return {
      data: {
        total_not_found: Number(total?.n ?? 0),
        visitors: Number(total?.visitors ?? 0),
        paths: paths.map((row) => ({
          endpoint: row.k,
          hits: Number(row.n),
          visitors: Number(row.visitors),
          last_seen: isoOrNull(row.last_seen),
        })),
        window: describeWindow(window),
      },
      rows: paths.length + 1,
    };
  },
});
