/**
 * Backend queries (issue 2, "Benchmarks"): the real handler called in-process against 1,000,000
 * seeded rows over 30 days (schema and rollups as `db init` makes them), p50/p95 per intent; then
 * the same calls against a copy of the table with only its primary key (no rollups), and the ratio. Also prints EXPLAIN for the statements the main intents
 * send. The seeded data directory is cached under bench/.cache/ and reused while the rows' schema
 * and the seeding parameters are unchanged; a cached database gets new or changed rollup tables
 * the way `db init` gives them to a deployed one (classification, then backfill), timed.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { classifyUnclassifiedRows } from '../src/db/agent-backfill.js';
import { backfillRollups, buildResponseTimes } from '../src/db/rollup-maintenance.js';
import { applySchema } from '../src/db/schema.js';
import { seedTraffic } from '../src/db/seed.js';
import { startMariaDb } from '../src/db/server.js';
import { Database } from '../src/lambda/database.js';
import { createHandler } from '../src/lambda/index.js';
import { findIntent, INTENTS } from '../src/lambda/intents/index.js';
import { parseParams } from '../src/lambda/params.js';
import { ms, percentile } from './timing.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
/**
 * BENCH_PK=0 skips the primary-key-only copy and its calls: at 10,000,000 rows the copy and the
 * full scans each of its calls makes (seconds to minutes each) would take longer than the rest.
 */
const WITH_PK = process.env.BENCH_PK !== '0';
/** Timed calls per windowed scenario (others a third as many, at least 3): fewer for a quick or 10M run. */
const CALLS = Number(process.env.BENCH_CALLS ?? 40);
/** BENCH_ONLY: a regular expression; only the scenarios whose label matches are measured. */
const ONLY = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
const DAYS = 30;
const SEED = 1;
/** The seeded traffic ends here, and the handler's clock says it is this moment. */
const END = new Date('2026-01-01T00:00:00.000Z');
const HOT_IP = '192.168.1.1';

const root = fileURLToPath(new URL('..', import.meta.url));
const cacheDir = join(
  root,
  'bench',
  '.cache',
  ROWS === 1_000_000 ? 'lambda-mariadb' : `lambda-mariadb-${ROWS}`,
);
const schemaSql = readFileSync(join(root, 'templates', 'schema.sql'), 'utf8');
const fingerprint = createHash('sha256')
  .update(
    JSON.stringify({
      schemaSql,
      ROWS,
      DAYS,
      SEED,
      END,
    }),
  )
  .digest('hex');

/** 30 days less a few hours, starting and ending off the hour. */
const RAGGED = {
  start_time: new Date(END.getTime() - 30 * 86_400_000 + (7 * 60 + 13) * 60_000).toISOString(),
  end_time: new Date(END.getTime() - (2 * 60 + 47) * 60_000).toISOString(),
};

interface Scenario {
  label: string;
  intent: string;
  params: Record<string, unknown>;
  /** Whether the target compares against the primary-key-only table (windowed intents). */
  windowed: boolean;
  target?: string;
}

