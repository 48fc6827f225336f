/**
 * Exactness of the rollups (property-based, fast-check): the same random rows in two databases,
 * one with rollups (part of the rows counted by the backfill, the rest by the writer, plus a
 * rolled-back write) and one without (every aggregate reads access_logs). For thousands of random
 * requests - windows with sub-minute edges on and around bucket boundaries, all time, empty
 * windows, `hours`, random top_n, each `bots` value - every aggregate intent served from rollups
 * (get_visitors, get_bandwidth and get_user_agents included) must answer exactly the same, ties, ordering and
 * rounding included.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccessLogRow, insertAccessLogRows } from '../../src/db/access-log-row.js';
import { backfillRollups, buildResponseTimes, readRollupStates } from '../../src/db/rollup-maintenance.js';
import { RollupDeltas, writeAccessLogs } from '../../src/db/rollup-writer.js';
import { applySchema } from '../../src/db/schema.js';
import { Database } from '../../src/lambda/database.js';
import type { BackendHandler } from '../../src/lambda/index.js';
import { findIntent, INTENTS } from '../../src/lambda/intents/index.js';
import { parseParams } from '../../src/lambda/params.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { answer, backendEnv, createAppUser, handlerWithLog } from './support.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

interface Dataset {
  label: string;
  /** First instant of the data (a UTC midnight). */
  start: number;
  days: number;
  rows: AccessLogRow[];
  ips: string[];
  endpoints: string[];
  /** The handler's clock: not on any bucket boundary, so `hours` windows have ragged edges. */
  now: Date;
  /** SITE_HOSTS, whose referrals get_referrers leaves out. */
  siteHosts?: string;
}

/** An instant near a bucket boundary (or anywhere), inside [start, start + days). */
const instant = (start: number, days: number) =>
  fc.oneof(
    fc.integer({ min: start, max: start + days * DAY - 1 }),
    fc
      .tuple(
        fc.constantFrom(DAY, HOUR, MINUTE),
        fc.integer({ min: 0, max: days * 24 * 60 }),
        fc.constantFrom(0, 1, -1, 999, -999, 30_000, -59_999),
      )
      .map(([grain, i, offset]) => {
        const t = start + Math.floor((i * MINUTE) / grain) * grain + offset;
        return Math.min(Math.max(t, start), start + days * DAY - 1);
      }),
  );

function makeDataset(label: string, seed: number, days: number, size: number): Dataset {
  const start = Date.UTC(2024, 2, 1);
  // Many keys with a skew (so top lists need the bound) and few values (so counts tie often).
  const ips = [
    ...Array.from({ length: 180 }, (_, i) => `10.${i % 7}.${Math.floor(i / 7)}.${(i * 37) % 250}`),
    '2001:db8::7',
    '2001:db8:0:1::a',
    '192.168.1.1',
  ];
  const endpoints = [
    ...Array.from({ length: 120 }, (_, i) => `/p/${i % 9}/${i}`),
    '/',
    '/api/users',
    '/héros/ü',
    '/a b',
    '/Z',
    '/z',
    '/100%_done',
  ];
  const skewed = <T>(items: T[]) =>
    fc.integer({ min: 0, max: 10_000 }).map((r) => items[Math.floor(items.length * (r / 10_001) ** 3)] as T);
  const row = fc.record({
    timestamp: instant(start, days),
    ip_address: skewed(ips),
    method: fc.constantFrom('GET', 'GET', 'GET', 'POST', 'HEAD', 'DELETE', '-'),
    endpoint: skewed(endpoints),
    query_string: fc.constant(null),
    status_code: fc.constantFrom(200, 200, 200, 201, 204, 301, 304, 101, 400, 404, 404, 418, 500, 503, 599),
    bytes_sent: fc.option(fc.integer({ min: 0, max: 10_000 })),
    response_time_ms: fc.option(fc.integer({ min: 0, max: 3_000 }), { freq: 5 }),
    referrer: fc.option(fc.constantFrom(...REFERRERS), { freq: 4 }),
    // Bots and browsers, for the `bots` filter (classified as the rows are written).
    user_agent: fc.constantFrom(null, ...AGENTS),
  });
  const [rows] = fc.sample(fc.array(row, { minLength: size, maxLength: size }), { seed, numRuns: 1 });
  return {
    label,
    start,
    days,
    rows: rows as AccessLogRow[],
    ips,
    endpoints,
    now: new Date(start + (days - 1) * DAY + 13 * HOUR + 17 * MINUTE + 4_321),
  };
}

