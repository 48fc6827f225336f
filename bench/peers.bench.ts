/**
 * `npm run bench -- peers`: chatbot-ops side by side with the tools users would otherwise pick, on the
 * same input, on this machine, in one run, with the ratio printed.
 *
 * 1. Ingestion against GoAccess (Debian's `goaccess`, parse and aggregate in memory, JSON report to a
 *    file), on two 1,000,000-line combined-format files: the synthetic one the db-load benchmark writes
 *    and a real-world-shaped one (bench/support/real-world-log.ts). Alternating runs, 3 of each, medians:
 *    - GoAccess: `goaccess FILE --log-format=COMBINED -o report.json`;
 *    - our parser alone (line splitter and parseLine, no database), in this process;
 *    - `chatbot-ops db load FILE`, the real CLI in a child process: durable rows, every index, and
 *      whatever else the write path keeps (rollups when they exist); peak RSS from /usr/bin/time;
 *    - the server's own limit: one LOAD DATA LOCAL INFILE of the same rows pre-formatted as TSV (parsed
 *      beforehand, untimed), streamed from disk, into the same table with the same indexes.
 * 2. The local API against serverless-offline (Serverless Framework v3), same bundle, same MariaDB and
 *    database user, same requests (`get_access_logs` by IP: 100 rows; `health`), the same autocannon
 *    settings as the gateway benchmark (in a child process): requests/s, p50, p99 and CPU per request of
 *    each stack's processes (MariaDB included). serverless-offline runs with `private: true` (its API key
 *    mode) in its default mode (worker threads) and with `--useInProcess`. The bundle's handler called
 *    in this process is the limit both approach.
 * Peers are installed on first use (bench/support/peer-tools.ts); one that cannot be is skipped with a
 * line saying why. Loopback only; everything started is stopped and removed at the end.
 * `PEERS_ONLY=api` or `PEERS_ONLY=ingest` runs one of the two sections (while working on one side; the
 * figures the docs give come from a run of both).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  cpSync,
  createReadStream,
  createWriteStream,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { Agent } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import mysql from 'mysql2/promise';
import { defaultConfig } from '../src/config.js';
import { parseLine } from '../src/db/access-log-format.js';
import { ACCESS_LOG_COLUMNS } from '../src/db/access-log-row.js';
import { LineSplitter } from '../src/db/line-splitter.js';
import { rowsAsTsv } from '../src/db/load-data.js';
import { applySchema } from '../src/db/schema.js';
import { freePort, type MariaDbServer, startMariaDb } from '../src/db/server.js';
import { hashApiKey } from '../src/lambda/api-keys.js';
import type { ProxyEvent } from '../src/local/gateway.js';
import { type LocalStack, startLocalStack } from '../src/local/stack.js';
import { type ChildRun, cliCommand, runCli, writeLogFile } from './db-load.bench.js';
import {
  BODY,
  CONNECTIONS,
  cpuMs,
  HOT_IP,
  LOAD_SECONDS,
  load,
  loadBundleInProcess,
  percentile,
  post,
  WARMUP_SECONDS,
} from './gateway.bench.js';
import { ensureGoAccess, ensureServerlessOffline, PEERS_DIR } from './support/peer-tools.js';
import { writeRealWorldLog } from './support/real-world-log.js';

const LINES = 1_000_000;
const RUNS = 3;
const API_ROWS = 100_000;
const HEALTH_BODY = JSON.stringify({ intent: 'health' });

const median = (xs: number[]) => percentile(xs, 0.5);
const perSecond = (n: number, s: number) => Math.round(n / s).toLocaleString('en-US');
const fmtLoad = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');

/** Time one child process to its exit, with its peak RSS when /usr/bin/time is there. */
async function timedChild(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<ChildRun> {
  const [cmd, ...args] = ['/usr/bin/time', '-v', ...argv];
  const started = performance.now();
  const child = spawn(cmd as string, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  const seconds = (performance.now() - started) / 1000;
  const kb = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1];
  return { code, seconds, maxRssMb: kb ? Number(kb) / 1024 : undefined, stdout, stderr };
}

/** Our parser over the whole file, as `db load` reads it (1 MiB chunks, line splitter, parseLine). */
async function parseFile(file: string): Promise<{ seconds: number; ok: number; bad: number }> {
  const started = performance.now();
  const splitter = new LineSplitter();
  let ok = 0;
  let bad = 0;
  const count = (line: string | symbol) => {
    if (typeof line !== 'string' || line === '') {
      if (line !== '') bad++;
      return;
    }
    if (parseLine(line).ok) ok++;
    else bad++;
  };
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    for (const line of splitter.push(chunk as Buffer)) count(line);
  }
  for (const line of splitter.end()) count(line);
  return { seconds: (performance.now() - started) / 1000, ok, bad };
}