const SCENARIOS: Scenario[] = [
  {
    label: 'get_access_logs by IP (24h)',
    intent: 'get_access_logs',
    params: { ip_address: HOT_IP },
    windowed: true,
    target: 'p50 <= 5 ms',
  },
  {
    label: 'get_access_logs by IP (all time)',
    intent: 'get_access_logs',
    params: { ip_address: HOT_IP, all_time: true },
    windowed: false,
  },
  { label: 'get_access_logs (24h, no filter)', intent: 'get_access_logs', params: {}, windowed: true },
  {
    label: 'get_access_logs endpoint_prefix /api/ (24h)',
    intent: 'get_access_logs',
    params: { endpoint_prefix: '/api/' },
    windowed: true,
  },
  {
    label: 'get_access_logs method+status (24h)',
    intent: 'get_access_logs',
    params: { method: 'POST', status_code: 201 },
    windowed: true,
  },
  { label: 'get_error_logs (24h)', intent: 'get_error_logs', params: {}, windowed: true },
  {
    label: 'get_traffic_summary (24h)',
    intent: 'get_traffic_summary',
    params: {},
    windowed: true,
    target: 'p50 <= 60 ms',
  },
  {
    label: 'get_traffic_summary (7 days)',
    intent: 'get_traffic_summary',
    params: { hours: 168 },
    windowed: true,
  },
  {
    label: 'get_traffic_summary (all time)',
    intent: 'get_traffic_summary',
    params: { all_time: true },
    windowed: false,
    target: 'p50 <= 600 ms',
  },
  {
    label: 'get_ip_activity (24h)',
    intent: 'get_ip_activity',
    params: { ip_address: HOT_IP },
    windowed: true,
  },
  {
    label: 'get_ip_activity (all time)',
    intent: 'get_ip_activity',
    params: { ip_address: HOT_IP, all_time: true },
    windowed: false,
  },
  { label: 'get_endpoint_stats (24h)', intent: 'get_endpoint_stats', params: {}, windowed: true },
  {
    label: 'get_traffic_timeseries hour (24h)',
    intent: 'get_traffic_timeseries',
    params: {},
    windowed: true,
  },
  {
    label: 'get_traffic_timeseries day (30 days)',
    intent: 'get_traffic_timeseries',
    params: { interval: 'day', hours: 720 },
    windowed: true,
  },
  // Issue 15: the questions about who visits, 24h and 30 days (not_found and referrers read rows,
  // the others rollups and the window's edges from rows). `bots` filters read the rollups' twins.
  {
    label: 'get_traffic_summary bots=exclude (24h)',
    intent: 'get_traffic_summary',
    params: { bots: 'exclude' },
    windowed: true,
  },
  {
    label: 'get_traffic_summary bots=exclude (30 days)',
    intent: 'get_traffic_summary',
    params: { bots: 'exclude', hours: 720 },
    windowed: true,
  },
  {
    label: 'get_endpoint_stats bots=only (7 days)',
    intent: 'get_endpoint_stats',
    params: { bots: 'only', hours: 168 },
    windowed: true,
  },
  { label: 'get_not_found (24h)', intent: 'get_not_found', params: {}, windowed: true },
  { label: 'get_visitors (24h)', intent: 'get_visitors', params: {}, windowed: true },
  { label: 'get_visitors (30 days)', intent: 'get_visitors', params: { hours: 720 }, windowed: true },
  { label: 'get_not_found (30 days)', intent: 'get_not_found', params: { hours: 720 }, windowed: true },
  { label: 'get_referrers (24h)', intent: 'get_referrers', params: {}, windowed: true },
  { label: 'get_referrers (30 days)', intent: 'get_referrers', params: { hours: 720 }, windowed: true },
  { label: 'get_user_agents (24h)', intent: 'get_user_agents', params: {}, windowed: true },
  { label: 'get_user_agents (30 days)', intent: 'get_user_agents', params: { hours: 720 }, windowed: true },
  { label: 'get_bandwidth (24h)', intent: 'get_bandwidth', params: {}, windowed: true },
  { label: 'get_bandwidth (30 days)', intent: 'get_bandwidth', params: { hours: 720 }, windowed: true },
  // The clock is a UTC midnight, so the windows above are whole hours and days: these have
  // ragged edges, read from the rows.
  { label: 'get_not_found (30 days, ragged)', intent: 'get_not_found', params: RAGGED, windowed: true },
  { label: 'get_referrers (30 days, ragged)', intent: 'get_referrers', params: RAGGED, windowed: true },
  {
    label: 'get_not_found bots=exclude (24h)',
    intent: 'get_not_found',
    params: { bots: 'exclude' },
    windowed: true,
  },
  {
    label: 'get_referrers bots=only (24h)',
    intent: 'get_referrers',
    params: { bots: 'only' },
    windowed: true,
  },
  { label: 'health', intent: 'health', params: {}, windowed: false },
];

/** The private server's administrative login (its password is new on every start). */
type Login = { port: number; user: string; password: string };

