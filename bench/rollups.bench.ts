/**
 * `npm run bench -- rollups` (issue 9): the aggregate intents on 10,000,000 rows over 90 days,
 * read through the rollups, against today's path (the same rows in a table with the old wide
 * covering idx_timestamp and no rollups: every aggregate scans rows), with the ratio; the same at
 * 1,000,000 rows, to show how each path grows; `db prune` of 30 of the 90 days while 4 clients
 * call get_access_logs (their p99, the prune's rows/s), then the same prune against a table
 * partitioned by day (DROP PARTITION), on 1,000,000 rows.
 *
 * The seeded databases are cached under bench/.cache/rollups-mariadb/ (seeding 10M rows takes
 * tens of minutes on a small machine: the time is printed, and kept for later runs). The prune
 * deletes from the cached data, so the deleted days are saved first and put back after.
 * BENCH_BIG_ROWS and BENCH_SMALL_ROWS change the sizes (a quicker trial run); BENCH_SKIP=prune,partition
 * skips parts.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { pruneAccessLogs, pruneCutoff } from '../src/db/prune.js';
import { buildResponseTimes } from '../src/db/rollup-maintenance.js';
import { applySchema, readSchemaSql } from '../src/db/schema.js';
import { seedTraffic } from '../src/db/seed.js';
import { startMariaDb } from '../src/db/server.js';
import { type BackendHandler, createHandler } from '../src/lambda/index.js';
import {
  RESPONSE_TIMES_TABLE,
  ROLLUP_TABLES,
  rollupTableName,
  rollupTableSql,
} from '../src/lambda/rollup-tables.js';
import { machineLoad, ms, percentile } from './timing.js';

const BIG = Number(process.env.BENCH_BIG_ROWS ?? 10_000_000);
const SMALL = Number(process.env.BENCH_SMALL_ROWS ?? 1_000_000);
const DAYS = 90;
const SEED = 1;
const END = new Date('2026-01-01T00:00:00.000Z');
const HOT_IP = '192.168.1.1';
const SKIP = new Set((process.env.BENCH_SKIP ?? '').split(',').filter(Boolean));
/** The buffer pool for 10M rows: a small RDS instance (4 GB) gives MariaDB about this much. */
const BUFFER_POOL = '2G';

const root = fileURLToPath(new URL('..', import.meta.url));
const cacheDir = join(root, 'bench', '.cache', 'rollups-mariadb');
const marker = join(cacheDir, 'seeded.json');
/** Today's (before rollups) idx_timestamp: covering for the aggregates that scanned rows. */
const WIDE_INDEX =
  'KEY idx_timestamp (`timestamp`, id, status_code, response_time_ms, method, ip_address, endpoint)';
const schemaSql = readSchemaSql();
const todaySchemaSql = schemaSql.replace(/KEY idx_timestamp \([^)]*\)/, WIDE_INDEX);
const fingerprint = createHash('sha256')
  .update(
    JSON.stringify({
      schemaSql,
      rollups: ROLLUP_TABLES.map((d) => [rollupTableSql(d), d.grains]),
      BIG,
      SMALL,
      DAYS,
      SEED,
      END,
    }),
  )
  .digest('hex');

interface Seeded {
  fingerprint: string;
  seconds: Record<string, number>;
  /** Set while the prune bench has days of the big table set aside (a crash there means reseed). */
  pruning?: boolean;
}

const sizes = [
  { name: 'big', rows: BIG },
  { name: 'small', rows: SMALL },
];

type Admin = mysql.Connection;
/** The private server's administrative login over TCP (its password is new on every start). */
type Login = { port: number; user: string; password: string };

/** A pool on one of the bench's databases, logged in as the administrator. */
function poolOn({ port, user, password }: Login, database: string): mysql.Pool {
  return mysql.createPool({
    host: '127.0.0.1',
    port,
    user,
    password,
    database,
    timezone: 'Z',
    connectionLimit: 2,
  });
}

