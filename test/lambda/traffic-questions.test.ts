/**
 * The intents answering what site owners ask first (get_visitors, get_not_found, get_referrers,
 * get_user_agents, get_bandwidth) and the `bots` filter, on a fixture whose bots, browsers,
 * referrers, 404s and bytes are labelled here by hand: every expected figure is computed in this
 * file from those labels, never read back from the database or the classifier.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccessLogRow, insertAccessLogRows } from '../../src/db/access-log-row.js';
import { backfillRollups } from '../../src/db/rollup-maintenance.js';
import { writeAccessLogs } from '../../src/db/rollup-writer.js';
import { applySchema } from '../../src/db/schema.js';
import type { BackendHandler } from '../../src/lambda/index.js';
import { INTENTS } from '../../src/lambda/intents/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { answer, backendEnv, createAppUser, handlerWithLog } from './support.js';

const DAY = 86_400_000;
const START = Date.UTC(2025, 5, 1);
const NOW = new Date(START + 3 * DAY);

interface Agent {
  ua: string | null;
  bot: boolean;
  /** Browser family, or the bot's name. */
  name: string;
  os: string;
}
const AGENTS: Agent[] = [
  {
    ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
    bot: false,
    name: 'Chrome',
    os: 'Windows',
  },
  {
    ua: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
    bot: false,
    name: 'Mobile Safari',
    os: 'iOS',
  },
  {
    ua: 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
    bot: false,
    name: 'Firefox',
    os: 'Linux',
  },
  { ua: null, bot: false, name: 'Unknown', os: 'Unknown' },
  {
    ua: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    bot: true,
    name: 'Googlebot',
    os: 'Unknown',
  },
  {
    ua: 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
    bot: true,
    name: 'bingbot',
    os: 'Unknown',
  },
  { ua: 'curl/8.5.0', bot: true, name: 'curl', os: 'Unknown' },
];

/** Referrers with the host each counts under (null: direct; 'self': the site's own host). */
const REFERRERS: { url: string | null; host: string | null }[] = [
  { url: null, host: null },
  { url: '-', host: null },
  { url: 'https://www.google.com/search?q=chatbot', host: 'www.google.com' },
  { url: 'https://news.ycombinator.com/item?id=1', host: 'news.ycombinator.com' },
  { url: 'https://example.org/docs/', host: 'self' },
  { url: 'http://User@Example.ORG:8080/a#b', host: 'self' },
  { url: 'https://www.google.com/', host: 'www.google.com' },
  { url: 'android-app://com.slack/', host: 'com.slack' },
  // Two URLs, not one: a URL's path is case-sensitive.
  { url: 'https://t.co/AbC', host: 't.co' },
  { url: 'https://t.co/abc', host: 't.co' },
];

const IPS = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '2001:db8::5', '192.168.1.9'];
const PATHS = ['/', '/docs', '/missing.php', '/wp-login.php', '/downloads/app.zip', '/old-page'];
const NOT_FOUND = new Set(['/missing.php', '/wp-login.php', '/old-page']);

interface Labelled {
  row: AccessLogRow;
  agent: Agent;
  refHost: string | null;
}

/** 1,500 rows over 3 days, every combination mixed by co-prime strides. */
const FIXTURE: Labelled[] = Array.from({ length: 1_500 }, (_, i) => {
  const agent = AGENTS[(i * 5) % AGENTS.length] as Agent;
  const ref = REFERRERS[(i * 3 + Math.floor(i / 7)) % REFERRERS.length] as (typeof REFERRERS)[number];
  const endpoint = PATHS[(i * 7 + Math.floor(i / 11)) % PATHS.length] as string;
  return {
    agent,
    refHost: ref.host,
    row: {
      timestamp: START + Math.floor((i * 3 * DAY) / 1_500) + (i % 13) * 1000,
      ip_address: IPS[(i * 11 + Math.floor(i / 5)) % IPS.length] as string,
      method: 'GET',
      endpoint,
      query_string: null,
      status_code: NOT_FOUND.has(endpoint) ? 404 : i % 17 === 0 ? 500 : 200,
      bytes_sent: i % 9 === 0 ? null : (i * 37) % 5_000,
      response_time_ms: 10 + (i % 50),
      referrer: ref.url,
      user_agent: agent.ua,
    },
  };
});

