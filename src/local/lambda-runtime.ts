/**
 * The local stand-in for the Lambda service: a pool of container processes (runtime-host), each loading
 * the unpacked bundle once and handling one event at a time, as Lambda's execution environments do.
 * Containers start on demand up to `maxContainers` and stay warm; events wait for a free one beyond that.
 * An invocation that runs past the function's timeout ends its container, as Lambda's does.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';
import { encodeFrame, FrameReader, type HostHead, type InvokeHead } from './runtime-protocol.js';

export type InvokeResult =
  | {
      ok: true;
      requestId: string;
      response: unknown;
      /** The answer's body as the UTF-8 bytes the container sent, when it is a string (`response.body`). */
      bodyBytes?: Buffer;
    }
  | { ok: false; requestId: string; errorType: string; errorMessage: string };

/**
 * Lambda's error for an invocation refused because the function's concurrency is used up: here, every
 * container busy and the event could not start within `maxQueueWaitMs` (or the queue was full).
 */
export const THROTTLED = 'TooManyRequestsException';
/** Not Lambda's: the caller withdrew an event that had not started (its client went away or its deadline passed). */
export const WITHDRAWN = 'Local.Withdrawn';

/** Events that may wait for a container beyond this many are refused at once (THROTTLED). */
export const DEFAULT_MAX_QUEUED = 100;
/**
 * How long an event may wait for a container before it is refused (THROTTLED): API Gateway's 29 s
 * integration timeout minus the function's default 25 s QUERY_TIMEOUT_MS, so an event that starts still
 * has its whole query time before the stand-in gives up on it. The stack computes it from its config.
 */
export const DEFAULT_MAX_QUEUE_WAIT_MS = 4_000;

export interface LambdaRuntimeOptions {
  /** The unpacked zip (Lambda's /var/task). */
  taskDir: string;
  /** `file.export`, as the function's Handler setting. */
  handler: string;
  /** The function's environment variables (what the deployed function's configuration holds). */
  environment: Record<string, string>;
  functionName: string;
  region: string;
  memoryMb: number;
  /** The function's timeout. */
  timeoutMs: number;
  /** Concurrent containers; with 2 or more, one is kept for light events (see InvokeOptions.light). */
  maxContainers: number;
  /** Events waiting for a container beyond this many are refused at once (default DEFAULT_MAX_QUEUED). */
  maxQueued?: number;
  /** An event that cannot start within this long is refused (default DEFAULT_MAX_QUEUE_WAIT_MS). */
  maxQueueWaitMs?: number;
  /** Each line a container writes on stdout or stderr (the function's log), and the runtime's own lines. */
  onLog?: (line: string) => void;
  /** Tests only: latency added before every invocation. */
  extraLatencyMs?: number;
}

export interface InvokeOptions {
  /** Aborting withdraws the event while it waits; once started it runs to its end, as on Lambda. */
  signal?: AbortSignal;
  /**
   * The event is known to be quick (the stack marks `health` and `list_intents`): it may run in the
   * container kept for such events, so slow queries holding every other container cannot starve it.
   */
  light?: boolean;
  /** Called with the invocation's request id when a container takes the event. */
  onStarted?: (requestId: string) => void;
}

interface Container {
  child: ChildProcess;
  /** The container's fd 3: invocations go out and answers come back on it as frames. */
  channel: Socket;
  busy: boolean;
  /** The event it runs is a light one (it may be the container kept for them). */
  light: boolean;
  ready: Promise<void>;
  current?: { id: number; settle: (r: InvokeResult) => void; timer: NodeJS.Timeout; requestId: string };
}

type Refusal = { errorType: string; errorMessage: string };

interface Waiter {
  light: boolean;
  grant(container: Container): void;
  refuse(refusal: Refusal): void;
  fail(err: Error): void;
}

