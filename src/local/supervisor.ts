/**
 * `local up --detach`: the stack runs in a background process (`local up --supervise`, the same CLI
 * with the same options) that logs to .chatbot-ops/local/stack.log and records its state when ready.
 * Also which database server a stack uses, and the state `up` records for the running stack.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ChatbotConfig } from '../config.js';
import { UserError } from '../errors.js';
import { localIngestState } from './ingest-stack.js';
import type { DbServer, LocalStack } from './stack.js';
import { type LocalState, localStateDir, readLocalState } from './state.js';
import { lockHeldError, lockHolder } from './up-lock.js';

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
    ...(stack.ingest ? { ingest: localIngestState(stack.ingest) } : {}),
  };
}

function lastLines(file: string, n = 8): string {
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').slice(-n).join('\n') : '';
}

/**
 * Start `node <cli> <args> --log-file <own log>` in the background (its own process group) and wait
 * until it has recorded its state. Its output goes to a log file of its own until it holds the
 * folder's lock and renames that file to stack.log, so an `up` that loses a race never touches the
 * winner's log. A child that exits first, or takes too long, is an error with the end of its log
 * (or the lock holder's pid, when it lost the race).
 */
export async function startSupervisor(
  cliArgs: string[],
): Promise<{ state: LocalState; rows: number; pid: number | undefined; logFile: string }> {
  const stateDir = localStateDir();
  const logFile = join(stateDir, 'stack.log');
  const ownLog = join(stateDir, `stack.${randomBytes(4).toString('hex')}.log`);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const fd = openSync(ownLog, 'wx', 0o600);
  const child = spawn(
    process.execPath,
    [...process.execArgv, process.argv[1] as string, ...cliArgs, '--log-file', ownLog],
    { detached: true, stdio: ['ignore', fd, fd], env: process.env },
  );
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
      // Still under its own name: it never held the lock, so stack.log is someone else's.
      const lostRace = existsSync(ownLog);
      const log = lastLines(lostRace ? ownLog : logFile);
      rmSync(ownLog, { force: true });
      const winner = lostRace ? await lockHolder(stateDir) : undefined;
      if (winner !== undefined) throw lockHeldError(winner);
      throw new UserError(
        `local up --detach failed${exited !== undefined ? ` (exit ${exited})` : ' (timed out)'}`,
        { hint: log || `See ${logFile}.` },
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