async function seed(admin: Admin, login: Login): Promise<Record<string, number>> {
  const seconds: Record<string, number> = {};
  for (const size of sizes) {
    const db = `r_${size.name}`;
    await admin.query(
      `DROP DATABASE IF EXISTS ${db}; DROP DATABASE IF EXISTS t_${size.name}; CREATE DATABASE ${db}`,
    );
    const pool = poolOn(login, db);
    await applySchema(pool);
    console.log(
      `seeding ${size.rows.toLocaleString('en')} rows over ${DAYS} days into ${db}, rollups kept by the writer ...`,
    );
    const started = performance.now();
    let last = 0;
    await seedTraffic(pool, {
      rows: size.rows,
      days: DAYS,
      seed: SEED,
      end: END,
      onProgress: (done) => {
        if (done - last >= 1_000_000) {
          last = done;
          console.log(
            `  ${done.toLocaleString('en')} rows, ${((performance.now() - started) / 1000).toFixed(0)} s, ${machineLoad()}`,
          );
        }
      },
    });
    seconds[db] = (performance.now() - started) / 1000;
    await pool.end();
    console.log(
      `  seeded in ${seconds[db]?.toFixed(0)} s; copying to t_${size.name} (today's schema, no rollups) ...`,
    );
    const copyStarted = performance.now();
    await admin.query(`CREATE DATABASE t_${size.name}; USE t_${size.name}; ${todaySchemaSql}`);
    await admin.query(`INSERT INTO t_${size.name}.access_logs SELECT * FROM ${db}.access_logs`);
    await admin.query(`ANALYZE TABLE t_${size.name}.access_logs, ${db}.access_logs`);
    seconds[`t_${size.name}`] = (performance.now() - copyStarted) / 1000;
  }
  return seconds;
}

function handlerFor({ port, user, password }: Login, database: string, now: Date): BackendHandler {
  return createHandler({
    env: {
      DB_HOST: '127.0.0.1',
      DB_PORT: String(port),
      DB_NAME: database,
      DB_USER: user,
      DB_PASSWORD: password,
      API_KEYS: 'bench',
      QUERY_TIMEOUT_MS: '28000',
      LOG_LEVEL: 'ERROR',
    },
    now: () => now,
    log: (line) => console.error(line),
  });
}

/** Latencies of repeated calls after `warm` untimed ones; failed calls are counted, not timed. */
async function time(
  handler: BackendHandler,
  intent: string,
  params: Record<string, unknown>,
  calls: number,
  warm = 2,
) {
  const times: number[] = [];
  let failures = 0;
  for (let i = 0; i < warm + calls; i++) {
    const started = performance.now();
    const answer = await handler({ intent, params });
    const took = performance.now() - started;
    if (answer.statusCode !== 200) failures++;
    else if (i >= warm) times.push(took);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p95: percentile(times, 0.95), failures };
}

interface Scenario {
  label: string;
  intent: string;
  params: Record<string, unknown>;
  /** p50 target in ms, on the big table through the rollups. */
  target?: number;
  /** Clock of the call: END (whole hours) unless given (ragged window edges). */
  now?: Date;
}

const RAGGED_NOW = new Date(END.getTime() - (17 * 60 + 23) * 1000 - 456);
const SCENARIOS: Scenario[] = [
  {
    label: 'get_traffic_summary all time',
    intent: 'get_traffic_summary',
    params: { all_time: true },
    target: 50,
  },
  { label: 'get_traffic_summary 24 h', intent: 'get_traffic_summary', params: {}, target: 15 },
  { label: 'get_traffic_summary 7 days', intent: 'get_traffic_summary', params: { hours: 168 }, target: 30 },
  {
    label: 'get_traffic_timeseries day, 90 days',
    intent: 'get_traffic_timeseries',
    params: { interval: 'day', hours: 2160 },
    target: 30,
  },
  { label: 'get_endpoint_stats 7 days', intent: 'get_endpoint_stats', params: { hours: 168 }, target: 100 },
  {
    label: 'get_access_logs by IP 24 h',
    intent: 'get_access_logs',
    params: { ip_address: HOT_IP },
    target: 5,
  },
  {
    label: 'get_traffic_summary 24 h, ragged edges',
    intent: 'get_traffic_summary',
    params: {},
    now: RAGGED_NOW,
  },
  {
    label: 'get_traffic_summary 7 days, ragged edges',
    intent: 'get_traffic_summary',
    params: { hours: 168 },
    now: RAGGED_NOW,
  },
  { label: 'get_endpoint_stats 24 h', intent: 'get_endpoint_stats', params: {} },
  { label: 'get_traffic_timeseries hour, 24 h', intent: 'get_traffic_timeseries', params: {} },
  { label: 'get_ip_activity 24 h', intent: 'get_ip_activity', params: { ip_address: HOT_IP } },
  {
    label: 'get_ip_activity all time',
    intent: 'get_ip_activity',
    params: { ip_address: HOT_IP, all_time: true },
  },
];

