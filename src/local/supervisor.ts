/**
 * `local up --detach`: the stack runs in a background process (`local up --supervise`, the same CLI
 * with the same options) that logs to .chatbot-ops/local/stack.log and records its state when ready.
 * Also which database server a stack uses, and the state `up` records for the running stack.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChatbotConfig } from '../config.js';
import { UserError } from '../errors.js';
import type { DbServer, LocalStack } from './stack.js';
import { type LocalState, localStateDir, readLocalState } from './state.js';

/** How long a background stack may take to come up (a first run builds the package and seeds rows). */
const START_BUDGET_MS = 300_000;

/** An existing server named by DB_HOST (or the config's database.host): the stack uses it as given. */
export function namedServer(config: ChatbotConfig, env = process.env): DbServer | undefined {
  const db = config.database;
  if (env.DB_HOST) {
    return {
      host: env.DB_HOST,
      port: Number(env.DB_PORT ?? 3306),
      user: env.DB_USER ?? db.user,
      password: env.DB_PASSWORD ?? '',
    };
  }
  if (db.host) return { host: db.host, port: db.port, user: db.user, password: env[db.passwordEnv] ?? '' };
  return undefined;
}

/** What `up` records for a running stack, with the pid of the process that supervises it. */
export function recordedState(stack: LocalStack, supervisor: number): LocalState {
  return {
    version: 1,
    startedAt: new Date().toISOString(),
    dir: localStateDir(),
    pids: { supervisor, ...(stack.mariadbPid !== undefined ? { mariadb: stack.mariadbPid } : {}) },
    gateway: {
      url: stack.url,
      host: '127.0.0.1',
      port: stack.port,
      stage: stack.stage,
      resource: stack.resource,
    },
    apiKey: stack.apiKey,
    usagePlan: stack.usagePlan,
    db: stack.db,
  };
}

/**
 * Start `node <cli> <args>` in the background (its own process group, output to stack.log) and wait
 * until it has recorded its state. A child that exits first, or takes too long, is an error with the
 * end of its log.
 */
export async function startSupervisor(
  cliArgs: string[],
): Promise<{ state: LocalState; rows: number; pid: number | undefined; logFile: string }> {
  const stateDir = localStateDir();
  const logFile = join(stateDir, 'stack.log');
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const fd = openSync(logFile, 'w', 0o600);
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1] as string, ...cliArgs], {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: process.env,
  });
  closeSync(fd);
  child.unref();
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  const deadline = Date.now() + START_BUDGET_MS;
  for (;;) {
    const state = readLocalState();
    if (state && state.pids.supervisor === child.pid) {
      const rows = Number(/rows=(\d+)/.exec(readFileSync(logFile, 'utf8'))?.[1] ?? 0);
      return { state, rows, pid: child.pid, logFile };
    }
    if (exited !== undefined || Date.now() > deadline) {
      if (exited === undefined && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
      const log = existsSync(logFile)
        ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-8).join('\n')
        : '';
      throw new UserError(
        `local up --detach failed${exited !== undefined ? ` (exit ${exited})` : ' (timed out)'}`,
        { hint: log || `See ${logFile}.` },
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
