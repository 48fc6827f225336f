/**
 * `npm run bench -- gateway` (issue 3, "Benchmarks"): the local stack as `local up` starts it (a private
 * MariaDB seeded with 100,000 rows, the packaged zip run in Lambda-like containers, the API Gateway
 * stand-in on 127.0.0.1), then
 * - a bounded load test with autocannon (in its own process): `get_access_logs` by IP, fixed duration and connections, a usage
 *   plan too large to throttle; requests per second and latency p50/p99;
 * - the stand-in's overhead: the same proxy event handled N times one after another by the bundle's
 *   handler loaded in this process, by a container over its socket (LambdaRuntime, no HTTP), and over HTTP
 *   through the stand-in; p50 of each and the differences.
 * Everything it starts (database, containers, gateway, temp folder) is stopped and removed at the end.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type autocannon from 'autocannon';
import { defaultConfig } from '../src/config.js';
import { hashApiKey } from '../src/lambda/api-keys.js';
import type { ProxyEvent } from '../src/local/gateway.js';
import { type LocalStack, startLocalStack } from '../src/local/stack.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ROWS = 100_000;
export const HOT_IP = '192.168.1.1';
export const BODY = JSON.stringify({ intent: 'get_access_logs', params: { ip_address: HOT_IP } });
export const LOAD_SECONDS = 10;
export const WARMUP_SECONDS = 2;
export const CONNECTIONS = 8;
/** Sequential calls per way of calling, in interleaved rounds so drift affects each way alike. */
const ROUNDS = 5;
const CALLS_PER_ROUND = 400;

export const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? Number.NaN;
};
const ms = (v: number) => `${v.toFixed(v < 10 ? 3 : 1)} ms`;

/**
 * One autocannon run in a child process, so the load generator neither shares the stand-in's event loop
 * nor counts in its CPU time. Options go in on stdin (the key is not put on a command line).
 */
export function load(
  stack: Pick<LocalStack, 'url' | 'apiKey'>,
  seconds: number,
  body = BODY,
): Promise<autocannon.Result> {
  const options: autocannon.Options = {
    url: stack.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': stack.apiKey },
    body,
    connections: CONNECTIONS,
    duration: seconds,
  };
  const script =
    "let s='';process.stdin.on('data',(c)=>{s+=c}).on('end',async()=>{" +
    "const r=await require('autocannon')(JSON.parse(s));process.stdout.write(JSON.stringify(r))})";
  return new Promise((resolveLoad, reject) => {
    const child = spawn(process.execPath, ['-e', script], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolveLoad(JSON.parse(out) as autocannon.Result)
        : reject(new Error(`autocannon exited ${code}`)),
    );
    child.stdin.end(JSON.stringify(options));
  });
}

/** CPU time (user + system) of a process so far, in ms, from /proc. */
export function cpuMs(pid: number): number {
  const fields = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '').split(' ');
  // utime and stime are fields 14 and 15 of stat, in clock ticks (100 a second on Linux).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** POST the body over one keep-alive connection; resolves with the status once the answer is read. */
