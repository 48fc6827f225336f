/**
 * The channel between the local Lambda runtime and a container (fd 3, length-prefixed frames; see
 * src/local/runtime-protocol.ts), end to end with real container processes: a large answer arrives
 * whole, a container that dies half-way through an answer fails that invocation as Lambda does
 * (Runtime.ExitError) and the next event gets a new container, an answer whose body is not UTF-8
 * (base64, isBase64Encoded) reaches an HTTP client through the stand-in as the exact bytes, and an
 * undefined event stays undefined.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Gateway, startGateway } from '../../src/local/gateway.js';
import { type InvokeResult, LambdaRuntime } from '../../src/local/lambda-runtime.js';

let taskDir: string;
const runtimes: LambdaRuntime[] = [];
const gateways: Gateway[] = [];

/** Bytes that are not UTF-8 (0xff never occurs in it), for an answer API Gateway must pass as sent. */
const BINARY = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x41]);

beforeAll(() => {
  taskDir = mkdtempSync(join(tmpdir(), 'runtime-channel-'));
  writeFileSync(join(taskDir, 'package.json'), '{"type":"commonjs"}\n');
  writeFileSync(
    join(taskDir, 'index.js'),
    `const { writeSync } = require('node:fs');
exports.handler = async (received) => {
  if (received === undefined) return { statusCode: 200, body: 'no event' };
  // Through the stand-in the request is the proxy event's body.
  const event = typeof received.body === 'string' ? JSON.parse(received.body) : received;
  if (event.kind === 'large') return { statusCode: 200, body: 'é🦆x'.repeat(event.repeat) };
  if (event.kind === 'binary')
    return {
      statusCode: 200,
      headers: { 'Content-Type': 'application/octet-stream' },
      body: Buffer.from(${JSON.stringify([...BINARY])}).toString('base64'),
      isBase64Encoded: true,
    };
  if (event.kind === 'die-mid-answer') {
    // The start of a result frame on the runtime's channel (fd 3): lengths for a 10-byte head and a
    // 1,000-byte body, then 5 bytes of the head; then the process dies before the rest.
    const start = Buffer.alloc(13);
    start.writeUInt32BE(10, 0);
    start.writeUInt32BE(1000, 4);
    start.write('{"typ', 8);
    writeSync(3, start);
    process.kill(process.pid, 'SIGKILL');
    await new Promise(() => {});
  }
  return { statusCode: 200, body: event.kind };
};
`,
  );
});

afterEach(async () => {
  for (const gateway of gateways.splice(0)) await gateway.close();
  for (const runtime of runtimes.splice(0)) await runtime.stop();
});

afterAll(() => {
  rmSync(taskDir, { recursive: true, force: true });
});

async function startRuntime(): Promise<{ runtime: LambdaRuntime; lines: string[] }> {
  const lines: string[] = [];
  const runtime = new LambdaRuntime({
    taskDir,
    handler: 'index.handler',
    environment: {},
    functionName: 'channel-fn',
    region: 'us-east-1',
    memoryMb: 128,
    timeoutMs: 30_000,
    maxContainers: 1,
    onLog: (line) => lines.push(line),
  });
  runtimes.push(runtime);
  await runtime.warm();
  return { runtime, lines };
}

const bodyOf = (r: InvokeResult) => (r.ok ? (r.response as { body: string }).body : r.errorType);

describe('the channel to a container', () => {
  it('carries a 24 MB answer of multi-byte characters whole', async () => {
    const { runtime } = await startRuntime();
    const expected = 'é🦆x'.repeat(3_000_000);

    const r = await runtime.invoke({ kind: 'large', repeat: 3_000_000 });

    expect(r.ok).toBe(true);
    expect(bodyOf(r) === expected).toBe(true);
    if (r.ok) expect(r.bodyBytes?.equals(Buffer.from(expected, 'utf8'))).toBe(true);
  });

  it('fails an invocation whose container dies half-way through its answer; the next one gets a new container', async () => {
    // Prepare
    const { runtime, lines } = await startRuntime();
    const [before] = runtime.pids();

    // Act
    const died = await runtime.invoke({ kind: 'die-mid-answer' });
    const next = await runtime.invoke({ kind: 'after' });

    // Assess
    expect(died).toMatchObject({
      ok: false,
      errorType: 'Runtime.ExitError',
      errorMessage: expect.stringMatching(/Runtime exited with signal: SIGKILL$/),
    });
    expect(lines.some((l) => l.includes('Runtime exited') && l.includes(died.requestId))).toBe(true);
    expect(bodyOf(next)).toBe('after');
    expect(runtime.pids()).not.toContain(before);
  });

  it('passes an undefined event as undefined', async () => {
    const { runtime } = await startRuntime();
    expect(bodyOf(await runtime.invoke(undefined))).toBe('no event');
  });
});

describe('through the API Gateway stand-in', () => {
  async function startStandIn(): Promise<Gateway> {
    const { runtime } = await startRuntime();
    const gateway = await startGateway({
      port: 0,
      stage: 'prod',
      resource: 'chatbot',
      keys: [{ id: 'k1', value: 'channel-test-key' }],
      usagePlan: { rateLimit: 100, burstLimit: 100, quotaLimit: 1000, quotaPeriod: 'DAY' },
      invoke: (event, control) => runtime.invoke(event, control),
    });
    gateways.push(gateway);
    return gateway;
  }

  const call = (gateway: Gateway, body: string) =>
    fetch(gateway.url, { method: 'POST', headers: { 'x-api-key': 'channel-test-key' }, body });

  it('answers an isBase64Encoded body that is not UTF-8 with the exact bytes', async () => {
    const gateway = await startStandIn();

    const res = await call(gateway, JSON.stringify({ kind: 'binary' }));

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await res.arrayBuffer()).equals(BINARY)).toBe(true);
  });

  it('answers a large UTF-8 body with the bytes and Content-Length of what the function returned', async () => {
    const gateway = await startStandIn();

    const res = await call(gateway, JSON.stringify({ kind: 'large', repeat: 100_000 }));

    const bytes = Buffer.from(await res.arrayBuffer());
    expect(res.status).toBe(200);
    expect(Number(res.headers.get('content-length'))).toBe(bytes.length);
    expect(bytes.equals(Buffer.from('é🦆x'.repeat(100_000), 'utf8'))).toBe(true);
  });
});
