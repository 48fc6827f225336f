/**
 * `npm run bench -- mcp` (issue 10, "Benchmark"): `chatbot-ops mcp` as an MCP client runs it (the built
 * CLI, bin/chatbot-ops.js, in its own process) in front of the local stack (a private MariaDB seeded with
 * 20,000 rows, the packaged function, the API Gateway stand-in), and
 * - the latency an MCP tool call adds over the same request sent directly with ChatbotClient: p50 of
 *   sequential calls, interleaved rounds so drift affects each way alike; over stdio (target ≤ 2 ms) and
 *   Streamable HTTP. The direct calls run in a process of their own, as the MCP server's do, so both
 *   sides pay the same for fetch and garbage collection and the difference is the MCP hop itself;
 * - start-up: from spawning `chatbot-ops mcp` to the answer of the first tools/list (target ≤ 500 ms),
 *   which includes Node's own start, loading the CLI and the SDK, and list_intents from the backend.
 * Everything it starts is stopped and removed at the end.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { defaultConfig } from '../src/config.js';
import { type LocalStack, startLocalStack } from '../src/local/stack.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/chatbot-ops.js');
const ROWS = 20_000;
const TOOL = 'get_access_logs';
const ARGS = { ip_address: '192.168.1.1', limit: 10 };
const ROUNDS = 5;
const CALLS_PER_ROUND = 100;
const STARTS = 10;

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? Number.NaN;
};
const ms = (v: number) => `${v.toFixed(v < 10 ? 2 : 1)} ms`;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

/** The bench runs the built CLI: refuse a build older than the sources it measures. */
function assertBuildFresh(): void {
  const pairs = [
    ['src/commands/mcp.ts', 'build/commands/mcp.js'],
    ['src/mcp/server.ts', 'build/mcp/server.js'],
    ['src/mcp/tool-result.ts', 'build/mcp/tool-result.js'],
    ['src/client/chatbot-client.ts', 'build/client/chatbot-client.js'],
    ['src/client/api-client.ts', 'build/client/api-client.js'],
  ];
  for (const [src, built] of pairs) {
    const b = statSync(join(ROOT, built as string), { throwIfNoEntry: false });
    if (!b || b.mtimeMs < statSync(join(ROOT, src as string)).mtimeMs)
      throw new Error(`${built} is missing or older than ${src}: run \`npm run build\` first`);
  }
}

function stdioTransport(stack: LocalStack): StdioClientTransport {
  return new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'mcp', '--url', stack.url, '--retry', '0'],
    env: { ...(process.env as Record<string, string>), CHATBOT_API_KEY: stack.apiKey },
    stderr: 'ignore',
  });
}

/**
 * A process that sends the request directly with the built ChatbotClient: each line "N" on its standard
 * input makes it send N requests one after another and answer with their times, as one JSON line.
 */
