/**
 * `npm run bench -- db-load`: loading and seeding speed.
 *
 * 1. Writes a 1,000,000-line Combined Log Format file (synthetic traffic, fixed seed, with an
 *    nginx $request_time suffix), starts a private MariaDB, and runs the real CLI
 *    (`chatbot-ops db init` then `db load`) in a child process: lines per second and the
 *    child's peak memory (max RSS, from /usr/bin/time -v), with rollups on, off, and on the schema
 *    before rollups. Targets (issue 9): >= 45,000 lines/s with rollups on, >= 0.9x the speed
 *    without, <= 200 MB.
 * 2. On a 20,000-line sample: loadLogs against one autocommitted INSERT per line, and the ratio.
 * 3. `chatbot-ops db seed --rows 1000000` in a child process.
 * Figures are printed, not asserted. Loopback only; the server and files are removed at the end.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  createWriteStream,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import mysql from 'mysql2/promise';
import { formatCombinedLine, parseLine } from '../src/db/access-log-format.js';
import { insertAccessLogRows } from '../src/db/access-log-row.js';
import { loadLogs } from '../src/db/load.js';
import { applySchema, LOAD_HISTORY_SQL } from '../src/db/schema.js';
import { generateTraffic } from '../src/db/seed.js';
import { type MariaDbServer, startMariaDb } from '../src/db/server.js';
import { classifyUserAgent } from '../src/db/user-agent.js';

const LINES = 1_000_000;
const SAMPLE_LINES = 20_000;
const SEED_ROWS = 1_000_000;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const END = new Date('2026-11-01T00:00:00Z');

export async function writeLogFile(file: string, lines: number, seed: number): Promise<void> {
  const out = createWriteStream(file);
  let chunk = '';
  for (const row of generateTraffic({ rows: lines, days: 30, seed, end: END })) {
    chunk += `${formatCombinedLine(row, { withResponseTime: true })}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

export interface ChildRun {
  code: number | null;
  seconds: number;
  maxRssMb: number | undefined;
  stdout: string;
  stderr: string;
}

/**
 * How to start the real CLI: `node bin/chatbot-ops.js` after `npm run build` (what users run),
 * or from source through tsx when the build fails (other parts of the tree may be mid-change).
 * tsx adds its own start-up memory, so the figures say which one ran.
 */
export function cliCommand(dir: string): { argv: string[]; kind: string } {
  const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, encoding: 'utf8' });
  if (build.status === 0)
    return { argv: [join(ROOT, 'bin/chatbot-ops.js')], kind: 'node bin/chatbot-ops.js (compiled)' };
  const entry = join(dir, 'cli-entry.mjs');
  writeFileSync(
    entry,
    `const { main } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'src/cli/main.ts')).href)});
process.exitCode = await main(process.argv);
`,
  );
  return { argv: ['--import', 'tsx', entry], kind: 'tsx src/cli/main.ts (the build failed)' };
}

/** Run the CLI in a child under /usr/bin/time -v when available (max RSS), else report none. */
export async function runCli(
  cli: { argv: string[] },
  args: string[],
  env: Record<string, string>,
): Promise<ChildRun> {
  const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
  const node = [process.execPath, ...cli.argv, ...args];
  const [cmd, ...argv] = timeBin ? [timeBin, '-v', ...node] : node;
  const started = process.hrtime.bigint();
  const child = spawn(cmd as string, argv, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const kb = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1];
  return { code, seconds, maxRssMb: kb ? Number(kb) / 1024 : undefined, stdout, stderr };
}

function fail(what: string, run: ChildRun): never {
  throw new Error(`${what} failed (exit ${run.code}):\n${run.stderr.slice(-2000)}`);
}

