/**
 * The local stand-in for the Lambda service: a pool of container processes (runtime-host), each loading
 * the unpacked bundle once and handling one event at a time, as Lambda's execution environments do.
 * Containers start on demand up to `maxContainers` and stay warm; events wait for a free one beyond that.
 * An invocation that runs past the function's timeout ends its container, as Lambda's does.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';
import type { HostMessage, InvokeMessage } from './runtime-protocol.js';

export type InvokeResult =
  | { ok: true; requestId: string; response: unknown }
  | { ok: false; requestId: string; errorType: string; errorMessage: string };

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
  maxContainers: number;
  /** Each line a container writes on stdout or stderr (the function's log). */
  onLog?: (line: string) => void;
  /** Tests only: latency added before every invocation. */
  extraLatencyMs?: number;
}

interface Container {
  child: ChildProcess;
  busy: boolean;
  ready: Promise<void>;
  current?: { id: number; settle: (r: InvokeResult) => void; timer: NodeJS.Timeout; requestId: string };
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
  private readonly waiting: (() => void)[] = [];
  private nextId = 1;
  private stopping = false;
  private readonly functionArn: string;

  constructor(private readonly options: LambdaRuntimeOptions) {
    this.functionArn = `arn:aws:lambda:${options.region}:000000000000:function:${options.functionName}`;
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
    const child = fork(host.file, [this.options.taskDir, this.options.handler], {
      cwd: this.options.taskDir,
      env: this.containerEnv(),
      execArgv: host.execArgv,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // Its own process group: Ctrl-C at the terminal reaches the stack, which stops containers in order.
      detached: true,
    });
    const container: Container = { child, busy: true, ready: Promise.resolve() };
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
      child.on('message', (message: HostMessage) => {
        if (message.type === 'ready') resolveReady();
        else if (message.type === 'init-error') {
          rejectReady(
            new UserError(
              `the function failed to initialise: ${message.errorType}: ${message.errorMessage}`,
              {
                hint: 'Run `chatbot-ops package` and check the function code; its log has the details.',
              },
            ),
          );
        } else if (container.current && message.id === container.current.id) {
          const { settle, timer, requestId } = container.current;
          clearTimeout(timer);
          container.current = undefined;
          settle(
            message.type === 'result'
              ? { ok: true, requestId, response: message.response }
              : { ok: false, requestId, errorType: message.errorType, errorMessage: message.errorMessage },
          );
          this.release(container);
        }
      });
      child.on('exit', (code, signal) => {
        this.containers.delete(container);
        rejectReady(
          new UserError(`the function's container exited during init (${signal ?? `exit ${code}`})`),
        );
        if (container.current) {
          const { settle, timer, requestId } = container.current;
          clearTimeout(timer);
          container.current = undefined;
          settle({
            ok: false,
            requestId,
            errorType: 'Runtime.ExitError',
            errorMessage: `RequestId: ${requestId} Error: Runtime exited ${signal ? `with signal: ${signal}` : `with error: exit status ${code}`}`,
          });
        }
        this.wakeOne();
      });
    });
    // A rejected ready promise nobody awaits yet must not crash the process.
    container.ready.catch(() => {});
    this.containers.add(container);
    return container;
  }

  private release(container: Container): void {
    container.busy = false;
    this.wakeOne();
  }

  private wakeOne(): void {
    this.waiting.shift()?.();
  }

  /** A free warm container, a new one when under the limit, or wait for one to free up. */
  private async acquire(): Promise<Container> {
    for (;;) {
      if (this.stopping) throw new UserError('the local function is stopping');
      for (const c of this.containers) {
        if (!c.busy && c.child.exitCode === null && c.child.signalCode === null) {
          c.busy = true;
          return c;
        }
      }
      if (this.containers.size < this.options.maxContainers) {
        const c = this.startContainer();
        await c.ready;
        return c;
      }
      await new Promise<void>((r) => this.waiting.push(r));
    }
  }

  /** Start one container and wait for its init, so a broken bundle fails `local up` rather than the first call. */
  async warm(): Promise<void> {
    const c = await this.acquire();
    this.release(c);
  }

  /** Invoke the function with one event (RequestResponse). */
  async invoke(event: unknown): Promise<InvokeResult> {
    const container = await this.acquire();
    const id = this.nextId++;
    const requestId = randomUUID();
    const timeoutMs = this.options.timeoutMs;
    return new Promise<InvokeResult>((settle) => {
      const timer = setTimeout(() => {
        // Lambda ends the whole execution environment on a timeout; the next event gets a fresh one.
        container.current = undefined;
        this.containers.delete(container);
        container.child.kill('SIGKILL');
        settle({
          ok: false,
          requestId,
          errorType: 'Sandbox.Timedout',
          errorMessage: `RequestId: ${requestId} Error: Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
        });
        this.wakeOne();
      }, timeoutMs);
      container.current = { id, settle, timer, requestId };
      const message: InvokeMessage = {
        type: 'invoke',
        id,
        requestId,
        event,
        deadlineMs: Date.now() + timeoutMs,
        functionArn: this.functionArn,
        ...(this.options.extraLatencyMs ? { extraLatencyMs: this.options.extraLatencyMs } : {}),
      };
      container.child.send(message);
    });
  }

  /** Pids of the running containers. */
  pids(): number[] {
    return [...this.containers].map((c) => c.child.pid).filter((p): p is number => p !== undefined);
  }

  /** Stop every container and wait until they have exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const wake of this.waiting.splice(0)) wake();
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