/** The rows of `file` as LOAD DATA input (ACCESS_LOG_COLUMNS order), written once, untimed. */
async function writeTsv(file: string, tsv: string): Promise<number> {
  const out = createWriteStream(tsv);
  const splitter = new LineSplitter();
  let rows = 0;
  let batch: Parameters<typeof rowsAsTsv>[0][number][] = [];
  const flush = async () => {
    if (!out.write(rowsAsTsv(batch))) await once(out, 'drain');
    batch = [];
  };
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    for (const line of splitter.push(chunk as Buffer)) {
      if (typeof line !== 'string') continue;
      const parsed = parseLine(line);
      if (!parsed.ok) continue;
      batch.push(parsed.row);
      rows++;
    }
    await flush();
  }
  await flush();
  out.end();
  await once(out, 'finish');
  return rows;
}

type Login = { host: string; port: number; user: string; password: string };

async function freshDatabase(login: Login, name: string): Promise<void> {
  const admin = await mysql.createConnection(login);
  await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  await admin.end();
}

/** The server's ingestion limit: the pre-formatted rows in one LOAD DATA statement and one commit. */
async function loadDataLimit(login: Login, database: string, tsv: string, rows: number): Promise<number> {
  await freshDatabase(login, database);
  const conn = await mysql.createConnection({ ...login, database, timezone: 'Z' });
  try {
    await applySchema(conn);
    const started = performance.now();
    await conn.beginTransaction();
    const [result] = await conn.query({
      sql:
        "LOAD DATA LOCAL INFILE 'rows.tsv' INTO TABLE access_logs CHARACTER SET utf8mb4 " +
        "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' " +
        `(${ACCESS_LOG_COLUMNS.map((c) => `\`${c}\``).join(', ')})`,
      infileStreamFactory: () => createReadStream(tsv, { highWaterMark: 1 << 20 }),
    } as mysql.QueryOptions);
    await conn.commit();
    const seconds = (performance.now() - started) / 1000;
    const affected = (result as { affectedRows?: number }).affectedRows;
    if (affected !== rows) throw new Error(`LOAD DATA wrote ${affected} of ${rows} rows`);
    return seconds;
  } finally {
    await conn.end();
  }
}

interface IngestFigures {
  goaccess: number[];
  goaccessRssMb: number[];
  goaccessValid: number;
  parser: number[];
  dbLoad: number[];
  dbLoadRssMb: number[];
  loadData: number[];
}

async function ingestion(server: MariaDbServer, dir: string): Promise<void> {
  console.log('\n--- ingestion: chatbot-ops against GoAccess ---');
  const goaccess = ensureGoAccess();
  if (!goaccess.ok) console.log(`peers: GoAccess SKIPPED: ${goaccess.why}`);
  else console.log(`GoAccess ${goaccess.value.version} (${goaccess.value.bin})`);

  const files = [
    { name: 'synthetic (db-load benchmark)', file: join(dir, 'synthetic.log') },
    { name: 'real-world-shaped', file: join(dir, 'real-world.log') },
  ];
  let t = performance.now();
  await writeLogFile(files[0]!.file, LINES, 11);
  await writeRealWorldLog(files[1]!.file, LINES, 7);
  console.log(
    `wrote 2 files of ${LINES.toLocaleString('en-US')} lines (${files.map((f) => `${(statSync(f.file).size / 2 ** 20).toFixed(0)} MB`).join(', ')}) in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );

  const cli = cliCommand(dir);
  const login: Login = { host: server.host, port: server.port, user: server.user, password: server.password };
  const env = {
    DB_HOST: server.host,
    DB_PORT: String(server.port),
    DB_USER: server.user,
    DB_PASSWORD: server.password,
    DB_NAME: 'bench_peers_load',
  };

  for (const { name, file } of files) {
    t = performance.now();
    const tsv = `${file}.tsv`;
    const rows = await writeTsv(file, tsv);
    console.log(
      `\n${name}: ${LINES.toLocaleString('en-US')} lines, ${rows.toLocaleString('en-US')} rows as TSV for LOAD DATA (${((performance.now() - t) / 1000).toFixed(1)} s, untimed); CLI: ${cli.kind}; load average ${fmtLoad()} on ${cpus().length} cores`,
    );
    const f: IngestFigures = {
      goaccess: [],
      goaccessRssMb: [],
      goaccessValid: 0,
      parser: [],
      dbLoad: [],
      dbLoadRssMb: [],
      loadData: [],
    };
    for (let run = 1; run <= RUNS; run++) {
      if (goaccess.ok) {
        const report = join(dir, 'goaccess.json');
        const g = await timedChild([
          goaccess.value.bin,
          file,
          '--log-format=COMBINED',
          '--no-global-config',
          '--no-progress',
          '-o',
          report,
        ]);
        if (g.code !== 0) throw new Error(`goaccess exited ${g.code}: ${g.stderr.slice(-500)}`);
        const general = (JSON.parse(readFileSync(report, 'utf8')) as { general: { valid_requests: number } })
          .general;
        f.goaccessValid = general.valid_requests;
        f.goaccess.push(g.seconds);
        if (g.maxRssMb) f.goaccessRssMb.push(g.maxRssMb);
      }
      const p = await parseFile(file);
      if (p.ok !== rows) throw new Error(`parser read ${p.ok} rows, expected ${rows}`);
      f.parser.push(p.seconds);

      await freshDatabase(login, env.DB_NAME);
      const init = await runCli(cli, ['db', 'init'], env);
      if (init.code !== 0) throw new Error(`db init failed: ${init.stderr.slice(-500)}`);
      const l = await runCli(cli, ['--json', 'db', 'load', file], env);
      if (l.code !== 0) throw new Error(`db load failed: ${l.stderr.slice(-1000)}`);
      const loaded = (JSON.parse(l.stdout) as { loaded: number }).loaded;
      if (loaded !== rows) throw new Error(`db load loaded ${loaded} rows, expected ${rows}`);
      f.dbLoad.push(l.seconds);
      if (l.maxRssMb) f.dbLoadRssMb.push(l.maxRssMb);

      f.loadData.push(await loadDataLimit(login, 'bench_peers_limit', tsv, rows));
      console.log(
        `  run ${run}: ${goaccess.ok ? `GoAccess ${f.goaccess.at(-1)?.toFixed(1)} s, ` : ''}parser ${p.seconds.toFixed(1)} s, db load ${l.seconds.toFixed(1)} s, LOAD DATA ${f.loadData.at(-1)?.toFixed(1)} s; load average ${fmtLoad()}`,
      );
    }
    rmSync(tsv, { force: true });
    const rate = (xs: number[]) => LINES / median(xs);
    console.log(`  medians of ${RUNS} runs (lines/s):`);
    if (goaccess.ok)
      console.log(
        `    GoAccess ${goaccess.value.version}        ${perSecond(LINES, median(f.goaccess))} (valid requests ${f.goaccessValid.toLocaleString('en-US')}, max RSS ${median(f.goaccessRssMb).toFixed(0)} MB)`,
      );
    console.log(`    our parser alone     ${perSecond(LINES, median(f.parser))}`);
    console.log(
      `    db load end to end   ${perSecond(LINES, median(f.dbLoad))} (CLI wall time incl. start-up; max RSS ${Math.max(...f.dbLoadRssMb).toFixed(0)} MB, target <= 200 MB: ${verdict(Math.max(...f.dbLoadRssMb) <= 200)})`,
    );
    console.log(`    LOAD DATA (server)   ${perSecond(LINES, median(f.loadData))}`);
    if (goaccess.ok) {
      const load = rate(f.dbLoad) / rate(f.goaccess);
      console.log(
        `  db load / GoAccess:   ${ratio(rate(f.dbLoad), rate(f.goaccess))} (target >= 1.0x, floor 0.75x: ${load >= 1 ? 'met' : load >= 0.75 ? 'floor met, target MISSED' : 'MISSED'})`,
      );
      console.log(
        `  parser / GoAccess:    ${ratio(rate(f.parser), rate(f.goaccess))} (target >= 2x: ${verdict(rate(f.parser) / rate(f.goaccess) >= 2)})`,
      );
    }
    console.log(
      `  db load / LOAD DATA:  ${ratio(rate(f.dbLoad), rate(f.loadData))} (target >= 0.7x: ${verdict(rate(f.dbLoad) / rate(f.loadData) >= 0.7)})`,
    );
  }
}

