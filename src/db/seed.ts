/**
 * `db seed`: realistic synthetic traffic. Skewed client IPs (Zipf-like,
 * some IPv6, a few well-known addresses such as 192.168.1.1 among the busiest), skewed paths,
 * mostly GET, about 3.5% errors (404s most, some 5xx, 401/403/400), log-normal response times
 * with slow server errors, sizes that fit the content, referrers, user agents, query strings,
 * and timestamps over `days` ending at `end` with a daily and weekly cycle.
 *
 * Deterministic: rows are generated in fixed chunks, each from its own random stream derived
 * from (seed, chunk number), so the same seed and end give the same rows however many
 * connections insert them in parallel.
 */
import type mysql from 'mysql2/promise';
import { type AccessLogRow, insertAccessLogRows } from './access-log-row.js';
import { RollupDeltas } from './rollup-writer.js';
import {
  mixSeed,
  type Random,
  seededRandom,
  type WeightedTable,
  weightedTable,
  zipfWeights,
} from './seeded-random.js';

export const DEFAULT_SEED = 1;
/** Rows per deterministic chunk (one random stream each). */
export const SEED_CHUNK_ROWS = 10_000;
/** Rows per INSERT statement: about 2 MB of SQL, far below the default 16 MB max_allowed_packet. */
const INSERT_BATCH_ROWS = 5_000;
/** Two connections keep the server busy while the next batch is generated; more does not help on small machines. */
const PARALLEL_CONNECTIONS = 2;
const DAY_MS = 86_400_000;

export interface TrafficOptions {
  rows: number;
  days: number;
  seed?: number;
  /** Latest possible timestamp (exclusive). Default: now. */
  end?: Date;
}

type PathKind = 'page' | 'api' | 'search' | 'static' | 'auth' | 'misc';

interface PathSpec {
  template: string;
  kind: PathKind;
  methods: readonly (readonly [string, number])[];
  /** Typical response size in bytes (for GET 200). */
  size: number;
}

const GET_ONLY = [['GET', 1]] as const;
const PAGE_METHODS = [
  ['GET', 97],
  ['HEAD', 2],
  ['OPTIONS', 1],
] as const;
const STATIC_METHODS = [
  ['GET', 97],
  ['HEAD', 3],
] as const;

const PATHS: readonly (readonly [PathSpec, number])[] = [
  [{ template: '/', kind: 'page', methods: PAGE_METHODS, size: 14_000 }, 14],
  [{ template: '/index.html', kind: 'page', methods: PAGE_METHODS, size: 14_000 }, 5],
  [{ template: '/about', kind: 'page', methods: GET_ONLY, size: 9_000 }, 2],
  [{ template: '/contact', kind: 'page', methods: GET_ONLY, size: 7_500 }, 1],
  [{ template: '/products/{id}', kind: 'page', methods: GET_ONLY, size: 18_000 }, 4],
  [
    {
      template: '/api/users',
      kind: 'api',
      methods: [
        ['GET', 80],
        ['POST', 20],
      ],
      size: 3_000,
    },
    6,
  ],
  [
    {
      template: '/api/users/{id}',
      kind: 'api',
      methods: [
        ['GET', 85],
        ['PUT', 10],
        ['DELETE', 5],
      ],
      size: 600,
    },
    8,
  ],
  [
    {
      template: '/api/orders',
      kind: 'api',
      methods: [
        ['GET', 70],
        ['POST', 30],
      ],
      size: 2_500,
    },
    5,
  ],
  [
    {
      template: '/api/orders/{id}',
      kind: 'api',
      methods: [
        ['GET', 90],
        ['PATCH', 10],
      ],
      size: 900,
    },
    4,
  ],
  [{ template: '/api/products', kind: 'api', methods: GET_ONLY, size: 6_000 }, 7],
  [{ template: '/api/products/{id}', kind: 'api', methods: GET_ONLY, size: 1_200 }, 8],
  [{ template: '/api/search', kind: 'search', methods: GET_ONLY, size: 4_000 }, 5],
  [{ template: '/api/health', kind: 'misc', methods: GET_ONLY, size: 40 }, 3],
  [
    {
      template: '/login',
      kind: 'auth',
      methods: [
        ['GET', 50],
        ['POST', 50],
      ],
      size: 5_000,
    },
    4,
  ],
  [
    {
      template: '/logout',
      kind: 'auth',
      methods: [
        ['GET', 60],
        ['POST', 40],
      ],
      size: 0,
    },
    1,
  ],
  [{ template: '/static/css/main.css', kind: 'static', methods: STATIC_METHODS, size: 24_000 }, 7],
  [{ template: '/static/js/app.js', kind: 'static', methods: STATIC_METHODS, size: 180_000 }, 7],
  [{ template: '/static/js/vendor.js', kind: 'static', methods: STATIC_METHODS, size: 420_000 }, 4],
  [{ template: '/static/img/logo.png', kind: 'static', methods: STATIC_METHODS, size: 12_000 }, 5],
  [{ template: '/static/img/banner-{n}.jpg', kind: 'static', methods: STATIC_METHODS, size: 250_000 }, 2],
  [{ template: '/favicon.ico', kind: 'static', methods: GET_ONLY, size: 4_286 }, 4],
  [{ template: '/robots.txt', kind: 'misc', methods: GET_ONLY, size: 120 }, 1],
];

