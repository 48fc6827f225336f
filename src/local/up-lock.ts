/**
 * One `local up` per folder at a time. The lock is a listening unix socket named after the state
 * folder: binding is atomic, so of two racing `up`s exactly one gets it, and the kernel releases it
 * when its holder ends however it ends (a killed process leaves nothing stale behind). On Linux it
 * is an abstract socket (no file); elsewhere a socket file in the state folder. The holder writes
 * its pid beside it (up.pid), for the loser's message only: a connection that succeeds is what
 * says the lock is held, even while the holder is too busy to answer anything.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { UserError } from '../errors.js';

export interface UpLock {
  release(): Promise<void>;
}

function lockAddress(stateDir: string): string {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  if (process.platform !== 'linux') return join(stateDir, 'up.lock');
  const id = createHash('sha256').update(realpathSync(stateDir)).digest('hex').slice(0, 32);
  return `\0chatbot-ops-local-up-${id}`;
}

const pidFile = (stateDir: string) => join(stateDir, 'up.pid');

/** The pid of the process holding the lock (-1 if it has not written it yet), or undefined when nobody holds it. */
export function lockHolder(stateDir: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = connect(lockAddress(stateDir));
    socket.on('connect', () => {
      socket.destroy();
      let pid = Number.NaN;
      try {
        pid = Number(readFileSync(pidFile(stateDir), 'utf8').trim());
      } catch {
        // Not written yet.
      }
      resolve(Number.isInteger(pid) && pid > 0 ? pid : -1);
    });
    socket.on('error', () => resolve(undefined));
  });
}

function listen(server: Server, address: string): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err));
    server.listen(address, () => resolve(undefined));
  });
}

/** What an `up` that finds the folder taken says; `holder` as `lockHolder` gives it (-1: unknown pid). */
export function lockHeldError(holder: number | undefined): UserError {
  return new UserError(
    `another \`local up\` is already starting or running in this folder${holder && holder > 0 ? ` (pid ${holder})` : ''}`,
    {
      hint: 'Use that stack (`chatbot-ops local status`), or stop it with `chatbot-ops local down` first.',
    },
  );
}

/** Take the lock for this process, or fail with a UserError naming the holder. */
export async function acquireUpLock(stateDir: string): Promise<UpLock> {
  const address = lockAddress(stateDir);
  for (let attempt = 0; ; attempt++) {
    const server = createServer((socket) => {
      // An asker only checks that it can connect; its hanging up is no reason for the holder to fail.
      socket.on('error', () => {});
      socket.destroy();
    });
    const err = await listen(server, address);
    if (!err) {
      server.unref();
      writeFileSync(pidFile(stateDir), `${process.pid}\n`, { mode: 0o600 });
      return {
        release: async () => {
          rmSync(pidFile(stateDir), { force: true });
          await new Promise<void>((resolve) => server.close(() => resolve()));
        },
      };
    }
    if (err.code !== 'EADDRINUSE') throw err;
    const holder = await lockHolder(stateDir);
    // Nobody answers: the holder has just let go, or (not Linux) a killed holder left its socket file.
    if (holder === undefined && attempt < 2) {
      if (!address.startsWith('\0')) rmSync(address, { force: true });
      continue;
    }
    throw lockHeldError(holder);
  }
}
