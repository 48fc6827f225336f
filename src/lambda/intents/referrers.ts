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
import { BOTS_PARAM, type BotsFilter } from '../bots.js';
import type { Database } from '../database.js';
import { countedWindow, readRollupView, rollupRange } from '../rollup-queries.js';
import { cutWindow, REFERRER_URL_SQL, rollupByName, rollupTableName } from '../rollup-tables.js';
import { describeWindow, resolveWindow, type TimeWindow, WINDOW_PARAMS } from '../window.js';
import { defineIntent } from './intent.js';
import { overParts, type Sql, TABLE, Where } from './sql.js';
import { TOP_N_PARAM } from './traffic-summary.js';

/**
 * The host of a referrer URL `k`: after "://", up to the first "/", "?" or "#", without "user@"
 * and ":port", lower-case. An IPv6 literal ("[::1]:8080") keeps its brackets up to the first colon
 * only; such referrers are rare.
 */
const HOST = `LOWER(SUBSTRING_INDEX(SUBSTRING_INDEX(SUBSTRING_INDEX(SUBSTRING_INDEX(SUBSTRING_INDEX(
  SUBSTRING_INDEX(k, '://', -1), '/', 1), '?', 1), '#', 1), '@', -1), ':', 1))`;

/**
 * Requests per referrer URL over a window under a `bots` filter, in parts (each a derived table:
 * `k` the URL, '' for direct; `n` requests): whole buckets from the rollup when `rollup` is set,
 * the rest (or everything) from the rows. Empty when there is nothing to count.
 */
async function urlParts(db: Database, window: TimeWindow, bots: BotsFilter, rollup: boolean): Promise<Sql[]> {
  const rowsPart = (range: TimeWindow): Sql => {
    const where = new Where().window(range).bots(bots);
    return {
      sql: `SELECT ${REFERRER_URL_SQL} AS k, COUNT(*) AS n FROM ${TABLE} ${where} GROUP BY k`,
      values: where.values,
    };
  };
  if (!rollup) return [rowsPart(window)];
  const range = await rollupRange(db, window);
  if (!range) return [];
  const def = rollupByName('referrer');
  const n = bots === 'include' ? 'n' : bots === 'only' ? 'n_bot' : 'n - n_bot';
  const { buckets, raw } = cutWindow(range, def.grains);
  return [
    ...buckets.map((b) => ({
      sql: `SELECT referrer_url AS k, ${n} AS n FROM ${rollupTableName(def)} WHERE grain = ? AND bucket >= ? AND bucket < ?`,
      values: [b.grain, new Date(b.from), new Date(b.to)],
    })),
    ...raw.map((r) => rowsPart({ start: new Date(r.from), end: new Date(r.to) })),
  ];
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
    const parts = await urlParts(db, window, params.bots, view.ready.has('referrer'));
    // A URL from elsewhere: not direct, and not from one of the site's own hosts.
    const external = `k <> ''${siteHosts.length > 0 ? ` AND ${HOST} NOT IN (${siteHosts.map(() => '?').join(', ')})` : ''}`;
    const totals = overParts(
      parts,
      (part) => ({
        sql: `SELECT SUM(n) AS n, SUM(IF(k = '', n, 0)) AS direct, SUM(IF(${external}, n, 0)) AS external FROM (${part.sql}) x`,
        values: [...siteHosts, ...part.values],
      }),
      (union) => `SELECT SUM(n) AS n, SUM(direct) AS direct, SUM(external) AS external FROM ${union} t`,
    );
    // Top lists: each part grouped (few rows per host or URL), then the parts' groups summed.
    const top = (key: string) =>
      overParts(
        parts,
        (part) => ({
          sql: `SELECT ${key} AS g, SUM(n) AS requests FROM (${part.sql}) x WHERE ${external} GROUP BY g`,
          values: [...part.values, ...siteHosts],
        }),
        (union) =>
          `SELECT g, SUM(requests) AS requests FROM ${union} t GROUP BY g HAVING requests > 0 ORDER BY requests DESC, g LIMIT ?`,
      );
    const [sitesSql, urlsSql] = [top(HOST), top('k')];
    type Row = { g: string; requests: number };
    const [[totalsRow], sites, urls] =
      parts.length > 0
        ? await Promise.all([
            db.select<{ n: number | null; direct: number | null; external: number | null }>(
              totals.sql,
              totals.values,
            ),
            db.select<Row>(sitesSql.sql, [...sitesSql.values, params.top_n]),
            db.select<Row>(urlsSql.sql, [...urlsSql.values, params.top_n]),
          ])
        : [[undefined], [], []];
    const total = Number(totalsRow?.n ?? 0);
    const direct = Number(totalsRow?.direct ?? 0);
    const referred = Number(totalsRow?.external ?? 0);
    return {
      data: {
        total_requests: total,
        direct_requests: direct,
        referred_requests: referred,
        self_referred_requests: total - direct - referred,
        site_hosts: [...siteHosts],
        sites: sites.map((row) => ({ host: row.g, requests: Number(row.requests) })),
        urls: urls.map((row) => ({ url: row.g, requests: Number(row.requests) })),
        window: describeWindow(asked),
      },
      rows: 2 + sites.length + urls.length,
    };
  },
});