const AGENTS = [
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'curl/8.5.0',
  'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36',
  '-',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
];
const BOT_AGENTS = new Set(AGENTS.slice(0, 3));

/** Direct ones ("-", no scheme), hosts in several spellings, the site's own host, and a URL past 700 characters. */
const REFERRERS = [
  '-',
  'android-app://com.google.android.gm/',
  'https://www.google.com/',
  'https://www.google.com/search?q=x',
  'https://WWW.Google.com:443/',
  'http://user@news.example.org/a#b',
  'https://www.example.com/',
  'https://www.example.com/products/7',
  'https://Www.Example.com/',
  'https://t.co/abc',
  'https://t.co/ABC',
  'www.bing.com/search',
  'ｈｔｔｐｓ：／／full.width/',
  `https://long.example.net/${'é'.repeat(690)}tail-${'x'.repeat(40)}`,
  `https://long.example.net/${'é'.repeat(690)}tail-${'y'.repeat(40)}`,
];

const DATASETS = [
  { ...makeDataset('3 dense days', 7, 3, 4_000), siteHosts: 'www.example.com,t.co' },
  makeDataset('40 sparse days', 11, 40, 2_500),
];

interface Pair {
  data: Dataset;
  withRollups: TestDatabase;
  rawOnly: TestDatabase;
  rollupHandler: BackendHandler;
  rawHandler: BackendHandler;
  /** Only the rows of bots, and only the others: what `bots: only` and `exclude` must count. */
  subsets: {
    bots: TestDatabase;
    humans: TestDatabase;
    botsHandler: BackendHandler;
    humansHandler: BackendHandler;
  };
}

const pairs: Pair[] = [];

/** Rows into the rollup database by every route a row can take. */
async function fillWithRollups(db: TestDatabase, rows: AccessLogRow[]): Promise<void> {
  const third = Math.floor(rows.length / 3);
  // Rows that predate the rollup tables: the backfill counts them (in small chunks, to cross chunk edges).
  await insertAccessLogRows(db.pool, rows.slice(0, third));
  await applySchema(db.pool);
  await backfillRollups(db.pool, { chunkIds: 97 });
  // Then writers, in transactions of several sizes.
  const late = rows.length - 200;
  for (let i = third; i < late; ) {
    const size = 1 + ((i * 7919) % 900);
    await writeAccessLogs(db.pool, rows.slice(i, Math.min(i + size, late)));
    i += size;
  }
  // Per-day response times for every path, then a few more rows: the days they land in no longer
  // match those counts, and their p95 must come from the rows.
  await buildResponseTimes(db.pool, { now: new Date('2100-01-01T00:00:00Z'), minRequests: 1 });
  await writeAccessLogs(db.pool, rows.slice(late));
  // A write rolled back leaves nothing behind, rows or rollups.
  const conn = await db.pool.getConnection();
  await conn.query('START TRANSACTION');
  const deltas = await RollupDeltas.start(conn);
  await insertAccessLogRows(conn, rows.slice(0, 500));
  deltas.add(rows.slice(0, 500));
  await deltas.flush(conn);
  await conn.query('ROLLBACK');
  conn.release();
}