/** What scanners and stale links ask for: the paths most 404s carry. */
const NOT_FOUND_PATHS = [
  '/wp-login.php',
  '/.env',
  '/admin/config.php',
  '/phpmyadmin/',
  '/old-page.html',
  '/api/v1/users',
  '/static/js/app.old.js',
  '/xmlrpc.php',
];

/** Error statuses and their share of all errors; the error share itself is ERROR_SHARE. */
const ERROR_SHARE = 0.035;
const ERROR_STATUSES = weightedTable<number>([
  [404, 55],
  [500, 12],
  [401, 10],
  [403, 8],
  [400, 7],
  [502, 4],
  [503, 4],
]);

const USER_AGENTS = weightedTable<string | null>([
  [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
    30,
  ],
  [
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
    12,
  ],
  [
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
    14,
  ],
  [
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36',
    12,
  ],
  ['Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0', 6],
  [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51',
    6,
  ],
  ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 5],
  ['Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)', 3],
  ['curl/8.5.0', 4],
  ['python-requests/2.31.0', 3],
  ['Go-http-client/1.1', 2],
  [null, 3],
]);

const SITE = 'https://www.example.com';
const SEARCH_WORDS = [
  'shoes',
  'red dress',
  'laptop',
  'coffee mug',
  'héros',
  'gift card',
  'usb-c cable',
  'tent',
];

/** Addresses people will try first (192.168.1.1, the docs' example, among them), placed among the busiest clients. */
const WELL_KNOWN_IPS = [
  '203.0.113.42',
  '192.168.1.1',
  '198.51.100.7',
  '10.0.0.5',
  '2001:db8::1',
  '66.249.66.1',
];
const IP_COUNT = 20_000;
const IPV6_SHARE = 0.06;

export interface TrafficPlan {
  rows: number;
  seed: number;
  start: number;
  end: number;
  chunks: number;
  ips: string[];
  ipTable: { draw(random: Random): number };
  /** The browser each client mostly uses. */
  ipUserAgents: (string | null)[];
  /** Cumulative traffic intensity per time bucket (daily and weekly cycle), for placing row timestamps. */
  timeline: { bucketMs: number; cumulative: Float64Array };
}

function generateIps(seed: number): string[] {
  const random = seededRandom(mixSeed(seed, 0xa11ce));
  const ips = new Set<string>();
  // Ranks 3, 5, 8, ...: busy but not all at the very top.
  const slots = new Map(WELL_KNOWN_IPS.map((ip, i) => [2 + Math.floor(i * 2.5), ip]));
  const list: string[] = [];
  while (list.length < IP_COUNT) {
    const known = slots.get(list.length);
    let ip: string;
    if (known) ip = known;
    else if (random.next() < IPV6_SHARE) {
      const h = () => random.int(0, 0xffff).toString(16);
      ip = `2001:db8:${h()}:${h()}::${h()}`;
    } else {
      ip = `${random.pick([23, 31, 45, 52, 64, 78, 81, 92, 104, 151, 172, 185, 203])}.${random.int(0, 255)}.${random.int(0, 255)}.${random.int(1, 254)}`;
    }
    if (ips.has(ip)) continue;
    ips.add(ip);
    list.push(ip);
  }
  return list;
}

/** Traffic intensity at a moment: busiest mid-afternoon UTC, quietest before dawn, weekends at 70%. */
function intensity(ms: number): number {
  const hour = (ms % DAY_MS) / 3_600_000;
  const daily = 1 + 0.6 * Math.cos((2 * Math.PI * (hour - 15)) / 24);
  const weekday = new Date(ms).getUTCDay();
  return daily * (weekday === 0 || weekday === 6 ? 0.7 : 1);
}

