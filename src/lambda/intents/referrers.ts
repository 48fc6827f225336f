/**
 * get_referrers: where traffic comes from. The referring sites by host (the referrer URL's host,
 * lower-case, without port or user) and the referrer URLs themselves, each by requests. Requests
 * without a referrer URL (none, "-", or no "scheme://") are direct and counted apart. Referrals
 * from the site's own hosts (SITE_HOSTS, the config's `siteHosts`) are left out when configured:
 * they are navigation inside the site, not where visitors came from.
 *
 * A URL is its first 700 characters (REFERRER_URL_SQL); its host is read from those. Once the
 * referrer rollup is ready, the window's whole hours and days come from it and only its edges
 * from the rows; every answer is a sum over URLs, so the two add up exactly.
 */
import { BOTS_PARAM, type BotsFilter, botCondition } from '../bots.js';
import type { Database } from '../database.js';
import { countedWindow, readRollupView, rollupRange } from '../rollup-queries.js';
import { cutWindow, REFERRER_URL_SQL, rollupByName, rollupTableName } from '../rollup-tables.js';
import { describeWindow, resolveWindow, type TimeWindow, WINDOW_PARAMS } from '../window.js';
import { defineIntent } from './intent.js';
import { TABLE, Where } from './sql.js';
import { TOP_N_PARAM } from './traffic-summary.js';

/**
 * The host of a referrer URL `k`: after "://", up to the first "/", "?" or "#", without "user@"
 * and ":port", lower-case. An IPv6 literal ("[::1]:8080") keeps its brackets up to the first colon
 * only; such referrers are rare.
 */
const HOST = `LOWER(SUBSTRING_INDEX(SUBSTRING_INDEX(SUBSTRING_INDEX(SUBSTRING_INDEX(SUBSTRING_INDEX(
  SUBSTRING_INDEX(k, '://', -1), '/', 1), '?', 1), '#', 1), '@', -1), ':', 1))`;

interface Sql {
  sql: string;
  values: unknown[];
}

/**
 * Requests per referrer URL over a window under a `bots` filter, as a derived table (`k` the URL,
 * '' for direct; `n` requests): whole buckets from the rollup when `rollup` is set, the rest (or
 * everything) from the rows. Null when there is nothing to count.
 */
async function perUrl(
  db: Database,
  window: TimeWindow,
  bots: BotsFilter,
  rollup: boolean,
): Promise<Sql | null> {
  const rowsPart = (where: Where): Sql => ({
    sql: `SELECT ${REFERRER_URL_SQL} AS k, COUNT(*) AS n FROM ${TABLE} ${where} GROUP BY k`,
    values: where.values,
  });
  if (!rollup) {
    const part = rowsPart(new Where().window(window).bots(bots));
    return { sql: `(${part.sql})`, values: part.values };
  }
  const range = await rollupRange(db, window);
  if (!range) return null;
  const def = rollupByName('referrer');
  const n = bots === 'include' ? 'n' : bots === 'only' ? 'n_bot' : 'n - n_bot';
  const { buckets, raw } = cutWindow(range, def.grains);
  const parts: string[] = [];
  const values: unknown[] = [];
  for (const b of buckets) {
    parts.push(
      `SELECT referrer_url AS k, ${n} AS n FROM ${rollupTableName(def)} WHERE grain = ? AND bucket >= ? AND bucket < ?`,
    );
    values.push(b.grain, new Date(b.from), new Date(b.to));
  }
  for (const r of raw) {
    const where = new Where().window({ start: new Date(r.from), end: new Date(r.to) });
    const condition = botCondition(bots);
    if (condition) where.add(condition);
    const part = rowsPart(where);
    parts.push(part.sql);
    values.push(...part.values);
  }
  return { sql: `(${parts.join(' UNION ALL ')})`, values };
}

export const referrers = defineIntent({
  name: 'get_referrers',
  description:
    'Top referring sites (host of the referrer) and top referrer URLs, without self-referrals when the site hosts are configured.',
  params: { ...WINDOW_PARAMS, top_n: TOP_N_PARAM, bots: BOTS_PARAM },
  async run(db, params, { now, siteHosts = [] }) {
    const asked = resolveWindow(params, now);
    const view = await readRollupView(db);
    const window = countedWindow(asked, view.floor);
    const urls = await perUrl(db, window, params.bots, view.ready.has('referrer'));
    // A URL from elsewhere: not direct, and not from one of the site's own hosts.
    const external = `k <> ''${siteHosts.length > 0 ? ` AND ${HOST} NOT IN (${siteHosts.map(() => '?').join(', ')})` : ''}`;
    const [[totals], sites, top] = urls
      ? await Promise.all([
          db.select<{ n: number | null; direct: number | null; external: number | null }>(
            `SELECT SUM(n) AS n, SUM(IF(k = '', n, 0)) AS direct, SUM(IF(${external}, n, 0)) AS external FROM ${urls.sql} u`,
            [...siteHosts, ...urls.values],
          ),
          db.select<{ h: string; requests: number }>(
            `SELECT ${HOST} AS h, SUM(n) AS requests FROM ${urls.sql} u WHERE ${external} GROUP BY h HAVING requests > 0 ORDER BY requests DESC, h LIMIT ?`,
            [...urls.values, ...siteHosts, params.top_n],
          ),
          db.select<{ k: string; requests: number }>(
            `SELECT k, SUM(n) AS requests FROM ${urls.sql} u WHERE ${external} GROUP BY k HAVING requests > 0 ORDER BY requests DESC, k LIMIT ?`,
            [...urls.values, ...siteHosts, params.top_n],
          ),
        ])
      : [[undefined], [], []];
    const total = Number(totals?.n ?? 0);
    const direct = Number(totals?.direct ?? 0);
    const referred = Number(totals?.external ?? 0);
    return {
      data: {
        total_requests: total,
        direct_requests: direct,
        referred_requests: referred,
        self_referred_requests: total - direct - referred,
        site_hosts: [...siteHosts],
        sites: sites.map((row) => ({ host: row.h, requests: Number(row.requests) })),
        urls: top.map((row) => ({ url: row.k, requests: Number(row.requests) })),
        window: describeWindow(asked),
      },
      rows: 2 + sites.length + top.length,
    };
  },
});
