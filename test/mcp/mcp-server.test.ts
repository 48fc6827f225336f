/**
 * `chatbot-ops mcp` in its own process, driven by the MCP SDK's own client, over stdio (`--local`) and
 * over Streamable HTTP (`--http 0 --url ... ` with the key in CHATBOT_API_KEY), against the real local
 * stack behind a proxy that can throttle or fail on demand. Every protocol message both ways and the
 * server's standard error are recorded, and finally searched for the key.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatbotClient } from '../../src/client/index.js';
import type { LocalStack } from '../../src/local/stack.js';
import { type StackFixture, stackFixture, writeStateFor } from '../local/stack-fixture.js';
import { cliCommandLine, spawnCli } from '../support/cli-process.js';
import { type FaultProxy, startFaultProxy } from './fault-proxy.js';

let fixture: StackFixture;
let stack: LocalStack;
let proxy: FaultProxy;
let direct: ChatbotClient;
let cwd: string;

beforeAll(async () => {
  fixture = await stackFixture('mcp');
  stack = await fixture.start({ usagePlan: { rateLimit: 1000, burstLimit: 2000 } });
  proxy = await startFaultProxy(stack.url);
  direct = new ChatbotClient({ url: stack.url, apiKey: stack.apiKey, retries: 0 });
  // --local finds the stack in this folder's state, with the proxy as its URL.
  cwd = mkdtempSync(join(tmpdir(), 'mcp-cwd-'));
  writeStateFor(stack, cwd, proxy.url);
});

afterAll(async () => {
  await proxy?.close();
  if (cwd) rmSync(cwd, { recursive: true, force: true });
  await fixture?.stopAll();
});

/** Everything that crossed the wire and the server's log, for the key scan. */
interface Recording {
  messages: string[];
  stderr: string[];
}

/** Record every message the transport sends and receives (also those of the handshake). */
function record(transport: Transport, recording: Recording): void {
  const send = transport.send.bind(transport);
  transport.send = async (message, options) => {
    recording.messages.push(JSON.stringify(message));
    return send(message, options);
  };
  let handler: Transport['onmessage'];
  Object.defineProperty(transport, 'onmessage', {
    configurable: true,
    get: () =>
      handler &&
      ((message: Parameters<NonNullable<Transport['onmessage']>>[0], extra?: unknown) => {
        recording.messages.push(JSON.stringify(message));
        (handler as (m: unknown, e?: unknown) => void)(message, extra);
      }),
    set: (h: Transport['onmessage']) => {
      handler = h;
    },
  });
}

interface Session {
  client: Client;
  recording: Recording;
  close(): Promise<void>;
}