/** Everything about a seeding run that does not depend on the chunk: validated options, IP pool, timeline. */
export function planTraffic(options: TrafficOptions): TrafficPlan {
  const { rows, days } = options;
  if (!Number.isSafeInteger(rows) || rows < 0)
    throw new RangeError(`rows must be a whole number >= 0 (got ${rows})`);
  if (!(days > 0) || days > 36_500) throw new RangeError(`days must be > 0 and at most 36500 (got ${days})`);
  const seed = options.seed ?? DEFAULT_SEED;
  const end = (options.end ?? new Date()).getTime();
  const start = end - Math.round(days * DAY_MS);
  const span = end - start;
  // About 200,000 buckets at most (minute resolution for up to ~4 months) keeps this small.
  const bucketMs = Math.max(60_000, Math.ceil(span / 200_000));
  const buckets = Math.ceil(span / bucketMs);
  const cumulative = new Float64Array(buckets);
  let total = 0;
  for (let b = 0; b < buckets; b++) {
    const from = start + b * bucketMs;
    const width = Math.min(bucketMs, end - from);
    total += intensity(from + width / 2) * width;
    cumulative[b] = total;
  }
  const ips = generateIps(seed);
  const agentRandom = seededRandom(mixSeed(seed, 0xb0b));
  return {
    rows,
    seed,
    start,
    end,
    chunks: Math.ceil(rows / SEED_CHUNK_ROWS),
    ips,
    ipTable: weightedTable(zipfWeights(IP_COUNT, 0.9).map((w, i) => [i, w] as const)),
    ipUserAgents: ips.map(() => USER_AGENTS.draw(agentRandom)),
    timeline: { bucketMs, cumulative },
  };
}

/** The moment at quantile q (0..1) of the traffic: inverse of the cumulative intensity. */
function timestampAt(plan: TrafficPlan, q: number): number {
  const { cumulative, bucketMs } = plan.timeline;
  const total = cumulative[cumulative.length - 1] ?? 0;
  const target = q * total;
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((cumulative[mid] as number) > target) hi = mid;
    else lo = mid + 1;
  }
  const before = lo === 0 ? 0 : (cumulative[lo - 1] as number);
  const from = plan.start + lo * bucketMs;
  const width = Math.min(bucketMs, plan.end - from);
  const inBucket = (cumulative[lo] as number) - before;
  const ms = Math.floor(from + (inBucket > 0 ? ((target - before) / inBucket) * width : 0));
  return Math.min(Math.max(ms, plan.start), plan.end - 1);
}

const pathTable = weightedTable(PATHS);
const methodTables = new Map(PATHS.map(([spec]) => [spec, weightedTable(spec.methods)]));
/** Ids skewed towards small numbers: popular products and active users. */
const skewedId = (random: Random) => 1 + Math.floor(random.next() ** 2 * 5_000);

function statusFor(spec: PathSpec, method: string, random: Random): number {
  if (random.next() < ERROR_SHARE) return ERROR_STATUSES.draw(random);
  if (spec.template === '/logout' || (spec.template === '/login' && method === 'POST')) return 302;
  if (spec.kind === 'static' && random.next() < 0.18) return 304;
  if (method === 'POST' && spec.kind === 'api') return 201;
  if (method === 'DELETE') return 204;
  if (spec.kind === 'page' && random.next() < 0.01) return 301;
  return 200;
}

function responseTime(spec: PathSpec, status: number, random: Random): number {
  let ms: number;
  if (status >= 500) ms = random.logNormal(status === 500 ? 650 : 2_500, 0.8);
  else if (status === 404) ms = random.logNormal(9, 0.6);
  else if (status >= 400) ms = random.logNormal(6, 0.5);
  else if (spec.kind === 'static') ms = random.logNormal(status === 304 ? 1.5 : 4, 0.6);
  else if (spec.kind === 'search') ms = random.logNormal(140, 0.7);
  else if (spec.kind === 'api') ms = random.logNormal(45, 0.7);
  else ms = random.logNormal(25, 0.5);
  return Math.min(Math.max(Math.round(ms), 0), 60_000);
}

function bytesFor(spec: PathSpec, method: string, status: number, random: Random): number {
  if (method === 'HEAD' || status === 304 || status === 204) return 0;
  if (status >= 300 && status < 400) return random.int(150, 400);
  if (status >= 400) return random.int(120, 900);
  if (spec.kind === 'static') return Math.round(spec.size * (0.97 + random.next() * 0.06));
  return Math.max(2, Math.round(random.logNormal(spec.size, 0.5)));
}

function referrerFor(spec: PathSpec, random: Random): string | null {
  const r = random.next();
  if (spec.kind === 'page') {
    if (r < 0.4) return null;
    if (r < 0.6) return 'https://www.google.com/';
    if (r < 0.65) return `https://www.bing.com/search?q=${encodeURIComponent(random.pick(SEARCH_WORDS))}`;
    return `${SITE}${random.pick(['/', '/about', `/products/${skewedId(random)}`])}`;
  }
  if (spec.kind === 'misc') return null;
  return r < 0.15
    ? null
    : `${SITE}${random.pick(['/', '/index.html', `/products/${skewedId(random)}`, '/login'])}`;
}