export function post(agent: Agent, stack: Pick<LocalStack, 'url' | 'apiKey'>, body = BODY): Promise<number> {
  return new Promise((resolvePost, reject) => {
    const req = request(
      stack.url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-api-key': stack.apiKey,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolvePost(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

type Handler = (event: unknown, context?: unknown) => Promise<{ statusCode: number }>;

/** The unpacked bundle's handler, loaded in this process with the environment the containers get. */
export function loadBundleInProcess(stack: LocalStack, stateDir: string) {
  const env: Record<string, string> = {
    DB_HOST: stack.db.host,
    DB_PORT: String(stack.db.port),
    DB_NAME: stack.db.database,
    DB_USER: stack.db.user,
    DB_PASSWORD: stack.db.password,
    DB_SSL: 'false',
    API_KEYS: hashApiKey(stack.apiKey),
    LOG_LEVEL: 'INFO',
  };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  const taskDir = join(stateDir, 'task');
  const mod = createRequire(join(taskDir, 'index.js'))(join(taskDir, 'lambda_function.js')) as {
    lambda_handler: Handler;
    resetForTests: () => Promise<void>;
  };
  // The handler logs one line per request on stdout, as in a container; here it would flood the report.
  const log = console.log;
  return {
    handler: mod.lambda_handler,
    quiet<T>(fn: () => Promise<T>): Promise<T> {
      console.log = () => {};
      return fn().finally(() => {
        console.log = log;
      });
    },
    async unload() {
      await mod.resetForTests();
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    },
  };
}

export async function run(): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), 'bench-gateway-'));
  const config = defaultConfig();
  // The largest throttle a config file may set (burst ≤ 5,000 and ≥ rate), far above what 2 cores serve.
  config.usagePlan = { ...config.usagePlan, rateLimit: 5000, burstLimit: 5000, quotaLimit: 1_000_000_000 };
  let event: ProxyEvent | undefined;
  let logLines = 0;
  const started = performance.now();
  const stack = await startLocalStack({
    config,
    stateDir,
    port: 0,
    rows: ROWS,
    reseed: true,
    onEvent: (e) => {
      event ??= e;
    },
    onLog: () => {
      logLines++;
    },
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    console.log(
      `local stack up in ${((performance.now() - started) / 1000).toFixed(1)} s: private MariaDB, ${stack.rows.toLocaleString('en-US')} rows, ` +
        `zip ${(stack.zip.sizeBytes / 1024).toFixed(0)} KB, 4 containers max, log level ${config.logLevel}`,
    );
    const first = await post(agent, stack);
    if (first !== 200 || !event) throw new Error(`get_access_logs through the stand-in answered ${first}`);

    // Load test: a warm-up run (starts every container), then the measured one.
    await load(stack, WARMUP_SECONDS);
    const pids = { mariadb: stack.mariadbPid as number, containers: stack.runtime.pids() };
    const before = {
      gateway: process.cpuUsage(),
      mariadb: cpuMs(pids.mariadb),
      containers: pids.containers.map(cpuMs),
    };
    const r = await load(stack, LOAD_SECONDS);
    const total = r.requests.total;
    const gatewayCpu = process.cpuUsage(before.gateway);
    const perRequest = {
      gateway: (gatewayCpu.user + gatewayCpu.system) / 1000 / total,
      mariadb: (cpuMs(pids.mariadb) - before.mariadb) / total,
      containers:
        pids.containers.reduce((sum, pid, i) => sum + cpuMs(pid) - (before.containers[i] ?? 0), 0) / total,
    };
    console.log(
      `load: autocannon, ${CONNECTIONS} connections, ${LOAD_SECONDS} s, POST get_access_logs ip_address=${HOT_IP} (24 h window)`,
    );
    console.log(
      `  ${(total / r.duration).toFixed(0)} requests/s (${total.toLocaleString('en-US')} in ${r.duration.toFixed(1)} s; target ≥ 1,000: ${total / r.duration >= 1000 ? 'yes' : 'NO'}), ` +
        `latency p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, max ${r.latency.max} ms`,
    );
    console.log(
      `  answers: ${r['2xx']} 2xx, ${r.non2xx} other, ${r.errors} errors, ${r.timeouts} timeouts (429s: ${r.statusCodeStats?.['429']?.count ?? 0})`,
    );

    console.log(
      `  CPU per request: stand-in ${ms(perRequest.gateway)}, containers ${ms(perRequest.containers)}, MariaDB ${ms(perRequest.mariadb)} ` +
        `(total ${ms(perRequest.gateway + perRequest.containers + perRequest.mariadb)}; 2 cores serve at most ${(2000 / (perRequest.gateway + perRequest.containers + perRequest.mariadb)).toFixed(0)}/s at that cost); ` +
        `load average ${loadavg()[0]?.toFixed(1)} at the end`,
    );

    // Overhead: the same event, one call at a time, three ways.
    const local = loadBundleInProcess(stack, stateDir);
    const proxyEvent = event;
    const samples = { direct: [] as number[], ipc: [] as number[], http: [] as number[] };
    let failures = 0;
    // CPU the backend's own work takes (handler, driver, MariaDB), with no stand-in or container around it.
    const directCpu = { handler: 0, mariadb: 0 };
    const ways: [keyof typeof samples, () => Promise<boolean>][] = [
      [
        'direct',
        async () =>
          (await local.quiet(() => local.handler(proxyEvent, { awsRequestId: 'bench' }))).statusCode === 200,
      ],
      [
        'ipc',
        async () => {
          const result = await stack.runtime.invoke(proxyEvent);
          return result.ok && (result.response as { statusCode?: number }).statusCode === 200;
        },
      ],
      ['http', async () => (await post(agent, stack)) === 200],
    ];
    try {
      for (const [, call] of ways) for (let i = 0; i < 50; i++) await call();
      for (let round = 0; round < ROUNDS; round++) {
        for (const [name, call] of ways) {
          const cpuBefore = { self: process.cpuUsage(), mariadb: cpuMs(pids.mariadb) };
          for (let i = 0; i < CALLS_PER_ROUND; i++) {
            const t = performance.now();
            const ok = await call();
            const elapsed = performance.now() - t;
            if (ok) samples[name].push(elapsed);
            else failures++;
          }
          if (name === 'direct') {
            const self = process.cpuUsage(cpuBefore.self);
            directCpu.handler += (self.user + self.system) / 1000;
            directCpu.mariadb += cpuMs(pids.mariadb) - cpuBefore.mariadb;
          }
        }
      }
    } finally {
      await local.unload();
    }
    const p50 = {
      direct: percentile(samples.direct, 0.5),
      ipc: percentile(samples.ipc, 0.5),
      http: percentile(samples.http, 0.5),
    };
    const n = ROUNDS * CALLS_PER_ROUND;
    console.log(`overhead: ${n} sequential calls each (${ROUNDS} interleaved rounds), same proxy event`);
    console.log(
      `  handler in this process   p50 ${ms(p50.direct)}  p99 ${ms(percentile(samples.direct, 0.99))}`,
    );
    const backendCpu = (directCpu.handler + directCpu.mariadb) / n;
    console.log(
      `  (CPU per in-process call: handler and driver ${ms(directCpu.handler / n)}, MariaDB ${ms(directCpu.mariadb / n)}: ` +
        `2 cores serve at most ${(2000 / backendCpu).toFixed(0)}/s of this request with no stand-in at all)`,
    );
    console.log(`  container, no HTTP        p50 ${ms(p50.ipc)}  p99 ${ms(percentile(samples.ipc, 0.99))}`);
    console.log(`  HTTP through the stand-in p50 ${ms(p50.http)}  p99 ${ms(percentile(samples.http, 0.99))}`);
    console.log(
      `  stand-in overhead p50: ${ms(p50.http - p50.direct)} (target ≤ 1 ms: ${p50.http - p50.direct <= 1 ? 'yes' : 'NO'}); ` +
        `of which the container hop ${ms(p50.ipc - p50.direct)}, HTTP and gateway ${ms(p50.http - p50.ipc)}` +
        (failures ? `; ${failures} calls did not answer 200 and were not timed` : ''),
    );
    console.log(`  (function log lines received from the containers: ${logLines.toLocaleString('en-US')})`);
  } finally {
    agent.destroy();
    await stack.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}