async function measureScenarios(login: Login): Promise<void> {
  console.log(`\nintents on ${BIG.toLocaleString('en')} rows over ${DAYS} days (${machineLoad()} before)`);
  console.log(
    `${'scenario'.padEnd(44)} ${'rollups p50'.padStart(12)} ${'p95'.padStart(10)}  ${"today's p50".padStart(12)} ${'ratio'.padStart(7)}  target`,
  );
  for (const s of SCENARIOS) {
    const now = s.now ?? END;
    const fast = handlerFor(login, 'r_big', now);
    const slow = handlerFor(login, 't_big', now);
    const a = await time(fast, s.intent, s.params, 20);
    const b = await time(slow, s.intent, s.params, 3, 1);
    await fast.close();
    await slow.close();
    const verdict =
      s.target === undefined ? '' : `p50 <= ${s.target} ms: ${a.p50 <= s.target ? 'met' : 'MISSED'}`;
    const failed = a.failures + b.failures > 0 ? `  (${a.failures}/${b.failures} calls failed)` : '';
    console.log(
      `${s.label.padEnd(44)} ${ms(a.p50).padStart(12)} ${ms(a.p95).padStart(10)}  ${ms(b.p50).padStart(12)} ${`${(b.p50 / a.p50).toFixed(0)}x`.padStart(7)}  ${verdict}${failed}`,
    );
  }
  console.log(`(${machineLoad()} after)`);
}

async function measureGrowth(login: Login): Promise<void> {
  const big = `${BIG / 1e6}M`;
  const small = `${SMALL / 1e6}M`;
  console.log(`\nget_traffic_summary all time, ${small} -> ${big} rows (same 90 days):`);
  const results: Record<string, number> = {};
  for (const [label, db] of [
    [`rollups, ${small}`, 'r_small'],
    [`rollups, ${big}`, 'r_big'],
    [`today's path, ${small}`, 't_small'],
    [`today's path, ${big}`, 't_big'],
  ] as const) {
    const handler = handlerFor(login, db, END);
    const r = await time(handler, 'get_traffic_summary', { all_time: true }, db.startsWith('r') ? 20 : 3, 1);
    await handler.close();
    results[db] = r.p50;
    console.log(`  ${label.padEnd(22)} p50 ${ms(r.p50)}`);
  }
  console.log(
    `  growth: rollups ${((results.r_big ?? 0) / (results.r_small ?? 1)).toFixed(1)}x, today's path ${((results.t_big ?? 0) / (results.t_small ?? 1)).toFixed(1)}x (rows grew ${(BIG / SMALL).toFixed(0)}x)`,
  );
}

/** Four clients calling get_access_logs until `done` says stop; every latency kept. */
function accessLogClients(login: Login, database: string, done: () => boolean) {
  const latencies: number[] = [];
  let failures = 0;
  const requests = [
    { ip_address: HOT_IP },
    { ip_address: HOT_IP, all_time: true },
    {},
    { endpoint_prefix: '/api/' },
  ];
  const run = Promise.all(
    requests.map(async (params) => {
      const handler = handlerFor(login, database, END);
      await handler({ intent: 'get_access_logs', params });
      while (!done()) {
        const started = performance.now();
        const answer = await handler({ intent: 'get_access_logs', params });
        latencies.push(performance.now() - started);
        if (answer.statusCode !== 200) failures++;
      }
      await handler.close();
    }),
  );
  return {
    finished: run,
    summary() {
      const sorted = [...latencies].sort((a, b) => a - b);
      return `${latencies.length} calls, p50 ${ms(percentile(sorted, 0.5))}, p99 ${ms(percentile(sorted, 0.99))}${failures ? `, ${failures} failed` : ''}`;
    },
  };
}

async function baselineClients(login: Login, database: string, seconds: number): Promise<string> {
  const until = performance.now() + seconds * 1000;
  const clients = accessLogClients(login, database, () => performance.now() > until);
  await clients.finished;
  return clients.summary();
}