async function sampleComparison(server: MariaDbServer, sampleFile: string): Promise<void> {
  const admin = await mysql.createConnection({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
  });
  await admin.query('CREATE DATABASE bench_sample_batched');
  await admin.query('CREATE DATABASE bench_sample_single');
  await admin.query('CREATE DATABASE bench_sample_insert');
  await admin.end();
  const poolFor = (database: string) =>
    mysql.createPool({
      host: server.host,
      port: server.port,
      user: server.user,
      password: server.password,
      database,
      timezone: 'Z',
      connectionLimit: 2,
    });

  const batchedPool = poolFor('bench_sample_batched');
  await applySchema(batchedPool);
  let t = process.hrtime.bigint();
  const report = await loadLogs(batchedPool, [sampleFile]);
  const batchedS = Number(process.hrtime.bigint() - t) / 1e9;
  await batchedPool.end();

  // The loader with multi-row INSERTs instead of LOAD DATA (what it falls back to when refused).
  const insertPool = poolFor('bench_sample_insert');
  await applySchema(insertPool);
  t = process.hrtime.bigint();
  await loadLogs(insertPool, [sampleFile], { method: 'insert' });
  const insertS = Number(process.hrtime.bigint() - t) / 1e9;
  await insertPool.end();

  // The naive way: parse each line and send one INSERT, autocommitted, per line.
  const singlePool = poolFor('bench_sample_single');
  await applySchema(singlePool);
  await singlePool.query(LOAD_HISTORY_SQL);
  const conn = await singlePool.getConnection();
  const lines = readFileSync(sampleFile, 'utf8').split('\n').filter(Boolean);
  t = process.hrtime.bigint();
  for (const line of lines) {
    const parsed = parseLine(line);
    if (parsed.ok) await insertAccessLogRows(conn, [parsed.row]);
  }
  const singleS = Number(process.hrtime.bigint() - t) / 1e9;
  conn.release();
  await singlePool.end();

  console.log(`sample of ${SAMPLE_LINES.toLocaleString('en-US')} lines (in process):`);
  console.log(
    `  db load (LOAD DATA LOCAL, 2,000-row batches, one transaction): ${batchedS.toFixed(2)} s, ${Math.round(report.loaded / batchedS).toLocaleString('en-US')} lines/s`,
  );
  console.log(
    `  db load with multi-row INSERTs (the fallback):              ${insertS.toFixed(2)} s, ${Math.round(report.loaded / insertS).toLocaleString('en-US')} lines/s`,
  );
  console.log(
    `  one INSERT per line (autocommit):                            ${singleS.toFixed(2)} s, ${Math.round(lines.length / singleS).toLocaleString('en-US')} lines/s`,
  );
  console.log(`  ratio: db load is ${(singleS / batchedS).toFixed(1)}x faster than one INSERT per line`);
}

/**
 * What classifying user agents (src/db/user-agent.ts) costs a writer, in process: the distinct
 * agents of a million seeded rows parsed once each, then one cached look-up per row.
 */
function classificationCost(): void {
  const agents: (string | null)[] = [];
  for (const row of generateTraffic({ rows: LINES, days: 30, seed: 11, end: END }))
    agents.push(row.user_agent);
  const distinct = [...new Set(agents)];
  let t = process.hrtime.bigint();
  for (const agent of distinct) classifyUserAgent(agent === null ? null : `${agent} `);
  const firstNs = Number(process.hrtime.bigint() - t) / distinct.length;
  t = process.hrtime.bigint();
  for (const agent of agents) classifyUserAgent(agent);
  const perRowNs = Number(process.hrtime.bigint() - t) / agents.length;
  console.log(
    `user-agent classification (in process, load average ${loadavg()[0]?.toFixed(1)}): ${distinct.length} distinct agents in ${LINES.toLocaleString('en-US')} rows; ` +
      `${(firstNs / 1000).toFixed(0)} µs to parse one, then ${perRowNs.toFixed(0)} ns per row from the cache (${((perRowNs * LINES) / 1e9).toFixed(2)} s per million rows)`,
  );
}

