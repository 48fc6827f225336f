/**
 * get_visitors: unique visitors per UTC day, GoAccess's definition: requests from the same client
 * address on the same day with the same user agent are one visitor. Each day also says how many of
 * its visitors are bots (an agent is a bot or not, so visitors = bot_visitors + human_visitors).
 * A visitor seen on two days counts on each, and the total is the sum of the days, as GoAccess
 * shows it. Whole days come from the visitor rollup (one row per visitor and day: a day's visitors
 * are its rows, counted) once it is ready; the partial days at a window's edges from the rows.
 */
import { BOTS_PARAM, type BotsFilter } from '../bots.js';
import type { Database } from '../database.js';
import { countedWindow, readRollupView, rollupRange } from '../rollup-queries.js';
import { cutWindow, rollupByName, rollupTableName, type TimeRange } from '../rollup-tables.js';
import { describeWindow, resolveWindow, WINDOW_PARAMS } from '../window.js';
import { defineIntent } from './intent.js';
import { DAY_TEXT, TABLE, VISITOR_KEY, Where } from './sql.js';

type VisitorDay = { day: string; visitors: number; bot_visitors: number; n: number };

/** Per day over rows: distinct visitors, distinct bot visitors, requests. */
function rowsPerDay(where: Where): { sql: string; values: unknown[] } {
  return {
    sql: `SELECT ${DAY_TEXT} AS day, COUNT(DISTINCT ${VISITOR_KEY}) AS visitors,
         COUNT(DISTINCT IF(is_bot = 1, ip_address, NULL), IF(is_bot = 1, MD5(COALESCE(user_agent, '')), NULL)) AS bot_visitors,
         COUNT(*) AS n
       FROM ${TABLE} ${where} GROUP BY DATE(\`timestamp\`)`,
    values: where.values,
  };
}

/**
 * Whole days from the visitor rollup, the rest of the range (less than a day at each end) from the
 * rows. A visitor row's requests under the filter (`n`, `n - n_bot` or `n_bot`) say whether it
 * counts; its bots' requests under the filter whether it counts as a bot.
 */
async function fromRollups(db: Database, range: TimeRange | null, bots: BotsFilter): Promise<VisitorDay[]> {
  if (!range) return [];
  const { buckets, raw } = cutWindow(range, ['day']);
  const kept = bots === 'include' ? 'n' : bots === 'only' ? 'n_bot' : '(n - n_bot)';
  const botPart = bots === 'exclude' ? '0' : 'n_bot';
  const parts: string[] = [];
  const values: unknown[] = [];
  for (const b of buckets) {
    parts.push(
      `SELECT DATE_FORMAT(bucket, '%Y-%m-%d') AS day, SUM(${kept} > 0) AS visitors, SUM(${botPart} > 0) AS bot_visitors,
         SUM(${kept}) AS n
       FROM ${rollupTableName(rollupByName('visitor'))} WHERE grain = 'day' AND bucket >= ? AND bucket < ?
       GROUP BY bucket HAVING SUM(${kept}) > 0`,
    );
    values.push(new Date(b.from), new Date(b.to));
  }
  for (const r of raw) {
    const part = rowsPerDay(new Where().window({ start: new Date(r.from), end: new Date(r.to) }).bots(bots));
    parts.push(part.sql);
    values.push(...part.values);
  }
  return db.select<VisitorDay>(`SELECT * FROM (${parts.join(' UNION ALL ')}) v ORDER BY day`, values);
}

export const visitors = defineIntent({
  name: 'get_visitors',
  description:
    'Unique visitors per UTC day (same address, day and user agent), with how many are bots and how many are not.',
  params: { ...WINDOW_PARAMS, bots: BOTS_PARAM },
  async run(db, params, { now }) {
    const asked = resolveWindow(params, now);
    const view = await readRollupView(db);
    const window = countedWindow(asked, view.floor);
    let days: VisitorDay[];
    if (view.ready.has('visitor')) {
      days = await fromRollups(db, await rollupRange(db, window), params.bots);
    } else {
      const perDay = rowsPerDay(new Where().window(window).bots(params.bots));
      days = await db.select<VisitorDay>(`${perDay.sql} ORDER BY day`, perDay.values);
    }
    const perDay = days.map((row) => {
      const all = Number(row.visitors);
      const bots = Number(row.bot_visitors);
      return {
        date: row.day,
        visitors: all,
        human_visitors: all - bots,
        bot_visitors: bots,
        requests: Number(row.n),
      };
    });
    const sum = (field: 'visitors' | 'human_visitors' | 'bot_visitors') =>
      perDay.reduce((total, d) => total + d[field], 0);
    return {
      data: {
        visitors: sum('visitors'),
        human_visitors: sum('human_visitors'),
        bot_visitors: sum('bot_visitors'),
        days: perDay,
        window: describeWindow(asked),
      },
      rows: days.length,
    };
  },
});
