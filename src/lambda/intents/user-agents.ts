/**
 * get_user_agents: who the clients are, from the classification every writer stores with a row
 * (src/db/user-agent.ts): browser and OS families of the requests that are not bots, with their
 * shares of those requests, and the bots' share of all requests with the busiest bots by name.
 * Rows not yet classified count as an Unknown non-bot. Read from the agent rollup (requests per
 * class and bucket) once it is ready, the window's edges from the rows.
 */
import { BOTS_PARAM, type BotsFilter } from '../bots.js';
import type { Database } from '../database.js';
import { agentClassesFromRollups, countedWindow, readRollupView, rollupRange } from '../rollup-queries.js';
import type { TimeRange } from '../rollup-tables.js';
import { describeWindow, resolveWindow, WINDOW_PARAMS } from '../window.js';
import { defineIntent } from './intent.js';
import { share, TABLE, Where } from './sql.js';
import { TOP_N_PARAM } from './traffic-summary.js';

const HUMAN = 'COALESCE(is_bot, 0) = 0';

type Named = { k: string; n: number };

/** Requests, bot requests, and the top browsers, systems and bots, from the rows. */
async function fromRows(db: Database, where: Where, topN: number) {
  const and = where.toString() === '' ? 'WHERE' : `${where} AND`;
  const families = (column: 'browser' | 'os', who: string) =>
    db.select<Named>(
      `SELECT COALESCE(${column}, 'Unknown') AS k, COUNT(*) AS n FROM ${TABLE} ${and} ${who}
       GROUP BY k ORDER BY n DESC, k LIMIT ?`,
      [...where.values, topN],
    );
  const [[totals], browsers, systems, bots] = await Promise.all([
    db.select<{ n: number; bots: number | null }>(
      `SELECT COUNT(*) AS n, SUM(is_bot = 1) AS bots FROM ${TABLE} ${where}`,
      where.values,
    ),
    families('browser', HUMAN),
    families('os', HUMAN),
    families('browser', 'is_bot = 1'),
  ]);
  return { totals, browsers, systems, bots };
}

/** The same from the agent rollup: a window's classes are a few hundred rows. */
async function fromRollups(db: Database, range: TimeRange | null, bots: BotsFilter, topN: number) {
  const classes = agentClassesFromRollups(range);
  if (!classes) return { totals: undefined, browsers: [], systems: [], bots: [] };
  const only = bots === 'only' ? " AND is_bot = '1'" : bots === 'exclude' ? " AND is_bot = '0'" : '';
  const families = (column: 'browser' | 'os', who: '0' | '1') =>
    db.select<Named>(
      `SELECT ${column} AS k, SUM(n) AS n FROM ${classes.sql} c WHERE is_bot = '${who}'${only}
       GROUP BY k ORDER BY n DESC, k LIMIT ?`,
      [...classes.values, topN],
    );
  const [[totals], browsers, systems, botNames] = await Promise.all([
    db.select<{ n: number | null; bots: number | null }>(
      `SELECT SUM(n) AS n, SUM(IF(is_bot = '1', n, 0)) AS bots FROM ${classes.sql} c WHERE TRUE${only}`,
      classes.values,
    ),
    families('browser', '0'),
    families('os', '0'),
    families('browser', '1'),
  ]);
  return { totals, browsers, systems, bots: botNames };
}

export const userAgents = defineIntent({
  name: 'get_user_agents',
  description:
    'Browser and OS families of the requests that are not bots, with shares; the share of bot requests and the busiest bots.',
  params: { ...WINDOW_PARAMS, top_n: TOP_N_PARAM, bots: BOTS_PARAM },
  async run(db, params, { now }) {
    const asked = resolveWindow(params, now);
    const view = await readRollupView(db);
    const window = countedWindow(asked, view.floor);
    const { totals, browsers, systems, bots } = view.ready.has('agent')
      ? await fromRollups(db, await rollupRange(db, window), params.bots, params.top_n)
      : await fromRows(db, new Where().window(window).bots(params.bots), params.top_n);
    const total = Number(totals?.n ?? 0);
    const botRequests = Number(totals?.bots ?? 0);
    const humans = total - botRequests;
    const shares = (rows: Named[], whole: number) =>
      rows.map((row) => ({ name: row.k, requests: Number(row.n), share: share(Number(row.n), whole) }));
    return {
      data: {
        total_requests: total,
        bot_requests: botRequests,
        bot_share: share(botRequests, total),
        browsers: shares(browsers, humans),
        operating_systems: shares(systems, humans),
        top_bots: shares(bots, total),
        window: describeWindow(asked),
      },
      rows: 1 + browsers.length + systems.length + bots.length,
    };
  },
});