export async function run(): Promise<void> {
  classificationCost();
  const dir = mkdtempSync(join(tmpdir(), 'chatbot-ops-bench-load-'));
  let server: MariaDbServer | undefined;
  try {
    const logFile = join(dir, 'access.log');
    const sampleFile = join(dir, 'sample.log');
    let t = Date.now();
    await writeLogFile(logFile, LINES, 11);
    await writeLogFile(sampleFile, SAMPLE_LINES, 12);
    console.log(
      `wrote ${LINES.toLocaleString('en-US')} combined-format lines (${(statSync(logFile).size / 1024 / 1024).toFixed(0)} MB) in ${((Date.now() - t) / 1000).toFixed(1)} s`,
    );

    const cli = cliCommand(dir);
    console.log(
      `CLI: ${cli.kind}; load average before: ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} on ${cpus().length} cores`,
    );
    server = await startMariaDb();
    const env = {
      DB_HOST: server.host,
      DB_PORT: String(server.port),
      DB_USER: server.user,
      DB_PASSWORD: server.password,
      DB_NAME: 'bench_load',
    };
    // What the CLI takes before any work (the db command module only), to read the peak against.
    const idle = await runCli(cli, ['db', 'load', '--help'], env);
    console.log(
      `db load of ${LINES.toLocaleString('en-US')} lines in a child process (real CLI, wall time incl. start-up):`,
    );
    // The same file three ways, each into a new database: rollups kept (what users get), the same
    // schema with the rollups switched off (no rollup_state rows: writers keep none), and the
    // schema before rollups (the wide covering idx_timestamp, no rollup tables).
    const variants = [
      { label: 'rollups on', db: 'bench_load' },
      { label: 'rollups off, same schema', db: 'bench_load_off' },
      { label: 'before rollups (wide idx_timestamp)', db: 'bench_load_before' },
    ];
    const speeds: Record<string, number> = {};
    for (const v of variants) {
      const vEnv = { ...env, DB_NAME: v.db };
      const init = await runCli(cli, ['db', 'init'], vEnv);
      if (init.code !== 0) fail('db init', init);
      const admin = await mysql.createConnection({
        host: server.host,
        port: server.port,
        user: server.user,
        password: server.password,
        database: v.db,
      });
      if (v.db !== 'bench_load') await admin.query('DELETE FROM rollup_state');
      if (v.db === 'bench_load_before')
        await admin.query(
          'ALTER TABLE access_logs DROP KEY idx_timestamp, ADD KEY idx_timestamp (`timestamp`, id, status_code, response_time_ms, method, ip_address, endpoint)',
        );
      await admin.end();
      const before = loadavg()[0]?.toFixed(1);
      const load = await runCli(cli, ['--json', 'db', 'load', logFile], vEnv);
      if (load.code !== 0) fail('db load', load);
      const report = JSON.parse(load.stdout) as { loaded: number; errors: number };
      speeds[v.db] = LINES / load.seconds;
      console.log(
        `  ${v.label.padEnd(36)} ${load.seconds.toFixed(1)} s, ${Math.round(LINES / load.seconds).toLocaleString('en-US')} lines/s, max RSS ${load.maxRssMb?.toFixed(0) ?? '?'} MB, loaded ${report.loaded.toLocaleString('en-US')} (bad ${report.errors}); load average ${before} before, ${loadavg()[0]?.toFixed(1)} after`,
      );
    }
    const on = speeds.bench_load ?? 0;
    console.log(
      `  rollups on: ${Math.round(on).toLocaleString('en-US')} lines/s (target >= 45,000: ${on >= 45_000 ? 'met' : 'MISSED'}); ${(on / (speeds.bench_load_off ?? 1)).toFixed(2)}x the speed with rollups off (target >= 0.9x), ${(on / (speeds.bench_load_before ?? 1)).toFixed(2)}x the speed before rollups`,
    );
    console.log(
      `  peak memory target <= 200 MB; of which CLI start-up (max RSS of \`chatbot-ops db load --help\`): ${idle.maxRssMb?.toFixed(0) ?? '?'} MB`,
    );

    await sampleComparison(server, sampleFile);

    t = Date.now();
    const seedEnv = { ...env, DB_NAME: 'bench_seed' };
    const seedInit = await runCli(cli, ['db', 'init'], seedEnv);
    if (seedInit.code !== 0) fail('db init', seedInit);
    const seed = await runCli(
      cli,
      ['db', 'seed', '--rows', String(SEED_ROWS), '--days', '30', '--seed', '1'],
      seedEnv,
    );
    if (seed.code !== 0) fail('db seed', seed);
    console.log(
      `db seed --rows ${SEED_ROWS.toLocaleString('en-US')} in a child process: ${seed.seconds.toFixed(1)} s, ${Math.round(SEED_ROWS / seed.seconds).toLocaleString('en-US')} rows/s, max RSS ${seed.maxRssMb?.toFixed(0) ?? '?'} MB`,
    );
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
