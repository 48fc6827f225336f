/**
 * get_visitors: unique visitors per UTC day, GoAccess's definition: requests from the same client
 * address on the same day with the same user agent are one visitor. Each day also says how many of
 * its visitors are bots (an agent is a bot or not, so visitors = bot_visitors + human_visitors).
 * A visitor seen on two days counts on each, and the total is the sum of the days, as GoAccess
 * shows it. Read from the rows: a distinct count does not add up across rollup buckets.
 */
import { BOTS_PARAM } from '../bots.js';
import { describeWindow, resolveWindow, WINDOW_PARAMS } from '../window.js';
import { defineIntent } from './intent.js';
import { DAY_TEXT, TABLE, VISITOR_KEY, Where } from './sql.js';

export const visitors = defineIntent({
  name: 'get_visitors',
  description:
    'Unique visitors per UTC day (same address, day and user agent), with how many are bots and how many are not.',
  params: { ...WINDOW_PARAMS, bots: BOTS_PARAM },
  async run(db, params, { now }) {
    const window = resolveWindow(params, now);
    const where = new Where().window(window).bots(params.bots);
    const days = await db.select<{ day: string; visitors: number; bot_visitors: number; n: number }>(
      `SELECT ${DAY_TEXT} AS day, COUNT(DISTINCT ${VISITOR_KEY}) AS visitors,
         COUNT(DISTINCT IF(is_bot = 1, ip_address, NULL), IF(is_bot = 1, MD5(COALESCE(user_agent, '')), NULL)) AS bot_visitors,
         COUNT(*) AS n
       FROM ${TABLE} ${where} GROUP BY DATE(\`timestamp\`) ORDER BY day`,
      where.values,
    );
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
        window: describeWindow(window),
      },
      rows: days.length,
    };
  },
});
