/**
 * What is running of a previous `local up`, from its state file: still alive (a second `up` must not
 * start), broken (its supervisor lives but its private database is dead: stop it), stale (killed
 * without `down`: clean it), or nothing. Also stopping it, for `local down`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { portInUse, stopPid } from '../db/server.js';
import { type LocalState, localStateDir, readLocalState, removeLocalState } from './state.js';

/** Whether a process runs: no pid is no process; EPERM means it runs under another user. */
export function isProcessAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive but not ours to signal.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The local stack's database, while `local up` runs (or left state for a server it did not start). */
export function runningLocalDatabase(cwd?: string): LocalState['db'] | undefined {
  const state = readLocalState(cwd);
  if (!state) return undefined;
  if (state.db.managed && !isProcessAlive(state.pids.mariadb)) return undefined;
  // The writer login the stack keeps for loading and seeding: never the function's SELECT-only
  // login, never the server's administrator. States written before the writer existed fall back
  // to the login they hold.
  const { host, port, database, managed } = state.db;
  const { user, password } = state.db.writer ?? state.db;
  return { host, port, database, managed, user, password };
}

export type ExistingStack =
  | { kind: 'none' }
  | { kind: 'running'; state: LocalState }
  | { kind: 'broken'; state: LocalState; reason: string }
  | { kind: 'stale'; state: LocalState | undefined; leftovers: number[] };

/** The pid of a mariadbd still serving our private data folder (its pid file, checked against /proc). */
function orphanedMariaDb(stateDir: string): number | undefined {
  const pidFile = join(stateDir, 'mariadb', 'mariadb.pid');
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0 || !isProcessAlive(pid)) return undefined;
  // A recycled pid must not be killed: only a mariadbd started on our data folder is ours.
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(join(stateDir, 'mariadb', 'data')) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why the stack's private database is out of service, as far as processes and the supervisor's
 * own record tell (a frozen server is alive: only a query finds that out); undefined if it is not.
 */
export function deadDatabase(state: LocalState): string | undefined {
  if (!state.db.managed) return undefined;
  if (state.database?.health === 'gave-up') return state.database.message;
  if (!isProcessAlive(state.pids.mariadb)) {
    return state.database?.health === 'restarting'
      ? state.database.message
      : `its MariaDB (pid ${state.pids.mariadb ?? '-'}) is not running`;
  }
  return undefined;
}

export function inspectExistingStack(cwd = process.cwd()): ExistingStack {
  const stateDir = localStateDir(cwd);
  const state = readLocalState(cwd);
  if (state && isProcessAlive(state.pids.supervisor)) {
    const reason = deadDatabase(state);
    return reason === undefined ? { kind: 'running', state } : { kind: 'broken', state, reason };
  }
  const leftovers = new Set<number>();
  if (state?.db.managed && isProcessAlive(state.pids.mariadb)) leftovers.add(state.pids.mariadb as number);
  const orphan = orphanedMariaDb(stateDir);
  if (orphan !== undefined) leftovers.add(orphan);
  if (!state && leftovers.size === 0) return { kind: 'none' };
  return { kind: 'stale', state, leftovers: [...leftovers] };
}

/** Stop the leftovers of a killed run and forget its state. */
export async function cleanStaleStack(stale: { leftovers: number[] }, cwd = process.cwd()): Promise<void> {
  for (const pid of stale.leftovers) await stopPid(pid);
  removeLocalState(cwd);
}

/**
 * Stop what `up` started: the supervisor (which stops its containers and database), then the database
 * directly if it outlived it. Waits until the gateway's port is free.
 */
export async function stopRecordedStack(state: LocalState, cwd = process.cwd()): Promise<void> {
  if (state.pids.supervisor !== undefined) await stopPid(state.pids.supervisor);
  if (state.db.managed && state.pids.mariadb !== undefined) await stopPid(state.pids.mariadb);
  const orphan = orphanedMariaDb(localStateDir(cwd));
  if (orphan !== undefined) await stopPid(orphan);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && (await portInUse(state.gateway.port)))
    await new Promise((r) => setTimeout(r, 100));
  removeLocalState(cwd);
}