beforeAll(async () => {
  for (const data of DATASETS) {
    const withRollups = await createTestDatabase('rollup_exact');
    const rawOnly = await createTestDatabase('rollup_raw');
    await fillWithRollups(withRollups, data.rows);
    await insertAccessLogRows(rawOnly.pool, data.rows);
    const now = () => data.now;
    const site = { SITE_HOSTS: data.siteHosts };
    const bots = await createTestDatabase('rollup_bots');
    const humans = await createTestDatabase('rollup_humans');
    for (const [db, keep] of [
      [bots, true],
      [humans, false],
    ] as const) {
      await applySchema(db.pool);
      await writeAccessLogs(
        db.pool,
        data.rows.filter((r) => BOT_AGENTS.has(r.user_agent ?? '') === keep),
      );
    }
    const handlerOf = async (db: TestDatabase) =>
      handlerWithLog({ env: backendEnv(db, await createAppUser(db), site), now }).handler;
    pairs.push({
      subsets: {
        bots,
        humans,
        botsHandler: await handlerOf(bots),
        humansHandler: await handlerOf(humans),
      },
      data,
      withRollups,
      rawOnly,
      rollupHandler: handlerWithLog({
        env: backendEnv(withRollups, await createAppUser(withRollups), site),
        now,
      }).handler,
      rawHandler: handlerWithLog({ env: backendEnv(rawOnly, await createAppUser(rawOnly), site), now })
        .handler,
    });
  }
}, 600_000);

afterAll(async () => {
  for (const p of pairs) {
    await p.rollupHandler.close();
    await p.rawHandler.close();
    await p.subsets.botsHandler.close();
    await p.subsets.humansHandler.close();
    await p.subsets.bots.drop();
    await p.subsets.humans.drop();
    await p.withRollups.drop();
    await p.rawOnly.drop();
  }
});

const iso = (ms: number) => new Date(ms).toISOString();

/** Window parameters: explicit ranges with ragged or aligned edges, `hours`, all time, empty ones. */
function windowParams(data: Dataset) {
  const edge = fc.oneof(
    instant(data.start, data.days),
    fc.integer({ min: data.start - 2 * DAY, max: data.start + (data.days + 2) * DAY }),
  );
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .tuple(edge, edge)
        .filter(([a, b]) => a !== b)
        .map(([a, b]) => ({ start_time: iso(Math.min(a, b)), end_time: iso(Math.max(a, b)) })),
    },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: (data.days + 2) * 24 }).map((hours) => ({ hours })) },
    { weight: 2, arbitrary: fc.constant({ all_time: true }) },
    { weight: 1, arbitrary: fc.constant({}) },
    // Wholly before the data: nothing to count.
    {
      weight: 1,
      arbitrary: fc.constant({ start_time: iso(data.start - 3 * DAY), end_time: iso(data.start - DAY + 1) }),
    },
  );
}

function requestFor(data: Dataset) {
  const topN = fc.oneof(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 50 }));
  const w = windowParams(data);
  return fc.oneof(
    fc.record({
      intent: fc.constant('get_traffic_summary'),
      params: fc.tuple(w, topN).map(([p, top_n]) => ({ ...p, top_n })),
    }),
    fc.record({
      intent: fc.constant('get_traffic_timeseries'),
      params: fc
        .tuple(w, fc.constantFrom('minute', 'hour', 'day'))
        .map(([p, interval]) => ({ ...p, interval })),
    }),
    fc.record({
      intent: fc.constant('get_endpoint_stats'),
      params: fc
        .tuple(
          w,
          topN,
          fc.option(fc.oneof(fc.constantFrom(...data.endpoints), fc.constant('/never')), { freq: 3 }),
        )
        .map(([p, top_n, endpoint]) => (endpoint === null ? { ...p, top_n } : { ...p, top_n, endpoint })),
    }),
    fc.record({
      intent: fc.constant('get_ip_activity'),
      params: fc
        .tuple(
          w,
          topN,
          fc.oneof(
            fc.constantFrom(...data.ips.slice(0, 8), ...data.ips.slice(-3)),
            fc.constantFrom(...data.ips),
            fc.constant('10.99.99.99'),
          ),
        )
        .map(([p, top_n, ip_address]) => ({ ...p, top_n, ip_address })),
    }),
    fc.record({
      intent: fc.constant('get_bandwidth'),
      params: fc
        .tuple(
          w,
          topN,
          fc.option(fc.oneof(fc.constantFrom(...data.endpoints), fc.constant('/never')), { freq: 3 }),
        )
        .map(([p, top_n, endpoint]) => (endpoint === null ? { ...p, top_n } : { ...p, top_n, endpoint })),
    }),
    fc.record({ intent: fc.constant('get_visitors'), params: w }),
    fc.record({
      intent: fc.constant('get_referrers'),
      params: fc.tuple(w, topN).map(([p, top_n]) => ({ ...p, top_n })),
    }),
    fc.record({
      intent: fc.constant('get_not_found'),
      params: fc.tuple(w, topN).map(([p, top_n]) => ({ ...p, top_n })),
    }),
    fc.record({
      intent: fc.constant('get_user_agents'),
      params: fc.tuple(w, topN).map(([p, top_n]) => ({ ...p, top_n })),
    }),
  );
}