async function stdioSession(): Promise<Session> {
  const recording: Recording = { messages: [], stderr: [] };
  const line = cliCommandLine(['mcp', '--local', '--retry', '1', '--verbose']);
  const transport = new StdioClientTransport({
    ...line,
    cwd,
    env: { ...(process.env as Record<string, string>), NO_COLOR: '1' },
    stderr: 'pipe',
  });
  (transport.stderr as Readable | null)
    ?.setEncoding('utf8')
    .on('data', (c: string) => recording.stderr.push(c));
  record(transport, recording);
  const client = new Client({ name: 'chatbot-ops-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, recording, close: () => client.close() };
}

async function httpSession(): Promise<Session & { url: string; child: ChildProcess }> {
  const recording: Recording = { messages: [], stderr: [] };
  const server = spawnCli(['mcp', '--http', '0', '--url', proxy.url, '--retry', '1', '--verbose'], {
    env: { CHATBOT_API_KEY: stack.apiKey },
    timeoutMs: 120_000,
  });
  server.child.stderr?.on('data', (c: string) => recording.stderr.push(c));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const poll = setInterval(() => {
      const found = /at (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(server.output.stderr);
      if (found) {
        clearInterval(poll);
        resolveUrl(found[1] as string);
      }
    }, 50);
    void server.exited.then(() => {
      clearInterval(poll);
      reject(new Error(`mcp --http exited: ${server.output.stderr}`));
    });
  });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  record(transport as Transport, recording);
  const client = new Client({ name: 'chatbot-ops-test', version: '1.0.0' });
  await client.connect(transport as Transport);
  return {
    client,
    recording,
    url,
    child: server.child,
    async close() {
      await client.close();
      server.child.kill('SIGTERM');
      const { code } = await server.exited;
      expect(code).toBe(0);
    },
  };
}

const text = (r: CallToolResult) => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

/** Valid arguments for each tool, with a window that does not move between the two calls compared. */
const VALID_CALLS: [string, Record<string, unknown>][] = [
  ['get_traffic_summary', { all_time: true, top_n: 3 }],
  ['get_access_logs', { all_time: true, ip_address: '192.168.1.1', limit: 5 }],
  ['get_error_logs', { all_time: true, min_status: 500 }],
  ['get_ip_activity', { ip_address: '192.168.1.1', all_time: true }],
  ['get_endpoint_stats', { all_time: true, top_n: 4 }],
  [
    'get_traffic_timeseries',
    { start_time: '2020-01-01T00:00:00Z', end_time: '2020-01-03T00:00:00Z', interval: 'day' },
  ],
];

describe.each([
  ['stdio', stdioSession],
  ['Streamable HTTP', httpSession],
] as const)('chatbot-ops mcp over %s', (_transport, open) => {
  let session: Session;

  beforeAll(async () => {
    session = await open();
  }, 120_000);

  afterAll(async () => {
    await session?.close();
  });

  it("lists one tool per intent of the backend's list_intents, with its parameters", async () => {
    const { tools } = await session.client.listTools();
    const { intents } = await direct.listIntents();

    const expected = intents.filter((i) => i.name !== 'list_intents');
    expect(tools.map((t) => t.name)).toEqual(expected.map((i) => i.name));
    for (const intent of expected) {
      const tool = tools.find((t) => t.name === intent.name);
      expect(tool?.description).toBe(intent.description);
      expect(Object.keys(tool?.inputSchema.properties ?? {})).toEqual(intent.params.map((p) => p.name));
      expect(tool?.inputSchema.required ?? []).toEqual(
        intent.params.filter((p) => p.required).map((p) => p.name),
      );
      expect(tool?.annotations?.readOnlyHint).toBe(true);
    }
    const limit = tools.find((t) => t.name === 'get_access_logs')?.inputSchema.properties?.limit;
    expect(limit).toEqual({
      type: 'integer',
      description: 'Entries per page.',
      minimum: 1,
      maximum: 1000,
      default: 100,
    });
  });

  it.each(VALID_CALLS)(
    "%s returns the backend's data as structured content and as text",
    async (name, args) => {
      const result = (await session.client.callTool({ name, arguments: args })) as CallToolResult;
      const expected = await direct.call(name, args);

      expect(result.isError).toBeFalsy();
      expect(result.structuredContent).toEqual(expected);
      expect(text(result)).toMatch(/request id [0-9a-f-]{36}/);
    },
  );

  it('health answers through its tool', async () => {
    const result = (await session.client.callTool({ name: 'health', arguments: {} })) as CallToolResult;

    expect(result.structuredContent).toMatchObject({ status: 'ok', database: { reachable: true } });
    expect(text(result)).toContain('status:  ok');
  });

  it('tells the model how to fetch the next page, and the cursor it gives works', async () => {
    const first = (await session.client.callTool({
      name: 'get_access_logs',
      arguments: { all_time: true, limit: 2 },
    })) as CallToolResult;
    const cursor = (first.structuredContent as { next_cursor: string }).next_cursor;
    expect(text(first)).toContain(
      `call get_access_logs again with the same arguments plus "cursor": "${cursor}"`,
    );

    const next = (await session.client.callTool({
      name: 'get_access_logs',
      arguments: { all_time: true, limit: 2, cursor },
    })) as CallToolResult;

    const ids = (r: CallToolResult) =>
      (r.structuredContent as { logs: { id: number }[] }).logs.map((e) => e.id);
    expect(next.isError).toBeFalsy();
    expect(ids(next)).toHaveLength(2);
    expect(ids(next)).not.toContain(ids(first)[0]);
  });

  it.each([
    ['a wrong type', 'get_traffic_summary', { top_n: 'many' }, 'INVALID_PARAMS', /top_n/],
    ['a value out of range', 'get_access_logs', { limit: 0 }, 'INVALID_PARAMS', /limit/],
    ['an unknown parameter', 'get_ip_activity', { ip: '10.0.0.1' }, 'INVALID_PARAMS', /ip/],
    ['a missing required parameter', 'get_ip_activity', {}, 'INVALID_PARAMS', /ip_address/],
    ['an unknown intent', 'get_weather', {}, 'UNKNOWN_INTENT', /get_traffic_summary/],
  ])('%s is a tool error carrying the backend code', async (_case, name, args, code, mentions) => {
    const result = (await session.client.callTool({ name, arguments: args })) as CallToolResult;

    expect(result.isError).toBe(true);
    expect(result.structuredContent).toMatchObject({
      error_code: code,
      status: 400,
      request_id: expect.any(String),
    });
    expect(text(result)).toMatch(new RegExp(`^Error 400 ${code}: `));
    expect(text(result)).toMatch(mentions);
  });

  it.each([429, 503] as const)('retries a %s and answers', async (status) => {
    const before = proxy.requests;
    proxy.faults.push(status);

    const result = (await session.client.callTool({ name: 'health', arguments: {} })) as CallToolResult;

    expect(result.isError).toBeFalsy();
    expect(proxy.requests - before).toBe(2);
  });

  it('when retries run out, the throttle is a tool error, and the server carries on', async () => {
    proxy.faults.push(429, 429);

    const result = (await session.client.callTool({ name: 'health', arguments: {} })) as CallToolResult;
    const after = (await session.client.callTool({ name: 'health', arguments: {} })) as CallToolResult;

    expect(result.isError).toBe(true);
    expect(result.structuredContent).toMatchObject({ error_code: 'TOO_MANY_REQUESTS', status: 429 });
    expect(text(result)).toContain('(after 2 attempts)');
    expect(after.isError).toBeFalsy();
  });

  it('a backend that cannot be reached is a tool error, not a crashed server', async () => {
    proxy.faults.push('drop');

    const result = (await session.client.callTool({ name: 'health', arguments: {} })) as CallToolResult;

    expect(result.isError).toBe(true);
    expect(result.structuredContent).toMatchObject({ error_code: 'NETWORK_ERROR', status: 0 });
    expect(
      ((await session.client.callTool({ name: 'health', arguments: {} })) as CallToolResult).isError,
    ).toBeFalsy();
  });

  it('never puts the key in a message or in its log (every message scanned)', async () => {
    await session.client.listTools();
    const { messages, stderr } = session.recording;

    // The scan covers the handshake, every tool result above and the per-call log lines.
    expect(messages.length).toBeGreaterThan(40);
    expect(messages.some((m) => m.includes('"structuredContent"'))).toBe(true);
    expect(stderr.join('')).toMatch(/health -> 200 in \d+ ms/);
    for (const m of [...messages, ...stderr]) expect(m).not.toContain(stack.apiKey);
  });
});

describe('chatbot-ops mcp --http', () => {
  let server: Session & { url: string };

  beforeAll(async () => {
    server = await httpSession();
  }, 120_000);

  afterAll(async () => {
    await server?.close();
  });

  /** A POST with headers of our choosing (fetch would not let a test set Host). */
  function postWith(headers: Record<string, string>): Promise<number> {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    return new Promise((resolveStatus, reject) => {
      const req = request(server.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
      });
      req.on('response', (res) => {
        res.resume();
        resolveStatus(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  it.each([
    ['a Host that is not this server (DNS rebinding)', { host: 'attacker.example' }],
    ['a web page of another origin', { origin: 'https://attacker.example' }],
  ])('refuses %s', async (_case, headers) => {
    expect(await postWith(headers)).toBe(403);
  });

  it('accepts the loopback names a local client uses', async () => {
    const port = new URL(server.url).port;
    expect(await postWith({ host: `localhost:${port}` })).not.toBe(403);
    expect(await postWith({ host: `127.0.0.1:${port}`, origin: `http://localhost:${port}` })).not.toBe(403);
  });

  it('a port already taken is a clear error, not a stack trace', async () => {
    const port = new URL(server.url).port;
    const second = spawnCli(['mcp', '--http', port, '--url', proxy.url], {
      env: { CHATBOT_API_KEY: stack.apiKey },
      timeoutMs: 120_000,
    });

    const { code } = await second.exited;

    expect(code).toBe(1);
    expect(second.output.stderr).toContain(
      `Error: cannot serve MCP over HTTP: port ${port} is already in use on 127.0.0.1`,
    );
    expect(second.output.stderr).toContain('Pick another port with --http PORT');
  });

  it('answers only at /mcp, and only POST (it keeps no sessions to stream to)', async () => {
    expect((await fetch(server.url.replace('/mcp', '/other'), { method: 'POST' })).status).toBe(404);
    expect(
      (await fetch(server.url, { method: 'GET', headers: { accept: 'text/event-stream' } })).status,
    ).toBe(405);
  });
});
