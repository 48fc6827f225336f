/**
 * `npm run bench -- load-shedding` (issue 16, item 3): the local stack as `local up` starts it (a private
 * MariaDB seeded with 200,000 rows, the packaged zip in up to 4 containers, the API Gateway stand-in),
 * then, for a bounded time, 50 clients each sending all-time `get_endpoint_stats` one after another
 * while a probe sends `health` once a second. Prints the share of 504s, the health probes' p50/p99/max,
 * the other answers (429 when the stand-in sheds load), and how many invocations the function finished
 * whose answer nobody received (work that ran after its client had been answered 504, or gone).
 *
 * The seeded database is kept under bench/.cache/load-shedding/ and reused while it holds the rows.
 * BENCH_SHED_SECONDS (default 60) sets how long the clients send.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { defaultConfig } from '../src/config.js';
import { type LocalStack, startLocalStack } from '../src/local/stack.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ROWS = 200_000;
const CLIENTS = 50;
const SECONDS = Number(process.env.BENCH_SHED_SECONDS ?? 60);
const PROBE_EVERY_MS = 1000;
/** A client gives up after this long (the stand-in answers 504 at 29 s, so this only catches a hang). */
const CLIENT_TIMEOUT_MS = 40_000;
const SLOW_BODY = JSON.stringify({ intent: 'get_endpoint_stats', params: { all_time: true } });
const HEALTH_BODY = JSON.stringify({ intent: 'health' });

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? Number.NaN;
};
const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;

interface Answer {
  status: number;
  ms: number;
  /** The stand-in answered by itself (x-amzn-ErrorType), not the function. */
  byGateway: boolean;
}

/** One POST; status 0 when the connection failed or the client gave up. */
function post(stack: LocalStack, agent: Agent, body: string): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolvePost) => {
    const done = (status: number, byGateway = false) =>
      resolvePost({ status, ms: performance.now() - started, byGateway });
    const req = request(
      stack.url,
      {
        method: 'POST',
        agent,
        timeout: CLIENT_TIMEOUT_MS,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-api-key': stack.apiKey,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => done(res.statusCode ?? 0, res.headers['x-amzn-errortype'] !== undefined));
        res.on('error', () => done(0));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(0));
    req.end(body);
  });
}

