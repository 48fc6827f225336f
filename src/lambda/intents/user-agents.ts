/**
 * get_user_agents: who the clients are, from the classification every writer stores with a row
 * (src/db/user-agent.ts): browser and OS families of the requests that are not bots, with their
 * shares of those requests, and the bots' share of all requests with the busiest bots by name.
 * Rows not yet classified count as an Unknown non-bot.
 */
import { BOTS_PARAM } from '../bots.js';
import { describeWindow, resolveWindow, WINDOW_PARAMS } from '../window.js';
import { defineIntent } from './intent.js';
import { share, TABLE, Where } from './sql.js';
import { TOP_N_PARAM } from './traffic-summary.js';

const HUMAN = 'COALESCE(is_bot, 0) = 0';

export const userAgents = defineIntent({
  name: 'get_user_agents',
  description:
    'Browser and OS families of the requests that are not bots, with shares; the share of bot requests and the busiest bots.',
  params: { ...WINDOW_PARAMS, top_n: TOP_N_PARAM, bots: BOTS_PARAM },
  async run(db, params, { now }) {
    const window = resolveWindow(params, now);
    const where = new Where().window(window).bots(params.bots);
    const and = where.toString() === '' ? 'WHERE' : `${where} AND`;
    const families = (column: 'browser' | 'os') =>
      db.select<{ k: string; n: number }>(
        `SELECT COALESCE(${column}, 'Unknown') AS k, COUNT(*) AS n FROM ${TABLE} ${and} ${HUMAN}
         GROUP BY k ORDER BY n DESC, k LIMIT ?`,
        [...where.values, params.top_n],
      );
    const [[totals], browsers, systems, bots] = await Promise.all([
      db.select<{ n: number; bots: number | null }>(
        `SELECT COUNT(*) AS n, SUM(is_bot = 1) AS bots FROM ${TABLE} ${where}`,
        where.values,
      ),
      families('browser'),
      families('os'),
      db.select<{ k: string; n: number }>(
        `SELECT COALESCE(browser, 'Unknown') AS k, COUNT(*) AS n FROM ${TABLE} ${and} is_bot = 1
         GROUP BY k ORDER BY n DESC, k LIMIT ?`,
        [...where.values, params.top_n],
      ),
    ]);
    const total = Number(totals?.n ?? 0);
    const botRequests = Number(totals?.bots ?? 0);
    const humans = total - botRequests;
    const shares = (rows: { k: string; n: number }[], whole: number) =>
      rows.map((row) => ({ name: row.k, requests: Number(row.n), share: share(Number(row.n), whole) }));
    return {
      data: {
        total_requests: total,
        bot_requests: botRequests,
        bot_share: share(botRequests, total),
        browsers: shares(browsers, humans),
        operating_systems: shares(systems, humans),
        top_bots: shares(bots, total),
        window: describeWindow(window),
      },
      rows: 1 + browsers.length + systems.length + bots.length,
    };
  },
});