/** A serverless-offline process serving the same bundle; resolves once it answers. */
async function startServerlessOffline(
  cli: string,
  serviceDir: string,
  env: Record<string, string>,
  mode: 'worker threads' | 'in-process',
): Promise<{ child: ChildProcess; url: string; stop: () => Promise<void> }> {
  const httpPort = await freePort();
  const lambdaPort = await freePort();
  const args = [
    cli,
    'offline',
    'start',
    '--host',
    '127.0.0.1',
    '--httpPort',
    String(httpPort),
    '--lambdaPort',
    String(lambdaPort),
    ...(mode === 'in-process' ? ['--useInProcess'] : []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: serviceDir,
    env: {
      ...process.env,
      ...env,
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
      SLS_DEPRECATION_DISABLE: '*',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    output += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    output += d;
  });
  const url = `http://127.0.0.1:${httpPort}/dev/chatbot`;
  const deadline = Date.now() + 60_000;
  while (!/Server ready/.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`serverless-offline (${mode}) did not start:\n${output.slice(-1500)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    url,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGINT');
      const exited = once(child, 'exit');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const SERVERLESS_YML = `service: chatbot-bench-peer
frameworkVersion: '3'
provider:
  name: aws
  runtime: nodejs20.x
  region: us-east-1
  apiGateway:
    apiKeys:
      - name: bench-key
        value: \${env:BENCH_API_KEY}
  environment:
    DB_HOST: \${env:BENCH_DB_HOST}
    DB_PORT: \${env:BENCH_DB_PORT}
    DB_NAME: \${env:BENCH_DB_NAME}
    DB_USER: \${env:BENCH_DB_USER}
    DB_PASSWORD: \${env:BENCH_DB_PASSWORD}
    DB_SSL: 'false'
    API_KEYS: \${env:BENCH_API_KEYS}
    LOG_LEVEL: \${env:BENCH_LOG_LEVEL}
functions:
  backend:
    handler: fn/lambda_function.lambda_handler
    timeout: 29
    events:
      - http:
          path: chatbot
          method: post
          private: true
plugins:
  - serverless-offline
`;

interface ApiFigures {
  rps: number;
  p50: number;
  p99: number;
  cpuMsPerRequest: number;
  non2xx: number;
}

async function measureApi(
  target: { url: string; apiKey: string },
  body: string,
  pids: () => number[],
  ownCpu: boolean,
): Promise<ApiFigures> {
  await load(target, WARMUP_SECONDS, body);
  const watched = pids();
  const before = { self: process.cpuUsage(), others: watched.map(cpuMs) };
  const r = await load(target, LOAD_SECONDS, body);
  const self = process.cpuUsage(before.self);
  const others = watched.reduce((sum, pid, i) => sum + cpuMs(pid) - (before.others[i] ?? 0), 0);
  const cpu = others + (ownCpu ? (self.user + self.system) / 1000 : 0);
  return {
    rps: r.requests.total / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    cpuMsPerRequest: cpu / Math.max(1, r.requests.total),
    non2xx: r.non2xx + r.errors + r.timeouts,
  };
}

async function localApi(dir: string): Promise<void> {
  console.log('\n--- local API: chatbot-ops local against serverless-offline ---');
  const sls = ensureServerlessOffline();
  if (!sls.ok) console.log(`peers: serverless-offline SKIPPED: ${sls.why}`);
  else console.log(sls.value.versions);

  const config = defaultConfig();
  config.usagePlan = { ...config.usagePlan, rateLimit: 5000, burstLimit: 5000, quotaLimit: 1_000_000_000 };
  const stateDir = join(dir, 'stack');
  // The stack's private MariaDB runs as the `mysql` account, which must pass through the temp folder
  // (0700 from mkdtemp) to reach its data: search only, no listing.
  chmodSync(dir, statSync(dir).mode | 0o001);
  let firstEvent: ProxyEvent | undefined;
  const stack: LocalStack = await startLocalStack({
    config,
    stateDir,
    port: 0,
    rows: API_ROWS,
    reseed: true,
    // The API alone: the ingest chain (S3 endpoint, ingest containers) is not part of what is compared.
    ingest: false,
    onLog: () => {},
    onEvent: (e) => {
      firstEvent ??= e;
    },
  });
  const offline: {
    mode: 'worker threads' | 'in-process';
    run: Awaited<ReturnType<typeof startServerlessOffline>>;
  }[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    if ((await post(agent, stack)) !== 200 || !firstEvent)
      throw new Error('get_access_logs through the stand-in did not answer 200');
    console.log(
      `same MariaDB (${API_ROWS.toLocaleString('en-US')} rows), same bundle (${(stack.zip.sizeBytes / 1024).toFixed(0)} KB zip), same database user; autocannon ${CONNECTIONS} connections, ${WARMUP_SECONDS} s warm-up + ${LOAD_SECONDS} s`,
    );
    if (sls.ok) {
      const serviceDir = join(dir, 'serverless');
      cpSync(join(stateDir, 'task'), join(serviceDir, 'fn'), { recursive: true });
      writeFileSync(join(serviceDir, 'serverless.yml'), SERVERLESS_YML);
      // serverless resolves its plugins from the service folder's node_modules.
      symlinkSync(join(PEERS_DIR, 'node_modules'), join(serviceDir, 'node_modules'), 'dir');
      // The peer reads everything from its environment, so no secret is written into its config file.
      const env = {
        BENCH_API_KEY: stack.apiKey,
        BENCH_DB_HOST: stack.db.host,
        BENCH_DB_PORT: String(stack.db.port),
        BENCH_DB_NAME: stack.db.database,
        BENCH_DB_USER: stack.db.user,
        BENCH_DB_PASSWORD: stack.db.password,
        BENCH_API_KEYS: hashApiKey(stack.apiKey),
        BENCH_LOG_LEVEL: config.logLevel,
      };
      for (const mode of ['worker threads', 'in-process'] as const) {
        const run = await startServerlessOffline(sls.value.cli, serviceDir, env, mode);
        offline.push({ mode, run });
        const status = await post(agent, { url: run.url, apiKey: stack.apiKey });
        const noKey = await post(agent, { url: run.url, apiKey: 'wrong-key' });
        if (status !== 200 || noKey !== 403)
          throw new Error(
            `serverless-offline (${mode}) answered ${status} with the key and ${noKey} without`,
          );
      }
    }
    const mariadb = stack.mariadbPid as number;
    const targets = [
      {
        name: 'chatbot-ops local',
        target: { url: stack.url, apiKey: stack.apiKey },
        pids: () => [mariadb, ...stack.runtime.pids()],
        ownCpu: true,
      },
      ...offline.map((o) => ({
        name: `serverless-offline (${o.mode})`,
        target: { url: o.run.url, apiKey: stack.apiKey },
        pids: () => [mariadb, o.run.child.pid as number],
        ownCpu: false,
      })),
    ];
    for (const [label, body] of [
      [`get_access_logs ip_address=${HOT_IP} (100 rows)`, BODY],
      ['health', HEALTH_BODY],
    ] as const) {
      const figures = new Map<string, ApiFigures>();
      for (const t of targets) figures.set(t.name, await measureApi(t.target, body, t.pids, t.ownCpu));
      console.log(`\n${label}:`);
      console.log(
        '  stack                                  req/s    p50     p99   CPU/request (all processes)',
      );
      for (const [name, f] of figures)
        console.log(
          `  ${name.padEnd(36)} ${f.rps.toFixed(0).padStart(7)} ${`${f.p50} ms`.padStart(7)} ${`${f.p99} ms`.padStart(7)}   ${f.cpuMsPerRequest.toFixed(2)} ms${f.non2xx ? ` (${f.non2xx} not 2xx)` : ''}`,
        );
      const ours = figures.get('chatbot-ops local') as ApiFigures;
      // The target is against serverless-offline's best mode for this request (the one with more
      // requests/s: --useInProcess so far), so a mode chosen to flatter us cannot meet it.
      const peers = [...figures].filter(([name]) => name !== 'chatbot-ops local');
      const best = peers.reduce<[string, ApiFigures] | undefined>(
        (b, p) => (b === undefined || p[1].rps > b[1].rps ? p : b),
        undefined,
      );
      for (const [name, peer] of peers) {
        const met = ours.rps / peer.rps >= 1.5 && ours.p99 <= peer.p99;
        const target =
          name === best?.[0] ? ` (its best mode; target >= 1.5x at equal or lower p99: ${verdict(met)})` : '';
        console.log(
          `  ours / ${name}: ${ratio(ours.rps, peer.rps)} requests/s, p99 ${ours.p99} vs ${peer.p99} ms${target}`,
        );
      }
      console.log(`  load average ${fmtLoad()}`);
    }

    // The limit: the bundle's handler in this process, one call at a time, against ours through HTTP.
    const local = loadBundleInProcess(stack, stateDir);
    const event = firstEvent;
    const samples = { direct: [] as number[], http: [] as number[] };
    try {
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 300; i++) {
          const t0 = performance.now();
          await local.quiet(() => local.handler(event, { awsRequestId: 'bench' }));
          samples.direct.push(performance.now() - t0);
        }
        for (let i = 0; i < 300; i++) {
          const t0 = performance.now();
          await post(agent, stack);
          samples.http.push(performance.now() - t0);
        }
      }
    } finally {
      await local.unload();
    }
    const direct = median(samples.direct);
    const http = median(samples.http);
    console.log(
      `\nsequential, get_access_logs by IP, 1,500 calls each in 5 interleaved rounds: handler in this process p50 ${direct.toFixed(2)} ms, through our stand-in ${http.toFixed(2)} ms: overhead ${(http - direct).toFixed(2)} ms (target <= 0.5 ms: ${verdict(http - direct <= 0.5)})`,
    );
  } finally {
    agent.destroy();
    for (const o of offline) await o.run.stop();
    await stack.stop();
  }
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'chatbot-ops-bench-peers-'));
  let server: MariaDbServer | undefined;
  try {
    console.log(`machine: ${cpus().length} cores, load average ${fmtLoad()}`);
    const only = process.env.PEERS_ONLY;
    if (only !== undefined && only !== 'api' && only !== 'ingest')
      throw new Error(`PEERS_ONLY=${only}: expected api or ingest`);
    if (only !== 'api') {
      server = await startMariaDb({ baseDir: join(dir, 'mariadb'), openParents: [dir] });
      await ingestion(server, dir);
      await server.stop();
      server = undefined;
    }
    if (only !== 'ingest') await localApi(dir);
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