async function prepareData({ port, user, password }: Login): Promise<void> {
  const admin = await mysql.createConnection({
    host: '127.0.0.1',
    port,
    user,
    password,
    multipleStatements: true,
  });
  const marker = join(cacheDir, 'seeded.json');
  const cached = existsSync(marker) ? JSON.parse(readFileSync(marker, 'utf8')) : undefined;
  // A cache made without the primary-key-only copy serves only runs that skip it.
  const seeded = cached?.fingerprint === fingerprint && (cached.pk !== false || !WITH_PK);
  if (!seeded) {
    console.log(`seeding ${ROWS.toLocaleString('en')} rows over ${DAYS} days (cached for later runs) ...`);
    const started = performance.now();
    await admin.query(
      'DROP DATABASE IF EXISTS bench; DROP DATABASE IF EXISTS bench_pk; CREATE DATABASE bench; CREATE DATABASE bench_pk',
    );
    const pool = mysql.createPool({
      host: '127.0.0.1',
      port,
      user,
      password,
      database: 'bench',
      connectionLimit: 2,
      timezone: 'Z',
    });
    // The schema as `db init` makes it, rollups included: the indexed side reads them.
    await applySchema(pool);
    let last = 0;
    await seedTraffic(pool, {
      rows: ROWS,
      days: DAYS,
      seed: SEED,
      end: END,
      onProgress: (done) => {
        if (done - last >= 200_000) {
          last = done;
          console.log(`  ${done.toLocaleString('en')} rows`);
        }
      },
    });
    await pool.end();
    console.log(
      `seeded in ${((performance.now() - started) / 1000).toFixed(1)} s${WITH_PK ? '; copying to a primary-key-only table ...' : ''}`,
    );
    if (!WITH_PK) {
      await admin.query('ANALYZE TABLE bench.access_logs');
      writeFileSync(marker, JSON.stringify({ fingerprint, rows: ROWS, end: END.toISOString(), pk: false }));
      await admin.end();
      return;
    }
    // The same rows in a table with only its primary key, under the same name in another database.
    await admin.query('CREATE TABLE bench_pk.access_logs LIKE bench.access_logs');
    const [indexes] = await admin.query<mysql.RowDataPacket[]>(
      "SELECT DISTINCT index_name FROM information_schema.statistics WHERE table_schema = 'bench_pk' AND table_name = 'access_logs' AND index_name <> 'PRIMARY'",
    );
    for (const { index_name } of indexes)
      await admin.query(`ALTER TABLE bench_pk.access_logs DROP INDEX \`${index_name}\``);
    await admin.query('INSERT INTO bench_pk.access_logs SELECT * FROM bench.access_logs');
    await admin.query('ANALYZE TABLE bench.access_logs, bench_pk.access_logs');
    writeFileSync(marker, JSON.stringify({ fingerprint, rows: ROWS, end: END.toISOString() }));
  } else {
    console.log(`using the cached ${ROWS.toLocaleString('en')}-row database in bench/.cache/`);
  }
  await admin.end();
  await upgradeCached({ port, user, password });
}

/** A pool on the indexed database, in UTC. */
const benchPool = ({ port, user, password }: Login) =>
  mysql.createPool({ host: '127.0.0.1', port, user, password, database: 'bench', timezone: 'Z' });

/**
 * A cached database made before a rollup table was added or changed gets it as a deployed one
 * does from `db init`: the schema applied, unclassified rows classified, new tables backfilled.
 * Then the per-day response-time counts `db rollup --percentiles` keeps (get_endpoint_stats' p95).
 * Nothing to do is the usual case and costs a few queries.
 */
async function upgradeCached(login: Login): Promise<void> {
  const pool = benchPool(login);
  try {
    const started = performance.now();
    const { created } = await applySchema(pool);
    const classified = await classifyUnclassifiedRows(pool);
    const backfilled = await backfillRollups(pool, {
      onProgress: (p) => {
        if (p.done === 0)
          console.log(`backfilling ${p.tables.join(', ')} over ${p.total.toLocaleString('en')} ids ...`);
      },
    });
    const percentiles = await buildResponseTimes(pool, { now: END });
    const done = [
      ...created,
      ...(classified.rows > 0 ? [`${classified.rows.toLocaleString('en')} rows classified`] : []),
      ...backfilled.tables.map((t) => `${t} backfilled`),
      ...(percentiles.days > 0
        ? [`response times of ${percentiles.paths} paths over ${percentiles.days} days counted`]
        : []),
    ];
    if (done.length > 0)
      console.log(
        `brought the database up to date in ${((performance.now() - started) / 1000).toFixed(1)} s: ${done.join('; ')}`,
      );
  } finally {
    await pool.end();
  }
}

/**
 * p50/p95 of the handler answering one scenario, after warm-up calls. A call that does not answer
 * 200 is counted and reported, not timed (the figures then say so rather than stopping the run).
 */
function timer(handler: ReturnType<typeof createHandler>, scenario: Scenario) {
  const times: number[] = [];
  let failures = 0;
  return {
    async call(timed: boolean) {
      const started = performance.now();
      const answer = await handler({ intent: scenario.intent, params: scenario.params });
      if (answer.statusCode !== 200) failures++;
      else if (timed) times.push(performance.now() - started);
    },
    result() {
      const sorted = [...times].sort((a, b) => a - b);
      return { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), failures };
    },
  };
}

/**
 * Both tables measured in turns (one PK-only call after every few indexed ones), so the ratio
 * compares figures taken under the same machine load: this 2-core machine is shared.
 */
async function measure(
  indexed: ReturnType<typeof createHandler>,
  pkOnly: ReturnType<typeof createHandler> | undefined,
  scenario: Scenario,
  iterations: number,
  pkIterations: number,
) {
  const fast = timer(indexed, scenario);
  const slow = pkOnly ? timer(pkOnly, scenario) : undefined;
  for (let i = 0; i < Math.min(3, Math.ceil(iterations / 4)); i++) await fast.call(false);
  await slow?.call(false);
  const every = Math.max(1, Math.floor(iterations / pkIterations));
  for (let i = 0; i < iterations; i++) {
    await fast.call(true);
    if (slow && i % every === every - 1) await slow.call(true);
  }
  return { fast: fast.result(), slow: slow?.result() };
}

