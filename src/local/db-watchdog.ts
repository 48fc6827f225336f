/**
 * The local stack's watch over its private MariaDB. A server that dies is started again on the same
 * data folder and port, so the function's connection settings stay valid; restarts are bounded (at
 * most `maxRestarts` in `windowMs`), then it gives up and says so. A server that is there but does
 * not answer (stopped with SIGSTOP, hung) is reported, and again once it answers; it is not killed,
 * since whoever stopped it (a debugger, an operator) may resume it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { MariaDbServer } from '../db/server.js';

/** What the watchdog last saw: answering, not answering, being restarted, or given up on. */
export type DatabaseHealth = 'ok' | 'frozen' | 'restarting' | 'gave-up';

export interface WatchdogEvent {
  health: DatabaseHealth;
  level: 'info' | 'warn' | 'error';
  message: string;
  /** The server's pid after the event (a restart changes it); undefined while none runs. */
  pid: number | undefined;
}

export interface WatchdogTuning {
  /** Time between two checks. */
  intervalMs: number;
  /** How long one `SELECT 1` may take. */
  pingTimeoutMs: number;
  /** Unanswered checks in a row before the server counts as frozen. */
  frozenAfter: number;
  /** Restarts allowed within `windowMs` before giving up. */
  maxRestarts: number;
  windowMs: number;
  /** Pause before the next attempt after a failed restart (attempt counts from 1). */
  backoffMs: (attempt: number) => number;
}

export const DEFAULT_TUNING: WatchdogTuning = {
  intervalMs: 2000,
  pingTimeoutMs: 3000,
  frozenAfter: 2,
  maxRestarts: 3,
  windowMs: 10 * 60_000,
  backoffMs: (attempt) => Math.min(1000 * 2 ** (attempt - 1), 10_000),
};

export class DatabaseWatchdog {
  private current: MariaDbServer | undefined;
  private state: DatabaseHealth = 'ok';
  private readonly tuning: WatchdogTuning;
  private readonly restartTimes: number[] = [];
  private missed = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    server: MariaDbServer,
    private readonly restart: () => Promise<MariaDbServer>,
    private readonly onEvent: (event: WatchdogEvent) => void,
    tuning: Partial<WatchdogTuning> = {},
  ) {
    this.current = server;
    this.tuning = { ...DEFAULT_TUNING, ...tuning };
    this.schedule();
  }

  get health(): DatabaseHealth {
    return this.state;
  }

  /** The server now running, if any. */
  get server(): MariaDbServer | undefined {
    return this.current;
  }

  /** The pid of the server now running, if any. */
  get pid(): number | undefined {
    return this.current?.pid;
  }

  /** Stop watching, then stop the server now running. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.current?.stop();
  }

  private emit(level: WatchdogEvent['level'], message: string): void {
    this.onEvent({ health: this.state, level, message, pid: this.current?.pid });
  }

  private schedule(): void {
    if (this.stopped || this.state === 'gave-up') return;
    this.timer = setTimeout(() => {
      this.running = this.check()
        .catch((err: unknown) => this.emit('error', `watching MariaDB failed: ${(err as Error).message}`))
        .finally(() => this.schedule());
    }, this.tuning.intervalMs);
    this.timer.unref();
  }

  private async check(): Promise<void> {
    const server = this.current;
    if (!server) return;
    if (!server.running()) return this.recover(server);
    const answered = await server.ping(this.tuning.pingTimeoutMs);
    if (this.stopped) return;
    if (!server.running()) return this.recover(server);
    if (answered) {
      if (this.state === 'frozen') {
        this.state = 'ok';
        this.emit('info', `MariaDB (pid ${server.pid}) answers again`);
      }
      this.missed = 0;
      return;
    }
    this.missed++;
    if (this.missed >= this.tuning.frozenAfter && this.state !== 'frozen') {
      this.state = 'frozen';
      const seconds = Math.round((this.missed * (this.tuning.intervalMs + this.tuning.pingTimeoutMs)) / 1000);
      this.emit(
        'warn',
        `MariaDB (pid ${server.pid}) is running but has not answered for about ${seconds} s (stopped or hung); requests that need it fail until it answers`,
      );
    }
  }

  private async recover(dead: MariaDbServer): Promise<void> {
    this.current = undefined;
    this.state = 'restarting';
    this.emit('warn', `MariaDB (pid ${dead.pid}) is gone; starting it again on the same data and port`);
    for (let attempt = 1; !this.stopped; attempt++) {
      const now = Date.now();
      while (this.restartTimes.length > 0 && now - (this.restartTimes[0] as number) > this.tuning.windowMs)
        this.restartTimes.shift();
      if (this.restartTimes.length >= this.tuning.maxRestarts) {
        this.state = 'gave-up';
        this.emit(
          'error',
          `MariaDB was restarted ${this.restartTimes.length} times in ${Math.round(this.tuning.windowMs / 60_000)} min; giving up. ` +
            `See ${dead.baseDir}/mariadb.err, then run \`local down\` and \`local up\``,
        );
        return;
      }
      this.restartTimes.push(now);
      try {
        const server = await this.restart();
        if (this.stopped) {
          await server.stop();
          return;
        }
        this.current = server;
        this.state = 'ok';
        this.missed = 0;
        this.emit('info', `MariaDB started again (pid ${server.pid})`);
        return;
      } catch (err) {
        this.emit('error', `starting MariaDB again failed (attempt ${attempt}): ${(err as Error).message}`);
        await sleep(this.tuning.backoffMs(attempt));
      }
    }
  }
}