const dayOf = (t: number) => new Date(t).toISOString().slice(0, 10);
const ALL_TIME = { all_time: true };
const DAY2 = {
  start_time: new Date(START + DAY).toISOString(),
  end_time: new Date(START + 2 * DAY).toISOString(),
};
const inWindow = (l: Labelled, w: Record<string, unknown>) =>
  !('start_time' in w) ||
  (l.row.timestamp >= Date.parse(w.start_time as string) &&
    l.row.timestamp < Date.parse(w.end_time as string));

/**
 * Rank entries by count descending, then by key as the column's collation orders it: code points
 * for paths, hosts and referrer URLs (binary), case-insensitively for names (utf8mb4_unicode_ci).
 */
function ranked(counts: Map<string, number>, topN: number, caseless = false): [string, number][] {
  const key = (k: string) => (caseless ? k.toLowerCase() : k);
  return [...counts]
    .sort(([a, x], [b, y]) => y - x || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
    .slice(0, topN);
}
function tally<T>(rows: T[], key: (r: T) => string | null, weight: (r: T) => number = () => 1) {
  const out = new Map<string, number>();
  for (const r of rows) {
    const k = key(r);
    if (k !== null) out.set(k, (out.get(k) ?? 0) + weight(r));
  }
  return out;
}
const share = (part: number, whole: number) => (whole === 0 ? 0 : Math.round((part / whole) * 10000) / 10000);
const visitorKey = (l: Labelled) => `${l.row.ip_address}|${dayOf(l.row.timestamp)}|${l.agent.ua ?? ''}`;

let db: TestDatabase;
let handler: BackendHandler;
let noSiteHandler: BackendHandler;
const ask = async (intent: string, params: Record<string, unknown>, h = () => handler) => {
  const res = answer(await h()({ intent, params }));
  if (res.status !== 200) throw new Error(`${intent}: ${res.raw}`);
  return res.data as Record<string, unknown>;
};

beforeAll(async () => {
  db = await createTestDatabase('questions');
  await applySchema(db.pool);
  await writeAccessLogs(
    db.pool,
    FIXTURE.map((l) => l.row),
  );
  const user = await createAppUser(db);
  handler = handlerWithLog({
    env: backendEnv(db, user, { SITE_HOSTS: 'example.org, www.example.org' }),
    now: () => NOW,
  }).handler;
  noSiteHandler = handlerWithLog({ env: backendEnv(db, user), now: () => NOW }).handler;
}, 120_000);
afterAll(async () => {
  await handler?.close();
  await noSiteHandler?.close();
  await db?.drop();
});

const FILTERS = {
  include: (_: Labelled) => true,
  exclude: (l: Labelled) => !l.agent.bot,
  only: (l: Labelled) => l.agent.bot,
} as const;
type Filter = keyof typeof FILTERS;
const CASES: [Filter, Record<string, unknown>][] = (['include', 'exclude', 'only'] as Filter[]).flatMap(
  (f) => [
    [f, ALL_TIME],
    [f, DAY2],
  ],
);
const label = (f: Filter, w: Record<string, unknown>) =>
  `bots ${f}, ${'all_time' in w ? 'all time' : 'day 2'}`;
const rowsFor = (f: Filter, w: Record<string, unknown>) =>
  FIXTURE.filter((l) => FILTERS[f](l) && inWindow(l, w));

describe('the fixture', () => {
  it('has bots, browsers, referrers, 404s and missing sizes in every day', () => {
    for (const day of [0, 1, 2]) {
      const rows = FIXTURE.filter((l) => Math.floor((l.row.timestamp - START) / DAY) === day);
      expect(new Set(rows.map((l) => l.agent.name)).size).toBe(AGENTS.length);
      expect(rows.some((l) => l.row.status_code === 404)).toBe(true);
      expect(rows.some((l) => l.refHost === 'self')).toBe(true);
      expect(rows.some((l) => l.row.bytes_sent === null)).toBe(true);
    }
  });
});

describe.each(CASES)('%s / %o', (filter, window) => {
  const rows = () => rowsFor(filter, window);
  const params = { ...window, bots: filter };

  it(`get_visitors (${label(filter, window)})`, async () => {
    const days = [...new Set(rows().map((l) => dayOf(l.row.timestamp)))].sort();
    const expected = days.map((date) => {
      const today = rows().filter((l) => dayOf(l.row.timestamp) === date);
      const visitors = new Set(today.map(visitorKey)).size;
      const bots = new Set(today.filter((l) => l.agent.bot).map(visitorKey)).size;
      return { date, visitors, human_visitors: visitors - bots, bot_visitors: bots, requests: today.length };
    });
    const data = await ask('get_visitors', params);
    expect(data.days).toEqual(expected);
    expect(data.visitors).toBe(expected.reduce((n, d) => n + d.visitors, 0));
    expect(data.bot_visitors).toBe(expected.reduce((n, d) => n + d.bot_visitors, 0));
    expect(data.human_visitors).toBe(expected.reduce((n, d) => n + d.human_visitors, 0));
  });

  it(`get_not_found (${label(filter, window)})`, async () => {
    const missing = rows().filter((l) => l.row.status_code === 404);
    const hits = tally(missing, (l) => l.row.endpoint);
    const expected = ranked(hits, 2).map(([endpoint, n]) => {
      const mine = missing.filter((l) => l.row.endpoint === endpoint);
      return {
        endpoint,
        hits: n,
        visitors: new Set(mine.map(visitorKey)).size,
        last_seen: new Date(Math.max(...mine.map((l) => l.row.timestamp))).toISOString(),
      };
    });
    const data = await ask('get_not_found', { ...params, top_n: 2 });
    expect(data.paths).toEqual(expected);
    expect(data.total_not_found).toBe(missing.length);
    expect(data.visitors).toBe(new Set(missing.map(visitorKey)).size);
  });

  it(`get_bandwidth (${label(filter, window)})`, async () => {
    const byDay = tally(
      rows(),
      (l) => dayOf(l.row.timestamp),
      (l) => l.row.bytes_sent ?? 0,
    );
    const requestsByDay = tally(rows(), (l) => dayOf(l.row.timestamp));
    const byPath = tally(
      rows(),
      (l) => l.row.endpoint,
      (l) => l.row.bytes_sent ?? 0,
    );
    const data = await ask('get_bandwidth', { ...params, top_n: 3 });
    expect(data.days).toEqual(
      [...byDay.keys()].sort().map((date) => ({
        date,
        bytes: byDay.get(date),
        requests: requestsByDay.get(date),
      })),
    );
    expect(data.total_bytes).toBe(rows().reduce((n, l) => n + (l.row.bytes_sent ?? 0), 0));
    expect(data.top_endpoints).toEqual(
      ranked(byPath, 3).map(([endpoint, bytes]) => ({
        endpoint,
        bytes,
        requests: rows().filter((l) => l.row.endpoint === endpoint).length,
      })),
    );
    const one = await ask('get_bandwidth', { ...params, endpoint: '/downloads/app.zip' });
    expect(one.total_bytes).toBe(byPath.get('/downloads/app.zip') ?? 0);
  });

  it(`get_user_agents (${label(filter, window)})`, async () => {
    const humans = rows().filter((l) => !l.agent.bot);
    const bots = rows().filter((l) => l.agent.bot);
    const shares = (counts: Map<string, number>, whole: number) =>
      ranked(counts, 3, true).map(([name, requests]) => ({ name, requests, share: share(requests, whole) }));
    const data = await ask('get_user_agents', { ...params, top_n: 3 });
    expect(data).toMatchObject({
      total_requests: rows().length,
      bot_requests: bots.length,
      bot_share: share(bots.length, rows().length),
      browsers: shares(
        tally(humans, (l) => l.agent.name),
        humans.length,
      ),
      operating_systems: shares(
        tally(humans, (l) => l.agent.os),
        humans.length,
      ),
      top_bots: shares(
        tally(bots, (l) => l.agent.name),
        rows().length,
      ),
    });
  });

  it(`get_referrers (${label(filter, window)})`, async () => {
    const external = rows().filter((l) => l.refHost !== null && l.refHost !== 'self');
    const data = await ask('get_referrers', { ...params, top_n: 3 });
    expect(data).toMatchObject({
      total_requests: rows().length,
      direct_requests: rows().filter((l) => l.refHost === null).length,
      referred_requests: external.length,
      self_referred_requests: rows().filter((l) => l.refHost === 'self').length,
      site_hosts: ['example.org', 'www.example.org'],
      sites: ranked(
        tally(external, (l) => l.refHost),
        3,
      ).map(([host, requests]) => ({ host, requests })),
      urls: ranked(
        tally(external, (l) => l.row.referrer),
        3,
      ).map(([url, requests]) => ({ url, requests })),
    });
  });
});

describe('get_not_found where one visitor’s requests were classified apart', () => {
  // The same browser on the same day, one request of it called a bot (as an older classifier, or
  // another tool's, may have stored it): the filter keeps each request by its own flag, and the
  // last request seen under `only` and `exclude` is that of the requests it keeps.
  const chrome = AGENTS[0]?.ua as string;
  const at = (minutes: number) => START + minutes * 60_000;
  const row = (minutes: number): AccessLogRow => ({
    timestamp: at(minutes),
    ip_address: '10.9.9.9',
    method: 'GET',
    endpoint: '/gone',
    query_string: null,
    status_code: 404,
    bytes_sent: 0,
    response_time_ms: 3,
    referrer: null,
    user_agent: chrome,
  });
  let mixed: TestDatabase;
  let mixedHandler: BackendHandler;
  beforeAll(async () => {
    mixed = await createTestDatabase('questions_mixed');
    await insertAccessLogRows(mixed.pool, [row(10), row(50), row(30)]);
    await mixed.pool.query('UPDATE access_logs SET is_bot = 1 WHERE `timestamp` = ?', [new Date(at(50))]);
    // Rollups made after the rows: the backfill counts each row under the flag it has.
    await applySchema(mixed.pool);
    await backfillRollups(mixed.pool);
    const [[state]] = (await mixed.pool.query(
      "SELECT backfilled >= backfill_to AS ready FROM rollup_state WHERE name = 'rollup_notfound'",
    )) as unknown as [{ ready: number }[]];
    expect(Number(state?.ready)).toBe(1);
    mixedHandler = handlerWithLog({
      env: backendEnv(mixed, await createAppUser(mixed)),
      now: () => NOW,
    }).handler;
  }, 120_000);
  afterAll(async () => {
    await mixedHandler?.close();
    await mixed?.drop();
  });

  it.each([
    ['include', 3, 50],
    ['only', 1, 50],
    ['exclude', 2, 30],
  ] as const)('bots %s: %i hits, last seen at minute %i', async (bots, hits, last) => {
    const data = await ask('get_not_found', { all_time: true, bots }, () => mixedHandler);
    expect(data.paths).toEqual([
      { endpoint: '/gone', hits, visitors: 1, last_seen: new Date(at(last)).toISOString() },
    ]);
  });
});

describe('get_referrers without SITE_HOSTS', () => {
  it('counts the site’s own host like any other referrer', async () => {
    const data = await ask('get_referrers', { all_time: true, top_n: 10 }, () => noSiteHandler);
    const selfRows = FIXTURE.filter((l) => l.refHost === 'self').length;
    expect(data.self_referred_requests).toBe(0);
    expect(data.site_hosts).toEqual([]);
    expect(
      (data.sites as { host: string; requests: number }[]).find((s) => s.host === 'example.org'),
    ).toEqual({
      host: 'example.org',
      requests: selfRows,
    });
  });
});

describe('the bots filter on every aggregate intent', () => {
  const aggregates: [string, Record<string, unknown>][] = [
    ['get_traffic_summary', { top_n: 3 }],
    ['get_traffic_timeseries', { interval: 'day' }],
    ['get_endpoint_stats', { top_n: 3 }],
    ['get_ip_activity', { ip_address: '10.0.0.1' }],
    ['get_visitors', {}],
    ['get_not_found', {}],
    ['get_referrers', {}],
    ['get_user_agents', {}],
    ['get_bandwidth', {}],
  ];

  it('is taken by every intent that counts, and listed by list_intents with its values', async () => {
    const withBots = INTENTS.filter((i) => 'bots' in i.params).map((i) => i.name);
    expect(withBots.sort()).toEqual(aggregates.map(([name]) => name).sort());
    const listed = (await ask('list_intents', {})).intents as {
      name: string;
      params: { name: string; values?: string[]; default?: unknown }[];
    }[];
    for (const [name] of aggregates)
      expect(listed.find((i) => i.name === name)?.params.find((p) => p.name === 'bots')).toMatchObject({
        values: ['include', 'exclude', 'only'],
        default: 'include',
      });
  });

  it.each(aggregates)(
    '%s refuses a bots value it does not know, naming the field',
    async (intent, params) => {
      const res = answer(await handler({ intent, params: { ...params, all_time: true, bots: 'some' } }));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error_code: 'INVALID_PARAMS' });
      expect(res.body.error).toBe('bots: must be one of include, exclude, only');
    },
  );

  it('get_traffic_summary counts errors without crawlers in one call', async () => {
    const humans = FIXTURE.filter((l) => !l.agent.bot);
    const data = await ask('get_traffic_summary', { all_time: true, bots: 'exclude' });
    expect(data.total_requests).toBe(humans.length);
    expect(data.error_count).toBe(humans.filter((l) => l.row.status_code >= 400).length);
    const only = await ask('get_traffic_summary', { all_time: true, bots: 'only' });
    expect(only.total_requests).toBe(FIXTURE.length - humans.length);
  });
});