async function explainMainQueries({ port, user, password }: Login): Promise<void> {
  const pool = benchPool({ port, user, password });
  const statements: { sql: string; values: unknown[] }[] = [];
  const db = new Database({
    credentials: async () => ({ host: '127.0.0.1', port, user, password, database: 'bench' }),
    ssl: false,
    queryTimeoutMs: 60000,
    onStatement: (sql, values) => statements.push({ sql, values }),
  });
  const ctx = { now: END, cursorKey: async () => Buffer.alloc(32), intents: INTENTS, maxQueryLimit: 1000 };
  console.log('\nEXPLAIN of the statements the main intents send (indexed table):');
  for (const scenario of SCENARIOS.filter(
    (s) =>
      (s.target || s.intent === 'get_endpoint_stats' || s.intent === 'get_error_logs') &&
      (!ONLY || ONLY.test(s.label)),
  )) {
    const intent = findIntent(scenario.intent)!;
    statements.length = 0;
    // A statement past the timeout (a large table) costs this scenario its plan, not the run its figures.
    const failed = await intent
      .run(db, parseParams(intent.params, scenario.params, ctx), ctx)
      .then(() => '')
      .catch((err: Error) => ` (the call failed: ${err.message}; the statements sent before it)`);
    console.log(`  ${scenario.label}:${failed}`);
    for (const { sql, values } of statements) {
      const [plan] = await pool.execute<mysql.RowDataPacket[]>(`EXPLAIN ${sql}`, values as never[]);
      for (const row of plan)
        console.log(
          `    ${sql.replace(/\s+/g, ' ').slice(0, 70)}...\n      key=${row.key} type=${row.type} rows=${row.rows} extra=${row.Extra ?? ''}`,
        );
    }
  }
  await db.close();
  await pool.end();
}

export async function run(): Promise<void> {
  mkdirSync(cacheDir, { recursive: true });
  const benchStarted = performance.now();
  // Reuse the cached data directory; a stale pid file from an interrupted run is harmless to mariadbd.
  // (Its temporary tables go under the cache folder too: startMariaDb passes --tmpdir.)
  const server = await startMariaDb({ baseDir: cacheDir, keep: true, timeoutMs: 120000 });
  try {
    await prepareData(server);
    const env = (database: string) => ({
      DB_HOST: '127.0.0.1',
      DB_PORT: String(server.port),
      DB_NAME: database,
      DB_USER: server.user,
      DB_PASSWORD: server.password,
      API_KEYS: 'bench',
      QUERY_TIMEOUT_MS: '120000',
      LOG_LEVEL: 'ERROR',
    });
    const indexed = createHandler({ env: env('bench'), now: () => END, log: (line) => console.error(line) });
    const pkOnly = createHandler({
      env: env('bench_pk'),
      now: () => END,
      log: (line) => console.error(line),
    });

    const load = () =>
      loadavg()
        .map((l) => l.toFixed(2))
        .join(' ');
    console.log(`\n${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}); load average before: ${load()}`);
    console.log(
      `\n${'scenario'.padEnd(46)} ${'p50'.padStart(10)} ${'p95'.padStart(10)}  ${'PK-only p50'.padStart(12)}  ratio   target`,
    );
    for (const scenario of SCENARIOS.filter((s) => !ONLY || ONLY.test(s.label))) {
      const { fast, slow } = await measure(
        indexed,
        scenario.intent === 'health' || !WITH_PK ? undefined : pkOnly,
        scenario,
        scenario.windowed ? CALLS : Math.max(3, Math.round((CALLS * 15) / 40)),
        5,
      );
      const ratio = slow ? `${(slow.p50 / fast.p50).toFixed(1)}x` : '';
      const failed = fast.failures + (slow?.failures ?? 0);
      console.log(
        `${scenario.label.padEnd(46)} ${ms(fast.p50).padStart(10)} ${ms(fast.p95).padStart(10)}  ${(slow ? ms(slow.p50) : '').padStart(12)}  ${ratio.padStart(6)}   ${scenario.target ?? ''}${failed > 0 ? `  (${failed} calls failed, see the log lines above)` : ''}`,
      );
    }
    console.log(`load average after: ${load()}`);
    await indexed.close();
    await pkOnly.close();
    await explainMainQueries(server);
  } finally {
    await server.stop();
    rmSync(join(cacheDir, 'mariadb.pid'), { force: true });
  }
  console.log(`\nlambda bench took ${((performance.now() - benchStarted) / 1000).toFixed(0)} s`);
}