function countStatuses(answers: Answer[]): string {
  const counts = new Map<number, number>();
  for (const a of answers) counts.set(a.status, (counts.get(a.status) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([status, n]) => `${n} × ${status === 0 ? 'no answer' : status}`)
    .join(', ');
}

export async function run(): Promise<void> {
  const stateDir = join(ROOT, 'bench', '.cache', 'load-shedding');
  mkdirSync(stateDir, { recursive: true });
  const config = defaultConfig();
  // Far above what the clients send: every 429 below is the stand-in shedding load, not the usage plan.
  config.usagePlan = { ...config.usagePlan, rateLimit: 5000, burstLimit: 5000, quotaLimit: 1_000_000_000 };
  /** Invocations the function finished (its one "request" line each), by outcome status. */
  let finished = 0;
  /** The stand-in's and the runtime's own lines (504s, sheds, timeouts), where the code writes them. */
  const standInLines: string[] = [];
  const started = performance.now();
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      config,
      stateDir,
      port: 0,
      rows: ROWS,
      onLog: (line) => {
        if (line.includes('"message":"request"')) finished++;
        else if (/"source":"(api-gateway|lambda)"/.test(line)) standInLines.push(line);
      },
    });
  } catch (err) {
    // A half-made cache (interrupted seeding) is rebuilt next time.
    rmSync(stateDir, { recursive: true, force: true });
    throw err;
  }
  // No socket limit: a probe must never wait for a socket behind the clients (that would time the client, not the stack).
  const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  try {
    console.log(
      `local stack up in ${seconds(performance.now() - started)}: private MariaDB, ${stack.rows.toLocaleString('en-US')} rows, ` +
        `default containers, integration timeout 29 s, function timeout ${config.function.timeout} s`,
    );
    const single = await post(stack, agent, SLOW_BODY);
    console.log(`one get_endpoint_stats (all time) alone: ${single.status} in ${seconds(single.ms)}`);
    const finishedBefore = finished;

    const slow: Answer[] = [];
    const probes: Answer[] = [];
    const probeTimes: { sentS: number; ms: number }[] = [];
    const t0 = performance.now();
    const deadline = t0 + SECONDS * 1000;
    const client = async () => {
      while (performance.now() < deadline) {
        const a = await post(stack, agent, SLOW_BODY);
        slow.push(a);
        // A throttled client backs off as the project's client does (full jitter), instead of spinning.
        if (a.status === 429) await new Promise((r) => setTimeout(r, Math.random() * 1000));
      }
    };
    const probe = async () => {
      const pending: Promise<void>[] = [];
      while (performance.now() < deadline) {
        const sent = performance.now() - t0;
        pending.push(
          post(stack, agent, HEALTH_BODY).then((a) => {
            probes.push(a);
            probeTimes.push({ sentS: sent / 1000, ms: a.ms });
          }),
        );
        await new Promise((r) => setTimeout(r, PROBE_EVERY_MS));
      }
      await Promise.all(pending);
    };
    const loadBefore = loadavg()[0] ?? 0;
    await Promise.all([...Array.from({ length: CLIENTS }, client), probe()]);
    const wall = performance.now() - t0;
    const loadAfter = loadavg()[0] ?? 0;
    // Work still running for nobody ends at the function's timeout; wait for it before counting.
    await new Promise((r) => setTimeout(r, (config.function.timeout + 2) * 1000));

    const all = [...slow, ...probes];
    const answeredByFunction = all.filter((a) => a.status > 0 && !a.byGateway).length;
    const share504 = all.filter((a) => a.status === 504).length / all.length;
    const healthMs = probes.map((a) => a.ms);
    const ok = slow.filter((a) => a.status === 200).map((a) => a.ms);
    console.log(
      `run: ${CLIENTS} clients of get_endpoint_stats (all time) for ${SECONDS} s, health every ${PROBE_EVERY_MS} ms; ` +
        `lasted ${seconds(wall)}; load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} at the end (shared machine)`,
    );
    console.log(`  get_endpoint_stats: ${slow.length} answers: ${countStatuses(slow)}`);
    if (ok.length > 0)
      console.log(`    200s took p50 ${seconds(percentile(ok, 0.5))}, p99 ${seconds(percentile(ok, 0.99))}`);
    console.log(`  health: ${probes.length} probes: ${countStatuses(probes)}`);
    console.log(
      `    latency p50 ${seconds(percentile(healthMs, 0.5))}, p99 ${seconds(percentile(healthMs, 0.99))}, max ${seconds(Math.max(...healthMs))}; ` +
        `slowest sent at ${[...probeTimes]
          .sort((a, b) => b.ms - a.ms)
          .slice(0, 3)
          .map((p) => `${p.sentS.toFixed(0)} s (${seconds(p.ms)})`)
          .join(', ')}`,
    );
    console.log(
      `  share of 504s: ${(share504 * 100).toFixed(1)}% of ${all.length} requests; ` +
        `function invocations finished ${finished - finishedBefore}, answers from it that reached a client ${answeredByFunction} ` +
        `(the difference ran for nobody)`,
    );
    const byMessage = new Map<string, number>();
    for (const line of standInLines) {
      const message = String((JSON.parse(line) as { message: string }).message).replace(
        /\d+ (ms|events)/g,
        'N $1',
      );
      byMessage.set(message, (byMessage.get(message) ?? 0) + 1);
    }
    console.log(`  stand-in and runtime lines in the function log: ${standInLines.length}`);
    for (const [message, n] of byMessage) console.log(`    ${n} × ${message}`);
  } finally {
    agent.destroy();
    await stack.stop();
  }
}
