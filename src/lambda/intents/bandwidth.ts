/**
 * get_bandwidth: bytes sent over a window, per UTC day and for the endpoints that sent the most.
 * Requests whose size the log did not record (bytes_sent NULL, such as a 304) add nothing.
 * The status and path rollups count bytes (and bots' bytes), so once they are ready the whole
 * buckets come from them and only the window's edges from the rows (rollup-queries.ts).
 */
import { BOTS_PARAM } from '../bots.js';
import { stringParam } from '../params.js';
import {
  bytesPerDayFromRollups,
  countedWindow,
  keyTotalsFromRollups,
  readRollupView,
  rollupRange,
  topBytesFromRollups,
} from '../rollup-queries.js';
import { describeWindow, resolveWindow, WINDOW_PARAMS } from '../window.js';
import { defineIntent } from './intent.js';
import { DAY_TEXT, TABLE, Where } from './sql.js';
import { TOP_N_PARAM } from './traffic-summary.js';

type DayBytes = { day: string; bytes: number | null; n: number };
type PathBytes = { k: string; bytes: number | null; n: number };

export const bandwidth = defineIntent({
  name: 'get_bandwidth',
  description:
    'Bytes sent over a window: the total, per UTC day, and the endpoints that sent the most (or one endpoint).',
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
    const where = new Where().window(window).bots(params.bots);
    if (params.endpoint !== undefined) where.add('endpoint = ?', params.endpoint);
    const fromRollups =
      view.ready.has('endpoint') && (params.endpoint !== undefined || view.ready.has('status'));
    let days: DayBytes[];
    let endpoints: PathBytes[];
    if (fromRollups) {
      const range = await rollupRange(db, window);
      const one = params.endpoint;
      [days, endpoints] = await Promise.all([
        bytesPerDayFromRollups(db, range, params.bots, one),
        one === undefined
          ? topBytesFromRollups(db, range, params.top_n, params.bots)
          : keyTotalsFromRollups(db, 'endpoint', one, range, { bots: params.bots, measures: ['bytes'] }).then(
              (row) => (row ? [{ k: row.k, bytes: Number(row.bytes), n: row.n }] : []),
            ),
      ]);
    } else {
      [days, endpoints] = await Promise.all([
        db.select<DayBytes>(
          `SELECT ${DAY_TEXT} AS day, SUM(bytes_sent) AS bytes, COUNT(*) AS n
           FROM ${TABLE} ${where} GROUP BY DATE(\`timestamp\`) ORDER BY day`,
          where.values,
        ),
        db.select<PathBytes>(
          `SELECT endpoint AS k, COALESCE(SUM(bytes_sent), 0) AS bytes, COUNT(*) AS n
           FROM ${TABLE} ${where} GROUP BY endpoint ORDER BY bytes DESC, k LIMIT ?`,
          [...where.values, params.top_n],
        ),
      ]);
    }
    const perDay = days.map((row) => ({
      date: row.day,
      bytes: Number(row.bytes ?? 0),
      requests: Number(row.n),
    }));
    return {
      data: {
        total_bytes: perDay.reduce((sum, d) => sum + d.bytes, 0),
        days: perDay,
        top_endpoints: endpoints.map((row) => ({
          endpoint: row.k,
          bytes: Number(row.bytes ?? 0),
          requests: Number(row.n),
        })),
        window: describeWindow(asked),
      },
      rows: days.length + endpoints.length,
    };
  },
});
