/**
 * The local Lambda runtime under more events than containers (issue 16, item 3): the line of waiting
 * events is bounded in length and in time (refused as Lambda refuses, TooManyRequestsException), an
 * event withdrawn while it waits never starts, light events (health) get the container kept for them,
 * and a container that times out is ended, logged and replaced.
 *
 * A small handler stands in for the function: it sleeps as long as the event asks and logs when it
 * starts, so the tests can tell which events ran.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type InvokeResult,
  LambdaRuntime,
  type LambdaRuntimeOptions,
  THROTTLED,
  WITHDRAWN,
} from '../../src/local/lambda-runtime.js';

let taskDir: string;
const runtimes: LambdaRuntime[] = [];

beforeAll(() => {
  taskDir = mkdtempSync(join(tmpdir(), 'runtime-task-'));
  writeFileSync(join(taskDir, 'package.json'), '{"type":"commonjs"}\n');
  writeFileSync(
    join(taskDir, 'index.js'),
    `exports.handler = async (event, context) => {
  console.log('started ' + event.name + ' ' + context.awsRequestId);
  await new Promise((r) => setTimeout(r, event.sleepMs || 0));
  return { statusCode: 200, body: event.name };
};
`,
  );
});

afterEach(async () => {
  for (const runtime of runtimes.splice(0)) await runtime.stop();
});

afterAll(() => {
  rmSync(taskDir, { recursive: true, force: true });
});

/** A runtime on the test handler; `lines` collects the function log (its lines and the runtime's). */
async function startRuntime(options: Partial<LambdaRuntimeOptions>) {
  const lines: string[] = [];
  const runtime = new LambdaRuntime({
    taskDir,
    handler: 'index.handler',
    environment: {},
    functionName: 'test-fn',
    region: 'us-east-1',
    memoryMb: 128,
    timeoutMs: 30_000,
    maxContainers: 2,
    onLog: (line) => lines.push(line),
    ...options,
  });
  runtimes.push(runtime);
  await runtime.warm();
  const started = (name: string) => lines.some((l) => l.startsWith(`started ${name} `));
  const untilStarted = async (name: string) => {
    while (!started(name)) await new Promise((r) => setTimeout(r, 20));
  };
  return { runtime, lines, started, untilStarted };
}

/** Which of two invocations answers first. */
const first = (a: [string, Promise<unknown>], b: [string, Promise<unknown>]) =>
  Promise.race([a[1].then(() => a[0]), b[1].then(() => b[0])]);

const slow = (name: string, sleepMs = 2000) => ({ name, sleepMs });
const body = (r: InvokeResult) => (r.ok ? (r.response as { body: string }).body : r.errorType);

describe('a bounded line of waiting events', () => {
  it('refuses at once, as TooManyRequestsException, an event beyond maxQueued', async () => {
    // Prepare: one container for ordinary events (the other is kept for light ones), two places in line.
    const { runtime, started } = await startRuntime({ maxQueued: 2, maxQueueWaitMs: 20_000 });
    const running = runtime.invoke(slow('a', 3000));
    const waiting = [runtime.invoke(slow('b', 10)), runtime.invoke(slow('c', 10))];

    // Act
    const refused = runtime.invoke(slow('d', 10));

    // Assess: refused without waiting for a to end; the others all ran in turn; d never started.
    expect(await first(['refused', refused], ['a ended', running])).toBe('refused');
    expect(await refused).toMatchObject({ ok: false, errorType: THROTTLED });
    expect((await Promise.all([running, ...waiting])).map(body)).toEqual(['a', 'b', 'c']);
    expect(started('d')).toBe(false);
  });

  it('refuses an event that could not start within maxQueueWaitMs, and never starts it', async () => {
    // Prepare
    const { runtime, started } = await startRuntime({ maxQueueWaitMs: 300 });
    const running = runtime.invoke(slow('a', 2000));

    // Act
    const late = await runtime.invoke(slow('late', 10));
    await running;

    // Assess
    expect(late).toMatchObject({ ok: false, errorType: THROTTLED });
    if (!late.ok) expect(late.errorMessage).toMatch(/no container was free within 300 ms/);
    expect(started('late')).toBe(false);
  });

  it('drops an event whose caller withdrew it while it waited (client gone, deadline passed)', async () => {
    // Prepare
    const { runtime, started } = await startRuntime({ maxQueueWaitMs: 20_000 });
    const running = runtime.invoke(slow('a', 3000));
    const gone = new AbortController();
    const onStarted: string[] = [];

    // Act
    const withdrawn = runtime.invoke(slow('withdrawn', 10), {
      signal: gone.signal,
      onStarted: (id) => onStarted.push(id),
    });
    setTimeout(() => gone.abort(), 200);
    const next = runtime.invoke(slow('next', 10));

    // Assess: it leaves the line (the next one runs after a, not after it), and never runs.
    expect(await withdrawn).toMatchObject({ ok: false, errorType: WITHDRAWN });
    expect((await Promise.all([running, next])).map(body)).toEqual(['a', 'next']);
    expect(started('withdrawn')).toBe(false);
    expect(onStarted).toEqual([]);
  });

  it('never starts an event whose signal was already aborted', async () => {
    const { runtime, started } = await startRuntime({});
    const r = await runtime.invoke(slow('dead', 10), { signal: AbortSignal.abort() });
    expect(r).toMatchObject({ ok: false, errorType: WITHDRAWN });
    expect(started('dead')).toBe(false);
  });
});