async function measurePrune(admin: Admin, login: Login, seeded: Seeded): Promise<void> {
  const cutoff = pruneCutoff(END, DAYS - 30);
  const tables = ['access_logs', ...ROLLUP_TABLES.map(rollupTableName), RESPONSE_TIMES_TABLE];
  const timeColumn = (t: string) =>
    t === 'access_logs' ? '`timestamp`' : t === RESPONSE_TIMES_TABLE ? 'day' : 'bucket';
  console.log(
    `\ndb prune of 30 of the ${DAYS} days (rows before ${cutoff.toISOString()}) on r_big, 4 clients calling get_access_logs:`,
  );
  // Set the days aside first, so the cache can be put back as it was.
  writeFileSync(marker, JSON.stringify({ ...seeded, pruning: true }));
  await admin.query('USE r_big');
  for (const t of tables) {
    await admin.query(`DROP TABLE IF EXISTS saved_${t}`);
    await admin.query(`CREATE TABLE saved_${t} AS SELECT * FROM ${t} WHERE ${timeColumn(t)} < ?`, [cutoff]);
  }
  console.log(`  without a prune: ${await baselineClients(login, 'r_big', 15)}`);
  const pool = poolOn(login, 'r_big');
  const pruned = await withClients(login, 'r_big', () =>
    pruneAccessLogs(pool, { olderThanDays: DAYS - 30, now: END }),
  );
  await pool.end();
  const report = pruned.result;
  console.log(
    `  prune: ${report.rows.toLocaleString('en')} rows and ${report.rollupRows.toLocaleString('en')} rollup rows in ${pruned.seconds.toFixed(1)} s, ${Math.round(report.rows / pruned.seconds).toLocaleString('en')} rows/s (${machineLoad()})`,
  );
  console.log(`  during the prune (and a second either side): ${pruned.clients}`);
  console.log('  putting the pruned days back ...');
  for (const t of tables) {
    // The week holding the cutoff was counted again by the prune: the saved row replaces it.
    if (t !== 'access_logs') await admin.query(`DELETE FROM ${t} WHERE ${timeColumn(t)} < ?`, [cutoff]);
    await admin.query(`INSERT INTO ${t} SELECT * FROM saved_${t}`);
    await admin.query(`DROP TABLE saved_${t}`);
  }
  writeFileSync(marker, JSON.stringify({ ...seeded, pruning: false }));
}

/** Run `operation` while the four clients call, from a second before it until a second after. */
async function withClients<T>(login: Login, database: string, operation: () => Promise<T>) {
  let running = true;
  const clients = accessLogClients(login, database, () => !running);
  await new Promise((r) => setTimeout(r, 1000));
  const started = performance.now();
  try {
    const result = await operation();
    const seconds = (performance.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, 1000));
    running = false;
    await clients.finished;
    return { result, seconds, clients: clients.summary() };
  } finally {
    running = false;
    await clients.finished;
  }
}