function queryFor(spec: PathSpec, random: Random): string | null {
  switch (spec.template) {
    case '/api/search':
      return `q=${encodeURIComponent(random.pick(SEARCH_WORDS))}${random.next() < 0.3 ? `&page=${random.int(2, 9)}` : ''}`;
    case '/api/products':
      return random.next() < 0.4
        ? `page=${random.int(1, 40)}&sort=${random.pick(['price', 'name', '-rating'])}`
        : null;
    case '/':
      return random.next() < 0.05 ? 'utm_source=newsletter&utm_medium=email' : null;
    default:
      return null;
  }
}

/** The rows of one chunk, in time order. Pure: the same plan and chunk number give the same rows. */
export function generateTrafficChunk(plan: TrafficPlan, chunk: number): AccessLogRow[] {
  const random = seededRandom(mixSeed(plan.seed, chunk + 1));
  const first = chunk * SEED_CHUNK_ROWS;
  const last = Math.min(first + SEED_CHUNK_ROWS, plan.rows);
  const rows: AccessLogRow[] = [];
  for (let i = first; i < last; i++) {
    const timestamp = timestampAt(plan, (i + random.next()) / plan.rows);
    const ipRank = plan.ipTable.draw(random);
    const spec = pathTable.draw(random);
    const method = (methodTables.get(spec) as WeightedTable<string>).draw(random);
    const status = statusFor(spec, method, random);
    let endpoint = spec.template
      .replace('{id}', String(skewedId(random)))
      .replace('{n}', String(random.int(1, 6)));
    if (status === 404 && random.next() < 0.5) endpoint = random.pick(NOT_FOUND_PATHS);
    // Each client mostly keeps one browser.
    const userAgent = random.next() < 0.85 ? (plan.ipUserAgents[ipRank] ?? null) : USER_AGENTS.draw(random);
    rows.push({
      timestamp,
      ip_address: plan.ips[ipRank] as string,
      method,
      endpoint,
      query_string: queryFor(spec, random),
      status_code: status,
      bytes_sent: bytesFor(spec, method, status, random),
      response_time_ms: responseTime(spec, status, random),
      referrer: referrerFor(spec, random),
      user_agent: userAgent,
    });
  }
  return rows;
}

/** All rows of a plan in time order (for tests and for writing benchmark log files). */
export function* generateTraffic(options: TrafficOptions): Generator<AccessLogRow> {
  const plan = planTraffic(options);
  for (let c = 0; c < plan.chunks; c++) yield* generateTrafficChunk(plan, c);
}

const ER_LOCK_DEADLOCK = 1213;

/**
 * One chunk in one transaction, with its rollup deltas. The two connections update the same
 * rollup rows (the same hours and days), so InnoDB may pick one as a deadlock victim and roll it
 * back whole: the chunk is then simply written again (it is deterministic).
 */
async function writeChunk(conn: mysql.PoolConnection, rows: AccessLogRow[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await conn.query('START TRANSACTION');
      const rollups = await RollupDeltas.start(conn);
      for (let i = 0; i < rows.length; i += INSERT_BATCH_ROWS) {
        const batch = rows.slice(i, i + INSERT_BATCH_ROWS);
        await insertAccessLogRows(conn, batch);
        rollups.add(batch);
      }
      await rollups.flush(conn);
      await conn.query('COMMIT');
      return;
    } catch (err) {
      await conn.query('ROLLBACK').catch(() => {});
      if ((err as { errno?: number }).errno !== ER_LOCK_DEADLOCK || attempt >= 5) throw err;
    }
  }
}

/**
 * Insert `rows` rows of synthetic traffic over the `days` days before `end` (default now).
 * Appends: it neither clears the table nor skips rows seeded before. Deterministic for a seed and end.
 */
export async function seedTraffic(
  pool: mysql.Pool,
  options: { rows: number; days: number; seed?: number; end?: Date; onProgress?: (done: number) => void },
): Promise<{ rows: number; start: Date; end: Date }> {
  const plan = planTraffic(options);
  let nextChunk = 0;
  let done = 0;
  const worker = async () => {
    const conn = await pool.getConnection();
    try {
      for (let chunk = nextChunk++; chunk < plan.chunks; chunk = nextChunk++) {
        const rows = generateTrafficChunk(plan, chunk);
        await writeChunk(conn, rows);
        done += rows.length;
        options.onProgress?.(done);
      }
    } finally {
      conn.release();
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_CONNECTIONS, plan.chunks) }, worker));
  return { rows: plan.rows, start: new Date(plan.start), end: new Date(plan.end) };
}