describe.each(DATASETS.map((d, i) => [d.label, i] as const))(
  'rollups answer exactly as access_logs (%s)',
  (_label, index) => {
    it('has every rollup table backfilled and ready', async () => {
      const pair = pairs[index] as Pair;
      const states = await readRollupStates(pair.withRollups.pool);
      expect(states.map((s) => [s.table, s.ready])).toEqual([
        ['rollup_agent', true],
        ['rollup_endpoint_v2', true],
        ['rollup_ip_v2', true],
        ['rollup_notfound', true],
        ['rollup_referrer', true],
        ['rollup_status_v2', true],
        ['rollup_visitor', true],
      ]);
    });

    it('gives the same answer for 1,200 random requests of the aggregate intents read from rollups', async () => {
      const pair = pairs[index] as Pair;
      await fc.assert(
        fc.asyncProperty(requestFor(pair.data), async (request) => {
          const [fromRollups, fromRows] = await Promise.all([
            pair.rollupHandler(request).then(answer),
            pair.rawHandler(request).then(answer),
          ]);
          expect(fromRollups.status).toBe(fromRows.status);
          if (fromRows.status === 200) expect(fromRollups.data).toEqual(fromRows.data);
          else expect(fromRollups.body.error).toBe(fromRows.body.error);
        }),
        { numRuns: 1_200, seed: 20_260_101 + index },
      );
    }, 1_200_000);

    it('counts with `bots: exclude` / `only` exactly what the rows with the filter, and a table of only those rows, count', async () => {
      const pair = pairs[index] as Pair;
      const { botsHandler, humansHandler } = pair.subsets;
      await fc.assert(
        fc.asyncProperty(requestFor(pair.data), fc.constantFrom('exclude', 'only'), async (request, bots) => {
          const filtered = { ...request, params: { ...request.params, bots } };
          // An all-time series spans the table's first to last row, which differ between the tables.
          const subsetComparable = !(
            request.intent === 'get_traffic_timeseries' && 'all_time' in request.params
          );
          const [fromRollups, fromRows, fromSubset] = await Promise.all([
            pair.rollupHandler(filtered).then(answer),
            pair.rawHandler(filtered).then(answer),
            (bots === 'only' ? botsHandler : humansHandler)(request).then(answer),
          ]);
          expect(fromRollups.status).toBe(fromRows.status);
          if (fromRows.status === 200) expect(fromRollups.data).toEqual(fromRows.data);
          if (subsetComparable) {
            expect(fromRollups.status).toBe(fromSubset.status);
            if (fromSubset.status === 200) expect(fromRollups.data).toEqual(fromSubset.data);
          }
        }),
        { numRuns: 400, seed: 20_261_203 + index },
      );
    }, 600_000);
  },
);