/** The host script beside this module: compiled JS in build/, TypeScript (run through tsx) in src/. */
function hostEntry(): { file: string; execArgv: string[] } {
  const js = fileURLToPath(new URL('./runtime-host.js', import.meta.url));
  if (existsSync(js)) return { file: js, execArgv: [] };
  // tsx resolved here, not by name: the container's working folder is the task folder, where it is not found.
  return {
    file: fileURLToPath(new URL('./runtime-host.ts', import.meta.url)),
    execArgv: ['--import', import.meta.resolve('tsx')],
  };
}

export class LambdaRuntime {
  private readonly containers = new Set<Container>();
  /** Events waiting for a container, light ones apart: they are served first. */
  private readonly queues = { light: [] as Waiter[], other: [] as Waiter[] };
  /** Containers kept for light events: one when there are two or more. */
  private readonly reserved: number;
  private readonly maxQueued: number;
  private readonly maxQueueWaitMs: number;
  private nextId = 1;
  private stopping = false;
  private readonly functionArn: string;

  constructor(private readonly options: LambdaRuntimeOptions) {
    this.functionArn = `arn:aws:lambda:${options.region}:000000000000:function:${options.functionName}`;
    this.reserved = options.maxContainers >= 2 ? 1 : 0;
    this.maxQueued = options.maxQueued ?? DEFAULT_MAX_QUEUED;
    this.maxQueueWaitMs = options.maxQueueWaitMs ?? DEFAULT_MAX_QUEUE_WAIT_MS;
  }

  /** A line of the runtime's own in the function's log, as Lambda adds its platform lines to CloudWatch. */
  private log(level: 'WARN' | 'ERROR', message: string, requestId: string): void {
    this.options.onLog?.(JSON.stringify({ level, source: 'lambda', message, request_id: requestId }));
  }

