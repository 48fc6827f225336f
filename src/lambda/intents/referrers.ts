/**
 * get_referrers: where traffic comes from. The referring sites by host (the referrer URL's host,
 * lower-case, without port or user) and the referrer URLs themselves, each by requests. Requests
 * without a referrer URL (none, "-", or no "scheme://") are direct and counted apart. Referrals
 * from the site's own hosts (SITE_HOSTS, the config's `siteHosts`) are left out when configured:
 * they are navigation inside the site, not where visitors came from.
 */
import { BOTS_PARAM } from '../bots.js';
import { describeWindow, resolveWindow, WINDOW_PARAMS } from '../window.js';
import { defineIntent } from './intent.js';
import { TABLE, Where } from './sql.js';
import { TOP_N_PARAM } from './traffic-summary.js';

/**
 * The host of `referrer`: after "://", up to the first "/", "?" or "#", without "user@" and ":port".
 * An IPv6 literal ("[::1]:8080") keeps its brackets up to the first colon only; such referrers are rare.
 */
const HOST = `LOWER(SUBSTRING_INDEX(SUBSTRING_INDEX(SUBSTRING_INDEX(SUBSTRING_INDEX(SUBSTRING_INDEX(
  SUBSTRING_INDEX(referrer, '://', -1), '/', 1), '?', 1), '#', 1), '@', -1), ':', 1))`;
const HAS_URL = "referrer LIKE '%://%'";
/** Referrer URLs are TEXT: they are grouped by their first 700 characters, shown as such. */
const URL_TEXT = 'LEFT(referrer, 700)';

export const referrers = defineIntent({
  name: 'get_referrers',
  description:
    'Top referring sites (host of the referrer) and top referrer URLs, without self-referrals when the site hosts are configured.',
  params: { ...WINDOW_PARAMS, top_n: TOP_N_PARAM, bots: BOTS_PARAM },
  async run(db, params, { now, siteHosts = [] }) {
    const window = resolveWindow(params, now);
    const all = new Where().window(window).bots(params.bots);
    const referred = new Where().window(window).bots(params.bots).add(HAS_URL);
    if (siteHosts.length > 0)
      referred.add(`${HOST} NOT IN (${siteHosts.map(() => '?').join(', ')})`, ...siteHosts);
    const [[totals], sites, urls] = await Promise.all([
      db.select<{ n: number; direct: number | null }>(
        `SELECT COUNT(*) AS n, SUM(NOT COALESCE(${HAS_URL}, FALSE)) AS direct FROM ${TABLE} ${all}`,
        all.values,
      ),
      db.select<{ k: string; n: number }>(
        `SELECT ${HOST} AS k, COUNT(*) AS n FROM ${TABLE} ${referred} GROUP BY k ORDER BY n DESC, k LIMIT ?`,
        [...referred.values, params.top_n],
      ),
      db.select<{ k: string; n: number }>(
        `SELECT ${URL_TEXT} AS k, COUNT(*) AS n FROM ${TABLE} ${referred} GROUP BY k ORDER BY n DESC, k LIMIT ?`,
        [...referred.values, params.top_n],
      ),
    ]);
    const [referredCount] = await db.select<{ n: number }>(
      `SELECT COUNT(*) AS n FROM ${TABLE} ${referred}`,
      referred.values,
    );
    const total = Number(totals?.n ?? 0);
    const direct = Number(totals?.direct ?? 0);
    const external = Number(referredCount?.n ?? 0);
    return {
      data: {
        total_requests: total,
        direct_requests: direct,
        referred_requests: external,
        self_referred_requests: total - direct - external,
        site_hosts: [...siteHosts],
        sites: sites.map((row) => ({ host: row.k, requests: Number(row.n) })),
        urls: urls.map((row) => ({ url: row.k, requests: Number(row.n) })),
        window: describeWindow(window),
      },
      rows: 2 + sites.length + urls.length,
    };
  },
});