describe('the container kept for light events', () => {
  it('runs a light event at once while slow events hold the other container and wait in line', async () => {
    // Prepare: the ordinary container busy with a slow event, three more waiting behind it.
    const { runtime, untilStarted } = await startRuntime({ maxQueueWaitMs: 20_000 });
    const slowOnes = ['s1', 's2', 's3', 's4'].map((n) => runtime.invoke(slow(n, n === 's1' ? 5000 : 10)));
    await untilStarted('s1');

    // Act
    const health = runtime.invoke({ name: 'health', sleepMs: 0 }, { light: true });

    // Assess: answered before the slow event ends, not after the line ahead of it.
    expect(await first(['health', health], ['s1', slowOnes[0] as Promise<InvokeResult>])).toBe('health');
    expect(body(await health)).toBe('health');
    expect((await Promise.all(slowOnes)).map(body)).toEqual(['s1', 's2', 's3', 's4']);
  });

  it('never lets ordinary events take the kept container', async () => {
    const { runtime, started, untilStarted } = await startRuntime({ maxQueueWaitMs: 20_000 });
    const one = runtime.invoke(slow('one', 1000));
    const two = runtime.invoke(slow('two', 10));
    await untilStarted('one');
    // The second waits for the first, though the kept container is idle.
    expect(runtime.pids()).toHaveLength(2);
    expect(started('two')).toBe(false);
    expect(await first(['one', one], ['two', two])).toBe('one');
    await two;
  });

  it('with a single container there is none to keep: light events wait like the others', async () => {
    const { runtime } = await startRuntime({ maxContainers: 1, maxQueueWaitMs: 20_000 });
    const running = runtime.invoke(slow('a', 800));
    const health = runtime.invoke({ name: 'health' }, { light: true });
    expect(await first(['a', running], ['health', health])).toBe('a');
    expect(body(await health)).toBe('health');
  });
});

describe('a container that times out', () => {
  it('is ended and replaced, and the function log says so with the request id', async () => {
    // Prepare
    const { runtime, lines } = await startRuntime({ timeoutMs: 500, maxContainers: 1 });
    const before = runtime.pids();

    // Act
    const timedOut = await runtime.invoke(slow('stuck', 5000));
    const next = await runtime.invoke(slow('next', 10));

    // Assess
    expect(timedOut).toMatchObject({ ok: false, errorType: 'Sandbox.Timedout' });
    const line = lines
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.source === 'lambda');
    expect(line).toMatchObject({
      level: 'ERROR',
      request_id: timedOut.requestId,
      message: expect.stringMatching(/^Task timed out after 0\.50 seconds/),
    });
    expect(body(next)).toBe('next');
    expect(runtime.pids()).toHaveLength(1);
    expect(runtime.pids()).not.toContain(before[0]);
  });
});
