/**
 * A private MariaDB server started from the system's binaries: data directory in a folder of
 * ours, a free port on 127.0.0.1, root without a password reachable only there. Used by the
 * test set-up and by `chatbot-ops local`. Nothing here touches a system-wide MariaDB.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { UserError } from '../errors.js';

export interface MariaDbServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Administrative user (root, no password, loopback only). */
  readonly user: 'root';
  readonly password: '';
  readonly dataDir: string;
  readonly pid: number;
  /** Stop the server (SIGTERM, then SIGKILL after a grace period) and remove its folder unless kept. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Folder that will hold data/, the socket, the pid file and the error log. Default: a new temp folder. */
  baseDir?: string;
  /** Port on 127.0.0.1; default a free one. */
  port?: number;
  /** Keep baseDir on stop (the local stack keeps its data between runs). */
  keep?: boolean;
  /** Detach from this process so the server outlives it (`local up --detach`). */
  detached?: boolean;
  /** How long to wait for the server to answer. */
  timeoutMs?: number;
  /** InnoDB buffer pool (default 512M); the 10-million-row benchmark gives its server more. */
  bufferPoolSize?: string;
}

const SEARCH_DIRS = [
  '/usr/sbin',
  '/usr/local/sbin',
  '/usr/bin',
  '/usr/local/bin',
  '/usr/local/mysql/bin',
  '/opt/mariadb/bin',
];

/**
 * The first of `names` found on PATH or in the usual system folders; MARIADB_BIN_DIR, when set, is
 * the only folder searched (a MariaDB installed somewhere else, or none at all in tests).
 */
export function findBinary(names: string[], env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = env.MARIADB_BIN_DIR
    ? [env.MARIADB_BIN_DIR]
    : [...(env.PATH ?? '').split(':').filter(Boolean), ...SEARCH_DIRS];
  for (const name of names) for (const dir of dirs) if (existsSync(join(dir, name))) return join(dir, name);
  return undefined;
}

export function mariadbMissingError(what: string): UserError {
  const where = process.env.MARIADB_BIN_DIR
    ? ` in MARIADB_BIN_DIR (${process.env.MARIADB_BIN_DIR})`
    : ' on this machine';
  return new UserError(`${what} was not found${where}`, {
    hint:
      'Install the MariaDB server (Debian/Ubuntu: `sudo apt-get install -y mariadb-server`; macOS: `brew install mariadb`), ' +
      'or point DB_HOST, DB_PORT, DB_USER and DB_PASSWORD at an existing server.',
  });
}

/** Ask the kernel for a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Is a TCP port on 127.0.0.1 accepting connections? */
export async function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(true));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(false)));
  });
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no error log)';
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stop a server by pid (used by `local down`, which did not start it in this process). */
export async function stopPid(pid: number, graceMs = 30000): Promise<void> {
  if (!isRunning(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isRunning(pid)) return;
    await sleep(100);
  }
  if (isRunning(pid)) process.kill(pid, 'SIGKILL');
}

/** Initialise (first time only) and start a private MariaDB server, resolving once it answers queries. */
export async function startMariaDb(options: StartOptions = {}): Promise<MariaDbServer> {
  const mariadbd = findBinary(['mariadbd', 'mysqld']);
  if (!mariadbd) throw mariadbMissingError('mariadbd (the MariaDB server)');
  const baseDir = options.baseDir ?? mkdtempSync(join(tmpdir(), 'chatbot-ops-mariadb-'));
  const dataDir = join(baseDir, 'data');
  const errorLog = join(baseDir, 'mariadb.err');
  const user = userInfo().username;
  mkdirSync(baseDir, { recursive: true });

  if (!existsSync(join(dataDir, 'mysql'))) {
    const installDb = findBinary(['mariadb-install-db', 'mysql_install_db']);
    if (!installDb) throw mariadbMissingError('mariadb-install-db');
    const init = spawnSync(
      installDb,
      [
        '--no-defaults',
        `--datadir=${dataDir}`,
        `--user=${user}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        '--skip-name-resolve',
      ],
      { encoding: 'utf8', timeout: 120000 },
    );
    if (init.status !== 0) {
      rmSync(dataDir, { recursive: true, force: true });
      throw new UserError(`mariadb-install-db failed (exit ${init.status ?? init.signal})`, {
        hint: `${(init.stderr || init.stdout || '').trim().split('\n').slice(-5).join('\n')}`,
      });
    }
  }

  // Temporary tables (large GROUP BYs) go under the instance's own folder: a shared /tmp can be
  // cleaned under a running server, which then fails those queries.
  const tmpDir = join(baseDir, 'tmp');
  mkdirSync(tmpDir, { recursive: true });

  const port = options.port ?? (await freePort());
  if (options.port !== undefined && (await portInUse(port)))
    throw new UserError(`port ${port} on 127.0.0.1 is already in use`, {
      hint: 'Choose another port or stop what uses it.',
    });

  const child: ChildProcess = spawn(
    mariadbd,
    [
      '--no-defaults',
      `--datadir=${dataDir}`,
      `--socket=${join(baseDir, 'mariadb.sock')}`,
      `--pid-file=${join(baseDir, 'mariadb.pid')}`,
      `--log-error=${errorLog}`,
      `--tmpdir=${tmpDir}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--user=${user}`,
      '--skip-name-resolve',
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_unicode_ci',
      '--default-time-zone=+00:00',
      `--innodb-buffer-pool-size=${options.bufferPoolSize ?? '512M'}`,
      '--innodb-log-file-size=256M',
      // A private, disposable instance: trade crash durability for load speed.
      '--innodb-flush-log-at-trx-commit=2',
      '--skip-log-bin',
      '--max-connections=500',
    ],
    { stdio: 'ignore', detached: options.detached ?? false },
  );
  if (options.detached) child.unref();
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  const pid = child.pid;
  if (pid === undefined) throw new UserError(`could not start ${mariadbd}`);

  const deadline = Date.now() + (options.timeoutMs ?? 60000);
  for (;;) {
    if (exited !== undefined) {
      throw new UserError(`mariadbd exited during start-up (code ${exited})`, { hint: tail(errorLog) });
    }
    try {
      const conn = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', password: '' });
      await conn.query('SELECT 1');
      await conn.end();
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        await stopPid(pid, 5000);
        throw new UserError(`mariadbd did not answer on 127.0.0.1:${port} in time`, {
          hint: tail(errorLog),
          cause: err,
        });
      }
      await sleep(100);
    }
  }

  return {
    host: '127.0.0.1',
    port,
    user: 'root',
    password: '',
    dataDir,
    pid,
    async stop() {
      await stopPid(pid);
      if (!options.keep) rmSync(baseDir, { recursive: true, force: true });
    },
  };
}