  /** The environment a Lambda container sees: the function's variables plus the runtime's own. */
  private containerEnv(): Record<string, string> {
    const o = this.options;
    return {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      LANG: 'en_US.UTF-8',
      TZ: 'UTC',
      AWS_REGION: o.region,
      AWS_DEFAULT_REGION: o.region,
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      AWS_LAMBDA_FUNCTION_NAME: o.functionName,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(o.memoryMb),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${o.functionName}`,
      AWS_LAMBDA_LOG_STREAM_NAME: `local/${randomUUID()}`,
      LAMBDA_TASK_ROOT: o.taskDir,
      ...o.environment,
    };
  }

  private startContainer(): Container {
    const host = hostEntry();
    const child = spawn(
      process.execPath,
      [...host.execArgv, host.file, this.options.taskDir, this.options.handler],
      {
        cwd: this.options.taskDir,
        env: this.containerEnv(),
        stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
        // Its own process group: Ctrl-C at the terminal reaches the stack, which stops containers in order.
        detached: true,
      },
    );
    const channel = child.stdio[3] as Socket;
    const container: Container = { child, channel, busy: true, light: false, ready: Promise.resolve() };
    for (const stream of [child.stdout, child.stderr]) {
      let buffered = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) this.options.onLog?.(line);
      });
    }
    container.ready = new Promise<void>((resolveReady, rejectReady) => {
      const reader = new FrameReader<HostHead>();
      channel.on('data', (chunk: Buffer) => {
        for (const { head, body } of reader.push(chunk)) {
          if (head.type === 'ready') resolveReady();
          else if (head.type === 'init-error') {
            rejectReady(
              new UserError(`the function failed to initialise: ${head.errorType}: ${head.errorMessage}`, {
                hint: 'Run `chatbot-ops package` and check the function code; its log has the details.',
              }),
            );
          } else if (container.current && head.id === container.current.id) {
            const { settle, timer, requestId } = container.current;
            clearTimeout(timer);
            container.current = undefined;
            settle(
              head.type === 'result'
                ? okResult(requestId, head, body)
                : { ok: false, requestId, ...errorOf(head) },
            );
            this.release(container);
          }
        }
      });
      // The channel closes with the process; its exit is what ends the invocation.
      channel.on('error', () => {});
      child.on('exit', (code, signal) => {
        this.containers.delete(container);
        rejectReady(
          new UserError(`the function's container exited during init (${signal ?? `exit ${code}`})`),
        );
        if (container.current) {
          const { settle, timer, requestId } = container.current;
          clearTimeout(timer);
          container.current = undefined;
          const errorMessage = `RequestId: ${requestId} Error: Runtime exited ${signal ? `with signal: ${signal}` : `with error: exit status ${code}`}`;
          this.log('ERROR', errorMessage, requestId);
          settle({ ok: false, requestId, errorType: 'Runtime.ExitError', errorMessage });
        }
        this.dispatch();
      });
    });
    // A rejected ready promise nobody awaits yet must not crash the process.
    container.ready.catch(() => {});
    this.containers.add(container);
    return container;
  }

  /**
   * Whether an event may take a container now: fewer than maxContainers busy, and for an event that is
   * not light, fewer than the containers not kept for light events.
   */
  private canStart(light: boolean): boolean {
    let busy = 0;
    let busyOther = 0;
    for (const c of this.containers) {
      if (!c.busy) continue;
      busy++;
      if (!c.light) busyOther++;
    }
    if (busy >= this.options.maxContainers) return false;
    return light || busyOther < this.options.maxContainers - this.reserved;
  }

  /** A free warm container, or a new one (canStart said there is room for it). */
  private claim(light: boolean): Container {
    for (const c of this.containers) {
      if (!c.busy && c.child.exitCode === null && c.child.signalCode === null) {
        c.busy = true;
        c.light = light;
        return c;
      }
    }
    const c = this.startContainer();
    c.light = light;
    return c;
  }

  private release(container: Container): void {
    container.busy = false;
    container.light = false;
    this.dispatch();
  }

  /** Hand free containers to waiting events, light ones first. */
  private dispatch(): void {
    for (;;) {
      const queue =
        this.queues.light.length > 0 && this.canStart(true)
          ? this.queues.light
          : this.queues.other.length > 0 && this.canStart(false)
            ? this.queues.other
            : undefined;
      const waiter = queue?.shift();
      if (!waiter) return;
      waiter.grant(this.claim(waiter.light));
    }
  }

  /**
   * A container for one event: at once when one is free (or may be started), else after waiting in
   * line at most maxQueueWaitMs; a refusal when the line is full, the wait too long or the signal aborted.
   */
  private acquire(light: boolean, signal: AbortSignal | undefined): Promise<Container | Refusal> {
    if (this.stopping) return Promise.reject(new UserError('the local function is stopping'));
    if (signal?.aborted) return Promise.resolve(withdrawn());
    const queue = light ? this.queues.light : this.queues.other;
    if (queue.length === 0 && this.canStart(light)) return Promise.resolve(this.claim(light));
    const waiting = this.queues.light.length + this.queues.other.length;
    if (waiting >= this.maxQueued)
      return Promise.resolve(throttled(`every container is busy and ${waiting} events are waiting`));
    return new Promise((resolve, reject) => {
      const leave = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const at = queue.indexOf(waiter);
        if (at !== -1) queue.splice(at, 1);
      };
      const onAbort = () => {
        leave();
        resolve(withdrawn());
      };
      const waiter: Waiter = {
        light,
        grant: (c) => {
          leave();
          resolve(c);
        },
        refuse: (r) => {
          leave();
          resolve(r);
        },
        fail: (err) => {
          leave();
          reject(err);
        },
      };
      // Lambda refuses at once when its concurrency is used up; a short wait here stands in for the
      // containers Lambda would add, and keeps a burst of quick events from being refused.
      const timer = setTimeout(
        () => waiter.refuse(throttled(`no container was free within ${this.maxQueueWaitMs} ms`)),
        this.maxQueueWaitMs,
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.push(waiter);
    });
  }

  /**
   * Start a container and wait for its init, so a broken bundle fails `local up` rather than the first
   * call; and the one kept for light events, so the first health check pays no cold start.
   */
  async warm(): Promise<void> {
    const claimed = [this.claim(false), ...(this.reserved > 0 ? [this.claim(true)] : [])];
    try {
      await Promise.all(claimed.map((c) => c.ready));
    } finally {
      for (const c of claimed) if (this.containers.has(c)) this.release(c);
    }
  }

  /** Invoke the function with one event (RequestResponse). */
  async invoke(event: unknown, options: InvokeOptions = {}): Promise<InvokeResult> {
    const got = await this.acquire(options.light ?? false, options.signal);
    if (!('child' in got)) return { ok: false, requestId: randomUUID(), ...got };
    const container = got;
    try {
      await container.ready;
    } catch (err) {
      // Its exit already removed it; the next event starts another.
      this.dispatch();
      throw err;
    }
    // Withdrawn while its container started: it never runs.
    if (options.signal?.aborted) {
      this.release(container);
      return { ok: false, requestId: randomUUID(), ...withdrawn() };
    }
    const id = this.nextId++;
    const requestId = randomUUID();
    const timeoutMs = this.options.timeoutMs;
    options.onStarted?.(requestId);
    return new Promise<InvokeResult>((settle) => {
      const timer = setTimeout(() => {
        // Lambda ends the whole execution environment on a timeout; the next event gets a fresh one.
        container.current = undefined;
        this.containers.delete(container);
        container.child.kill('SIGKILL');
        const seconds = (timeoutMs / 1000).toFixed(2);
        this.log(
          'ERROR',
          `Task timed out after ${seconds} seconds; its container (pid ${container.child.pid}) was ended, the next event gets a new one`,
          requestId,
        );
        settle({
          ok: false,
          requestId,
          errorType: 'Sandbox.Timedout',
          errorMessage: `RequestId: ${requestId} Error: Task timed out after ${seconds} seconds`,
        });
        this.dispatch();
      }, timeoutMs);
      container.current = { id, settle, timer, requestId };
      const head: InvokeHead = {
        type: 'invoke',
        id,
        requestId,
        deadlineMs: Date.now() + timeoutMs,
        functionArn: this.functionArn,
        ...(this.options.extraLatencyMs ? { extraLatencyMs: this.options.extraLatencyMs } : {}),
      };
      // JSON has no text for undefined: no bytes, which the container reads back as undefined.
      container.channel.write(encodeFrame(head, JSON.stringify(event) ?? ''));
    });
  }

  /** Pids of the running containers. */
  pids(): number[] {
    return [...this.containers].map((c) => c.child.pid).filter((p): p is number => p !== undefined);
  }

  /** Events waiting for a container now. */
  queued(): number {
    return this.queues.light.length + this.queues.other.length;
  }

  /** Stop every container and wait until they have exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const waiter of [...this.queues.light, ...this.queues.other])
      waiter.fail(new UserError('the local function is stopping'));
    await Promise.all(
      [...this.containers].map(
        (c) =>
          new Promise<void>((done) => {
            if (c.child.exitCode !== null || c.child.signalCode !== null) return done();
            c.child.once('exit', () => done());
            c.child.kill('SIGTERM');
            setTimeout(() => c.child.kill('SIGKILL'), 3000).unref();
          }),
      ),
    );
    this.containers.clear();
  }
}

/** A result frame as the invocation's answer, its body read back into the string the handler returned. */
function okResult(
  requestId: string,
  head: Extract<HostHead, { type: 'result' }>,
  body: Buffer,
): InvokeResult {
  if (head.body !== 'utf8') return { ok: true, requestId, response: head.response };
  head.response.body = body.toString('utf8');
  return { ok: true, requestId, response: head.response, bodyBytes: body };
}

function errorOf(head: { errorType: string; errorMessage: string }): Refusal {
  return { errorType: head.errorType, errorMessage: head.errorMessage };
}

function throttled(why: string): Refusal {
  return { errorType: THROTTLED, errorMessage: `Rate Exceeded. (${why})` };
}

function withdrawn(): Refusal {
  return { errorType: WITHDRAWN, errorMessage: 'withdrawn before it started' };
}