function directCaller(stack: LocalStack): { calls: (n: number) => Promise<number[]>; stop: () => void } {
  const client = pathToFileURL(join(ROOT, 'build/client/index.js')).href;
  const script = `
import { createInterface } from 'node:readline';
const { ChatbotClient } = await import(${JSON.stringify(client)});
const client = new ChatbotClient({ retries: 0 });
for await (const line of createInterface({ input: process.stdin })) {
  const times = [];
  for (let i = 0; i < Number(line); i++) {
    const t0 = performance.now();
    await client.request(${JSON.stringify(TOOL)}, ${JSON.stringify(ARGS)});
    times.push(performance.now() - t0);
  }
  process.stdout.write(JSON.stringify(times) + '\\n');
}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, CHATBOT_API_URL: stack.url, CHATBOT_API_KEY: stack.apiKey },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const answers = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    async calls(n) {
      child.stdin.write(`${n}\n`);
      const { value } = await answers.next();
      return JSON.parse(value as string) as number[];
    },
    stop: () => child.kill('SIGTERM'),
  };
}

/** `mcp --http 0` in its own process; resolves with its URL once it listens. */
async function httpServer(stack: LocalStack): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, [BIN, 'mcp', '--http', '0', '--url', stack.url, '--retry', '0'], {
    env: { ...process.env, CHATBOT_API_KEY: stack.apiKey },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      const found = /at (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(stderr);
      if (found) resolveUrl(found[1] as string);
    });
    child.once('exit', () => reject(new Error(`mcp --http exited: ${stderr}`)));
  });
  return { url, stop: () => child.kill('SIGTERM') };
}

async function connect(transport: Transport): Promise<Client> {
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export async function run(): Promise<void> {
  assertBuildFresh();
  const stateDir = mkdtempSync(join(tmpdir(), 'bench-mcp-'));
  const config = defaultConfig();
  config.usagePlan = { ...config.usagePlan, rateLimit: 5000, burstLimit: 5000, quotaLimit: 1_000_000_000 };
  config.logLevel = 'ERROR';
  const stack = await startLocalStack({ config, stateDir, port: 0, rows: ROWS, reseed: true, containers: 1 });
  const http = await httpServer(stack);
  const direct = directCaller(stack);
  const stdio = await connect(stdioTransport(stack));
  const overHttp = await connect(new StreamableHTTPClientTransport(new URL(http.url)) as Transport);
  try {
    console.log(
      `local stack: ${stack.rows.toLocaleString('en-US')} rows, 1 container; load average ${load()} (1/5/15 min) at the start; the machine is shared`,
    );
    const mcpWays = {
      stdio: () => stdio.callTool({ name: TOOL, arguments: ARGS }),
      http: () => overHttp.callTool({ name: TOOL, arguments: ARGS }),
    };
    const samples = { direct: [] as number[], stdio: [] as number[], http: [] as number[] };
    // Warm-up: connections open, code compiled, on every way.
    await direct.calls(20);
    for (const fn of Object.values(mcpWays)) for (let i = 0; i < 20; i++) await fn();
    for (let round = 0; round < ROUNDS; round++) {
      samples.direct.push(...(await direct.calls(CALLS_PER_ROUND)));
      for (const [way, fn] of Object.entries(mcpWays) as [keyof typeof mcpWays, () => Promise<unknown>][]) {
        for (let i = 0; i < CALLS_PER_ROUND; i++) samples[way].push(await time(fn));
      }
    }
    const p50 = (way: keyof typeof samples) => percentile(samples[way], 0.5);
    console.log(
      `${TOOL} ${JSON.stringify(ARGS)}, ${ROUNDS} rounds x ${CALLS_PER_ROUND} sequential calls per way:`,
    );
    for (const way of Object.keys(samples) as (keyof typeof samples)[])
      console.log(`  ${way.padEnd(6)} p50 ${ms(p50(way))}, p90 ${ms(percentile(samples[way], 0.9))}`);
    const addedStdio = p50('stdio') - p50('direct');
    console.log(
      `  added by MCP over stdio: ${ms(addedStdio)} at p50 (target ≤ 2 ms: ${addedStdio <= 2 ? 'yes' : 'NO'}); ` +
        `over Streamable HTTP: ${ms(p50('http') - p50('direct'))}`,
    );

    const starts: number[] = [];
    for (let i = 0; i < STARTS; i++) {
      const t0 = performance.now();
      const client = await connect(stdioTransport(stack));
      await client.listTools();
      starts.push(performance.now() - t0);
      await client.close();
    }
    const startP50 = percentile(starts, 0.5);
    console.log(
      `start-up, spawn to first tools/list answer (stdio, ${STARTS} starts): p50 ${ms(startP50)}, ` +
        `min ${ms(Math.min(...starts))}, max ${ms(Math.max(...starts))} (target ≤ 500 ms: ${startP50 <= 500 ? 'yes' : 'NO'})`,
    );
    const nodeAlone = await time(
      () =>
        new Promise<void>((resolveNode, reject) => {
          import('node:child_process').then(({ spawn }) => {
            const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
            child.once('exit', () => resolveNode());
            child.once('error', reject);
          }, reject);
        }),
    );
    console.log(`  (for scale: \`node -e 0\` took ${ms(nodeAlone)} here); load average ${load()} at the end`);
  } finally {
    await stdio.close();
    await overHttp.close();
    http.stop();
    direct.stop();
    await stack.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}
