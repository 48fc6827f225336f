/**
 * `npm run bench -- ingest`: the ingest chain of the local stack (S3 endpoint, notification, ingest
 * function in its own container process, MariaDB).
 *
 * 1. A 1,000,000-line gzipped Combined Log Format object (synthetic traffic, fixed seed): lines/s
 *    end to end (upload start to the result document saying "loaded"), and the same file through
 *    `db load`'s write path (loadLogs) on the same server, and the ratio. Target: >= 80%.
 * 2. Peak RSS of the ingest container after that load (VmHWM of its process). Target: <= 180 MB.
 * 3. Upload to rows visible through the API stand-in, for a 1,000-line object (5 runs, median).
 *    Target: <= 2 s.
 * Figures are printed, not asserted. Loopback only; the server and files are removed at the end.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import mysql from 'mysql2/promise';
import { localIngestClients } from '../src/aws/local-endpoints.js';
import { getJsonObject } from '../src/aws/s3.js';
import { callApi } from '../src/client/api-client.js';
import { defaultConfig } from '../src/config.js';
import { formatCombinedLine } from '../src/db/access-log-format.js';
import { loadLogs } from '../src/db/load.js';
import { applySchema } from '../src/db/schema.js';
import { generateTraffic } from '../src/db/seed.js';
import { startMariaDb } from '../src/db/server.js';
import { type IngestResult, resultKey } from '../src/ingest/layout.js';
import { startLocalStack } from '../src/local/stack.js';

const LINES = 1_000_000;
const END = new Date('2026-11-01T00:00:00Z');

async function writeGzLog(file: string, lines: number, seed: number): Promise<void> {
  const gzip = createGzip();
  const out = gzip.pipe(createWriteStream(file));
  let chunk = '';
  for (const row of generateTraffic({ rows: lines, days: 30, seed, end: END })) {
    chunk += `${formatCombinedLine(row, { withResponseTime: true })}\n`;
    if (chunk.length > 1 << 20) {
      if (!gzip.write(chunk)) await once(gzip, 'drain');
      chunk = '';
    }
  }
  gzip.end(chunk);
  await once(out, 'finish');
}

/** Peak resident memory of a process so far, MB (Linux VmHWM). */
function peakRssMb(pid: number): number | undefined {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : undefined;
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-ingest-'));
  console.log(`machine: ${cpus().length} cores (shared with other work); load average before: ${load()}`);
  const server = await startMariaDb({ baseDir: join(dir, 'mariadb'), openParents: [dir] });
  try {
    const big = join(dir, 'access-1m.log.gz');
    await writeGzLog(big, LINES, 42);
    console.log(
      `input: ${LINES.toLocaleString('en-US')} lines, ${(statSync(big).size / 1024 / 1024).toFixed(1)} MB gzipped`,
    );
    const admin = { host: server.host, port: server.port, user: server.user, password: server.password };

    // Baseline: db load's write path on the same server.
    const setup = await mysql.createConnection(admin);
    await setup.query('CREATE DATABASE bench_load CHARACTER SET utf8mb4');
    await setup.query('CREATE DATABASE bench_ingest CHARACTER SET utf8mb4');
    await setup.query('CREATE DATABASE bench_load2 CHARACTER SET utf8mb4');
    await setup.end();
    const pool = mysql.createPool({ ...admin, database: 'bench_load', timezone: 'Z', connectionLimit: 4 });
    await applySchema(pool);
    const pool2 = mysql.createPool({ ...admin, database: 'bench_load2', timezone: 'Z', connectionLimit: 1 });
    await applySchema(pool2);
    await pool2.end();
    let started = performance.now();
    const report = await loadLogs(pool, [big]);
    const loadSeconds = (performance.now() - started) / 1000;
    await pool.end();
    const loadRate = report.loaded / loadSeconds;
    console.log(
      `db load (loadLogs):        ${loadSeconds.toFixed(1)} s, ${Math.round(loadRate).toLocaleString('en-US')} lines/s`,
    );

    const config = defaultConfig();
    config.logLevel = 'ERROR';
    const stack = await startLocalStack({
      config,
      stateDir: join(dir, 'state'),
      port: 0,
      server: admin,
      database: 'bench_ingest',
      createUser: true,
      rows: 1,
      containers: 1,
    });
    try {
      const ingest = stack.ingest;
      if (!ingest) throw new Error('the stack has no ingest chain');
      const { s3 } = localIngestClients(ingest);
      const put = (key: string, body: Buffer | NodeJS.ReadableStream, length: number) =>
        s3.send(
          new PutObjectCommand({
            Bucket: ingest.bucket,
            Key: key,
            Body: body as never,
            ContentLength: length,
          }),
        );
      const resultOf = (key: string) =>
        getJsonObject<IngestResult>(s3, { bucket: ingest.bucket, key: resultKey(ingest.resultsPrefix, key) });

      // 1 and 2: the 1M-line object end to end, and the container's peak memory.
      started = performance.now();
      await put('logs/bench/access-1m.log.gz', createReadStream(big), statSync(big).size);
      let result: IngestResult | undefined;
      for (;;) {
        result = await resultOf('logs/bench/access-1m.log.gz');
        if (result && result.status !== 'running') break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const ingestSeconds = (performance.now() - started) / 1000;
      const functionSeconds =
        result.finishedAt !== undefined
          ? (Date.parse(result.finishedAt) - Date.parse(result.startedAt)) / 1000
          : Number.NaN;
      const ingestRate = (result.report?.loaded ?? 0) / ingestSeconds;
      console.log(
        `ingest (end to end):       ${ingestSeconds.toFixed(1)} s, ${Math.round(ingestRate).toLocaleString('en-US')} lines/s (${result.status}, ${result.report?.loaded} rows; the function itself ${functionSeconds.toFixed(1)} s)`,
      );
      // db load again, now, on a fresh database: the machine is shared, so the baseline is the mean of
      // a run before and a run after the ingest.
      const again = mysql.createPool({
        ...admin,
        database: 'bench_load2',
        timezone: 'Z',
        connectionLimit: 4,
      });
      const t1 = performance.now();
      const report2 = await loadLogs(again, [big]);
      const loadSeconds2 = (performance.now() - t1) / 1000;
      await again.end();
      const loadRate2 = report2.loaded / loadSeconds2;
      console.log(
        `db load again (after):     ${loadSeconds2.toFixed(1)} s, ${Math.round(loadRate2).toLocaleString('en-US')} lines/s`,
      );
      const baseline = (loadRate + loadRate2) / 2;
      console.log(
        `ratio ingest / db load:    ${((ingestRate / baseline) * 100).toFixed(0)}% of the mean of both db load runs (target >= 80%)`,
      );
      const pids = ingest.runtime.pids();
      const peaks = pids.map(peakRssMb).filter((m): m is number => m !== undefined);
      console.log(
        `ingest container peak RSS: ${peaks.map((m) => `${m.toFixed(0)} MB`).join(', ')} (target <= 180 MB)`,
      );

      // 3. Upload to visible through the API, for a 1,000-line object. Its rows carry a path of their
      // own, so the check is one indexed get_access_logs call (not a summary over a million rows).
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const endpoint = `/bench-visible-${i}-${Date.now()}`;
        const text = [...generateTraffic({ rows: 1000, days: 1, seed: 100 + i, end: new Date() })]
          .map((row) => formatCombinedLine({ ...row, endpoint, query_string: null }))
          .join('\n');
        const body = Buffer.from(`${text}\n`);
        const t0 = performance.now();
        await put(`logs/bench/small-${createHash('sha1').update(body).digest('hex')}.log`, body, body.length);
        while (!(await visible(stack.url, stack.apiKey, endpoint)))
          await new Promise((r) => setTimeout(r, 20));
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      console.log(
        `upload to visible (1,000 lines): median ${(times[2] as number).toFixed(0)} ms, runs ${times.map((t) => t.toFixed(0)).join(', ')} ms (target <= 2000 ms)`,
      );
      s3.destroy();
    } finally {
      await stack.stop();
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
    console.log(`load average after: ${load()}`);
  }
}

async function visible(url: string, apiKey: string, endpoint: string): Promise<boolean> {
  const body = JSON.stringify({ intent: 'get_access_logs', params: { endpoint, all_time: true, limit: 1 } });
  const r = await callApi(url, body, { apiKey });
  return ((r.json as { data?: { count?: number } }).data?.count ?? 0) > 0;
}