describe('which tables the intents read', () => {
  it('reads the rollups for whole buckets and access_logs only for the edges (and what rollups do not hold)', async () => {
    const pair = pairs[0] as Pair;
    const statements: string[] = [];
    const db = new Database({
      credentials: async () => ({
        host: pair.withRollups.host,
        port: pair.withRollups.port,
        user: pair.withRollups.user,
        password: pair.withRollups.password,
        database: pair.withRollups.database,
      }),
      ssl: false,
      queryTimeoutMs: 20_000,
      onStatement: (sql) => statements.push(sql.replace(/\s+/g, ' ')),
    });
    const ctx = {
      now: pair.data.now,
      cursorKey: async () => Buffer.alloc(32),
      intents: INTENTS,
      maxQueryLimit: 1000,
    };
    // A window on whole days: nothing should be counted from access_logs rows.
    const aligned = { start_time: iso(pair.data.start), end_time: iso(pair.data.start + 2 * DAY) };
    const read = async (intent: string, params: Record<string, unknown>) => {
      statements.length = 0;
      const def = findIntent(intent)!;
      await def.run(db, parseParams(def.params, params, ctx), ctx);
      return [...statements];
    };
    try {
      const summary = await read('get_traffic_summary', aligned);
      expect(summary.some((s) => s.includes('rollup_status_v2'))).toBe(true);
      expect(summary.some((s) => s.includes('rollup_endpoint_v2'))).toBe(true);
      expect(summary.some((s) => s.includes('rollup_ip_v2'))).toBe(true);
      expect(summary.filter((s) => s.includes('access_logs'))).toEqual([]);

      const series = await read('get_traffic_timeseries', { ...aligned, interval: 'hour' });
      expect(series.some((s) => s.includes('rollup_status_v2'))).toBe(true);
      expect(series.filter((s) => s.includes('access_logs'))).toEqual([]);

      const stats = await read('get_endpoint_stats', aligned);
      expect(stats.some((s) => s.includes('rollup_endpoint_v2'))).toBe(true);
      // Only the percentile reads rows.
      expect(
        stats
          .filter((s) => s.includes('access_logs'))
          .every((s) => s.includes('response_time_ms IS NOT NULL')),
      ).toBe(true);

      // The `bots` filter reads the bots' twins of the same rollups.
      for (const bots of ['exclude', 'only']) {
        const filteredStats = await read('get_endpoint_stats', { ...aligned, bots });
        expect(filteredStats.some((s) => s.includes('rollup_endpoint_rt') && s.includes('n_bot'))).toBe(true);
        expect(
          filteredStats
            .filter((s) => s.includes('access_logs'))
            .every((s) => s.includes('response_time_ms IS NOT NULL')),
        ).toBe(true);
        const filtered = await read('get_traffic_summary', { ...aligned, bots });
        expect(filtered.some((s) => s.includes('n_bot'))).toBe(true);
        expect(filtered.filter((s) => s.includes('access_logs'))).toEqual([]);
        const filteredSeries = await read('get_traffic_timeseries', { ...aligned, interval: 'day', bots });
        expect(filteredSeries.filter((s) => s.includes('access_logs'))).toEqual([]);
      }

      for (const params of [aligned, { ...aligned, endpoint: '/api/users', bots: 'only' }]) {
        const bandwidth = await read('get_bandwidth', params);
        expect(bandwidth.some((s) => s.includes('rollup_'))).toBe(true);
        expect(bandwidth.filter((s) => s.includes('access_logs'))).toEqual([]);
      }
      const visitors = await read('get_visitors', { ...aligned, bots: 'only' });
      expect(visitors.some((s) => s.includes('rollup_visitor'))).toBe(true);
      expect(visitors.filter((s) => s.includes('access_logs'))).toEqual([]);
      const agents = await read('get_user_agents', { ...aligned, bots: 'exclude' });
      expect(agents.some((s) => s.includes('rollup_agent'))).toBe(true);
      expect(agents.filter((s) => s.includes('access_logs'))).toEqual([]);

      const ip = await read('get_ip_activity', { ...aligned, ip_address: '192.168.1.1' });
      expect(ip.some((s) => s.includes('rollup_ip_v2'))).toBe(true);
      // Methods and busiest paths of one address come from its rows.
      expect(
        ip.filter((s) => s.includes('access_logs')).every((s) => /GROUP BY (endpoint|method)/.test(s)),
      ).toBe(true);

      // Ragged edges: whole buckets still from rollups, the rest from rows.
      const ragged = await read('get_traffic_summary', {
        start_time: iso(pair.data.start + 90 * MINUTE + 1234),
        end_time: iso(pair.data.start + DAY + 5 * HOUR + 17),
      });
      expect(ragged.some((s) => s.includes('rollup_status_v2') && s.includes('access_logs'))).toBe(true);
    } finally {
      await db.close();
    }
  });
});