/** The same prune on 1M rows: batched DELETEs against DROP PARTITION on a table partitioned by day. */
async function measurePartitions(admin: Admin, login: Login): Promise<void> {
  const cutoff = pruneCutoff(END, DAYS - 30);
  console.log(
    `\n30 of ${DAYS} days out of ${SMALL.toLocaleString('en')} rows: batched DELETE against DROP PARTITION`,
  );
  // Batched deletes on a copy with rollups.
  await admin.query('DROP DATABASE IF EXISTS p_delete; CREATE DATABASE p_delete');
  const pool = poolOn(login, 'p_delete');
  await applySchema(pool);
  let started = performance.now();
  await admin.query('INSERT INTO p_delete.access_logs SELECT * FROM r_small.access_logs');
  const copyDelete = (performance.now() - started) / 1000;
  for (const t of ROLLUP_TABLES.map(rollupTableName))
    await admin.query(`INSERT INTO p_delete.${t} SELECT * FROM r_small.${t}`);
  const deleted = await withClients(login, 'p_delete', () =>
    pruneAccessLogs(pool, { olderThanDays: DAYS - 30, now: END }),
  );
  await pool.end();
  console.log(
    `  batched DELETE: ${deleted.result.rows.toLocaleString('en')} rows in ${deleted.seconds.toFixed(2)} s; clients ${deleted.clients}; copy in ${copyDelete.toFixed(1)} s`,
  );

  // A table partitioned by day: the partition column must be in every unique key, so the primary
  // key becomes (id, timestamp).
  await admin.query('DROP DATABASE IF EXISTS p_part; CREATE DATABASE p_part');
  const partitioned = schemaSql
    .replace('PRIMARY KEY (id)', 'PRIMARY KEY (id, `timestamp`)')
    .replace(/\) ENGINE = InnoDB([^;]*);/, (_m, rest) => {
      const parts: string[] = [];
      for (let d = END.getTime() - DAYS * 86_400_000; d <= END.getTime(); d += 86_400_000) {
        const name = new Date(d).toISOString().slice(0, 10).replace(/-/g, '');
        parts.push(
          `PARTITION p${name} VALUES LESS THAN ('${new Date(d + 86_400_000).toISOString().slice(0, 10)}')`,
        );
      }
      return `) ENGINE = InnoDB${rest} PARTITION BY RANGE COLUMNS(\`timestamp\`) (${parts.join(', ')}, PARTITION pmax VALUES LESS THAN (MAXVALUE));`;
    });
  await admin.query(`USE p_part; ${partitioned}`);
  started = performance.now();
  await admin.query('INSERT INTO p_part.access_logs SELECT * FROM r_small.access_logs');
  const copyPart = (performance.now() - started) / 1000;
  const [names] = await admin.query<mysql.RowDataPacket[]>(
    "SELECT PARTITION_NAME AS p FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = 'p_part' AND TABLE_NAME = 'access_logs' AND PARTITION_DESCRIPTION <= ? AND PARTITION_NAME <> 'pmax'",
    [`'${cutoff.toISOString().slice(0, 10)}'`],
  );
  const [[counted]] = (await admin.query(
    'SELECT COUNT(*) AS n FROM p_part.access_logs WHERE `timestamp` < ?',
    [cutoff],
  )) as unknown as [{ n: number }[]];
  const dropped = await withClients(login, 'p_part', () =>
    admin.query(`ALTER TABLE p_part.access_logs DROP PARTITION ${names.map((r) => r.p).join(', ')}`),
  );
  console.log(
    `  DROP PARTITION (${names.length} days): ${Number(counted?.n).toLocaleString('en')} rows in ${dropped.seconds.toFixed(2)} s; clients ${dropped.clients}; copy in ${copyPart.toFixed(1)} s`,
  );
  await admin.query('DROP DATABASE p_delete; DROP DATABASE p_part');
}

export async function run(): Promise<void> {
  mkdirSync(cacheDir, { recursive: true });
  const benchStarted = performance.now();
  const server = await startMariaDb({
    baseDir: cacheDir,
    keep: true,
    timeoutMs: 300000,
    bufferPoolSize: BUFFER_POOL,
  });
  try {
    const admin = await mysql.createConnection({
      host: '127.0.0.1',
      port: server.port,
      user: server.user,
      password: server.password,
      multipleStatements: true,
      timezone: 'Z',
    });
    let seeded: Seeded | undefined = existsSync(marker)
      ? JSON.parse(readFileSync(marker, 'utf8'))
      : undefined;
    if (seeded?.fingerprint !== fingerprint || seeded.pruning) {
      console.log(`${machineLoad()}; seeding (cached for later runs) ...`);
      seeded = { fingerprint, seconds: await seed(admin, server) };
      writeFileSync(marker, JSON.stringify(seeded));
    } else console.log(`using the cached databases in bench/.cache/ (${machineLoad()})`);
    for (const [db, s] of Object.entries(seeded.seconds))
      console.log(
        `  ${db}: ${db.startsWith('r_') ? 'seeded with rollups' : 'copied'} in ${(s / 60).toFixed(1)} min`,
      );
    // The per-day response times p95 reads (what `db rollup --percentiles` does); quick once built.
    for (const size of sizes) {
      const pool = poolOn(server, `r_${size.name}`);
      await applySchema(pool);
      const started = performance.now();
      const built = await buildResponseTimes(pool, { now: END });
      await pool.end();
      console.log(
        `  r_${size.name}: response times of ${built.paths} busy paths over ${built.days} days counted in ${((performance.now() - started) / 1000).toFixed(0)} s`,
      );
    }
    await measureScenarios(server);
    await measureGrowth(server);
    if (!SKIP.has('prune')) await measurePrune(admin, server, seeded);
    if (!SKIP.has('partition')) await measurePartitions(admin, server);
    await admin.end();
  } finally {
    await server.stop();
    rmSync(join(cacheDir, 'mariadb.pid'), { force: true });
  }
  console.log(`\nrollups bench took ${((performance.now() - benchStarted) / 60000).toFixed(1)} min`);
}