describe('top lists where the busiest keys of each bucket mislead', () => {
  let withRollups: TestDatabase;
  let rawOnly: TestDatabase;
  let rollupHandler: BackendHandler;
  let rawHandler: BackendHandler;
  const start = Date.UTC(2024, 5, 1);
  // Paths, whose rollup has hour buckets: the finest grain is where a bucket's leaders can mislead.
  const row = (timestamp: number, endpoint: string): AccessLogRow => ({
    timestamp,
    ip_address: '10.0.0.1',
    method: 'GET',
    endpoint,
    query_string: null,
    status_code: 200,
    bytes_sent: null,
    response_time_ms: null,
    referrer: null,
    user_agent: null,
  });

  beforeAll(async () => {
    const rows: AccessLogRow[] = [];
    // 30 hours, each with 14 paths of its own at 3 requests: every hour's leaders are those.
    // Two steady paths at 2 requests an hour never lead an hour, yet have the most in all.
    for (let h = 0; h < 30; h++) {
      const t = start + h * HOUR;
      for (let i = 0; i < 14; i++)
        for (let r = 0; r < 3; r++) rows.push(row(t + i * 1000 + r, `/h${h}/${i}`));
      for (let r = 0; r < 2; r++)
        rows.push(row(t + 50_000 + r, '/steady/b'), row(t + 51_000 + r, '/steady/a'));
    }
    // Hour 40: 13 paths at 5 requests; the one with the smallest name is not in a list of 12.
    for (let i = 0; i < 13; i++)
      for (let r = 0; r < 5; r++) rows.push(row(start + 40 * HOUR + i * 1000 + r, i === 0 ? '/a' : `/b${i}`));
    withRollups = await createTestDatabase('rollup_lead');
    rawOnly = await createTestDatabase('rollup_lead_raw');
    await applySchema(withRollups.pool);
    await writeAccessLogs(withRollups.pool, rows);
    await insertAccessLogRows(rawOnly.pool, rows);
    rollupHandler = handlerWithLog({
      env: backendEnv(withRollups, await createAppUser(withRollups)),
    }).handler;
    rawHandler = handlerWithLog({ env: backendEnv(rawOnly, await createAppUser(rawOnly)) }).handler;
  });

  afterAll(async () => {
    await rollupHandler?.close();
    await rawHandler?.close();
    await withRollups?.drop();
    await rawOnly?.drop();
  });

  const both = async (params: Record<string, unknown>) => {
    const request = { intent: 'get_traffic_summary', params };
    const [a, b] = await Promise.all([rollupHandler(request).then(answer), rawHandler(request).then(answer)]);
    expect(a.data).toEqual(b.data);
    return a.data.top_endpoints;
  };

  it('finds the steady paths that never lead an hour, in name order when tied', async () => {
    // No whole day inside: every piece is an hour (a day's leaders would show the steady ones).
    const top = await both({ start_time: iso(start + HOUR), end_time: iso(start + 29 * HOUR), top_n: 2 });
    expect(top).toEqual({ '/steady/a': 56, '/steady/b': 56 });
  });

  it('finds a key tied with the last of a bucket list but left out of it', async () => {
    const top = await both({
      start_time: iso(start + 40 * HOUR),
      end_time: iso(start + 41 * HOUR),
      top_n: 1,
    });
    expect(top).toEqual({ '/a': 5 });
  });
});
