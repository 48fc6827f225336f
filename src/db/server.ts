/**
 * A private MariaDB server started from the system's binaries: data directory in a folder of
 * ours, a free port on 127.0.0.1. Used by the test set-up and by `chatbot-ops local`. Nothing
 * here touches a system-wide MariaDB.
 *
 * Closed to other local users by construction, on every start (so an orphan left by a killed
 * supervisor is just as closed):
 * - no account answers on TCP without a password: root (and the account of the OS user running
 *   this process) log in only over the server's own unix socket, by unix_socket authentication;
 *   TCP has one administrative account whose random password is made on each start and kept in
 *   this process' memory only;
 * - `secure_file_priv` confines server-side file reads and writes to a folder of the instance;
 * - when this process runs as root, the server runs as the `mysql` system user, never as root.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  lchownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  type Stats,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { UserError } from '../errors.js';
import { answersWithin } from './connection.js';

export interface MariaDbServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /**
   * The administrative account over TCP (`chatbot_ops_admin`@127.0.0.1, all privileges); its
   * password is new on every start and lives only in this process.
   */
  readonly user: string;
  readonly password: string;
  /** The server's unix socket; `socketUser` logs in there with no password (unix_socket auth). */
  readonly socket: string;
  /** The OS user running this process, which is also its account over the socket. */
  readonly socketUser: string;
  readonly baseDir: string;
  readonly dataDir: string;
  readonly pid: number;
  /** The OS account the server runs as. */
  readonly account: string;
  /** Is the server's process still there? */
  running(): boolean;
  /** Does the server answer `SELECT 1` over its socket within `timeoutMs`? */
  ping(timeoutMs?: number): Promise<boolean>;
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
  /**
   * Folders above baseDir that belong to the caller: when the server runs as another OS user
   * (`mysql`) and cannot pass through one of them, its group becomes that user's group with
   * search permission only (no listing). Any other folder in the way is an error to fix by hand.
   */
  openParents?: string[];
  /** Refuse to initialise a new data folder: a restart must find the data it served. */
  requireData?: boolean;
}

/** The TCP administrative account; re-created with a new password on every start. */
const ADMIN_USER = 'chatbot_ops_admin';
const ADMIN = `'${ADMIN_USER}'@'127.0.0.1'`;

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
  // A stopped (SIGSTOP) server only handles the SIGTERM once it runs again.
  process.kill(pid, 'SIGCONT');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isRunning(pid)) return;
    await sleep(100);
  }
  if (isRunning(pid)) process.kill(pid, 'SIGKILL');
}

/** An OS account to run the server as. */
export interface OsAccount {
  name: string;
  uid: number;
  gid: number;
  /** Every group it is in (the primary one included). */
  groups: number[];
}

function idOf(name: string, flag: '-u' | '-g' | '-G'): number[] | undefined {
  const r = spawnSync('id', [flag, name], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const ids = r.stdout.trim().split(/\s+/).map(Number);
  return ids.every(Number.isInteger) ? ids : undefined;
}

/**
 * Who the server runs as: this process' own user, unless that is root; then the `mysql` system
 * user (`_mysql` on macOS), which the MariaDB packages create. Undefined means "as this process".
 */
export function serverAccount(uid = process.getuid?.()): OsAccount | undefined {
  if (uid !== 0) return undefined;
  for (const name of ['mysql', '_mysql']) {
    const [u] = idOf(name, '-u') ?? [];
    const [g] = idOf(name, '-g') ?? [];
    if (u === undefined || g === undefined || u === 0) continue;
    return { name, uid: u, gid: g, groups: idOf(name, '-G') ?? [g] };
  }
  throw new UserError(
    'the private MariaDB never runs as root, and this machine has no "mysql" system user to run it as',
    {
      hint:
        'Create it (Debian/Ubuntu: `sudo adduser --system --group --no-create-home mysql`; installing ' +
        'mariadb-server does this), run chatbot-ops as a user other than root, or point DB_HOST at an existing server.',
    },
  );
}

/** Could `account` search (pass through) a folder with these permissions? Owner, then group, then others. */
function canSearch(st: Stats, account: OsAccount): boolean {
  if (st.uid === account.uid) return (st.mode & 0o100) !== 0;
  if (account.groups.includes(st.gid)) return (st.mode & 0o010) !== 0;
  return (st.mode & 0o001) !== 0;
}

/**
 * Make sure `account` can reach `dir`: every folder above it must let it through. Folders listed in
 * `openParents` (ours) are opened to its group for search only; any other is the user's to decide.
 */
function letThrough(dir: string, account: OsAccount, openParents: string[]): void {
  const ours = new Set(openParents.map((p) => realpathSync(p)));
  const chain: string[] = [];
  for (let d = dirname(realpathSync(dir)); ; d = dirname(d)) {
    chain.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const folder of chain) {
    const st = statSync(folder);
    if (canSearch(st, account)) continue;
    if (ours.has(folder)) {
      chownSync(folder, st.uid, account.gid);
      chmodSync(folder, (st.mode & 0o7707) | 0o010);
      continue;
    }
    throw new UserError(
      `the private MariaDB runs as the system user "${account.name}" (never as root), which cannot pass through ${folder} to reach ${dir}`,
      {
        hint:
          `Run it from a folder that user can reach, let it through with \`chmod o+x ${folder}\` ` +
          '(search only, no listing), run chatbot-ops as a user other than root, or point DB_HOST at an existing server.',
      },
    );
  }
}

/** Give `dir` and everything in it to `account` (a data folder made by an earlier run as root, say). */
function chownTree(dir: string, account: OsAccount): void {
  lchownSync(dir, account.uid, account.gid);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) chownTree(path, account);
    else lchownSync(path, account.uid, account.gid);
  }
}

/**
 * SQL the server runs at every start before it serves any client (--init-file). It closes data
 * folders made before these rules (root without a password on 127.0.0.1 and ::1) the same way as
 * new ones, and drops the previous start's TCP administrator, whose password died with its process.
 * One statement per line: that is how the server reads the file.
 */
function initSql(socketUser: string): string {
  const me = `${mysql.escape(socketUser)}@'localhost'`;
  return [
    "DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host <> 'localhost');",
    "DELETE FROM mysql.proxies_priv WHERE User = '' OR (User = 'root' AND Host <> 'localhost');",
    'FLUSH PRIVILEGES;',
    "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket;",
    `CREATE USER IF NOT EXISTS ${me} IDENTIFIED VIA unix_socket;`,
    `ALTER USER ${me} IDENTIFIED VIA unix_socket;`,
    `GRANT ALL PRIVILEGES ON *.* TO ${me} WITH GRANT OPTION;`,
    `DROP USER IF EXISTS ${ADMIN};`,
    '',
  ].join('\n');
}

/** A private folder of the instance: owned by the server's account, closed to everyone else. */
function privateFolder(path: string, account: OsAccount | undefined): string {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chmodSync(path, 0o700);
  if (account) chownSync(path, account.uid, account.gid);
  return path;
}

/** Initialise (first time only) and start a private MariaDB server, resolving once it answers queries. */
export async function startMariaDb(options: StartOptions = {}): Promise<MariaDbServer> {
  const mariadbd = findBinary(['mariadbd', 'mysqld']);
  if (!mariadbd) throw mariadbMissingError('mariadbd (the MariaDB server)');
  const account = serverAccount();
  const baseDir = options.baseDir ?? mkdtempSync(join(tmpdir(), 'chatbot-ops-mariadb-'));
  mkdirSync(baseDir, { recursive: true, mode: 0o700 });
  const dataDir = join(baseDir, 'data');
  const errorLog = join(baseDir, 'mariadb.err');
  const socket = join(baseDir, 'mariadb.sock');
  const socketUser = userInfo().username;
  if (account) {
    letThrough(baseDir, account, options.openParents ?? []);
    chownTree(baseDir, account);
  }
  privateFolder(baseDir, account);
  // Temporary tables (large GROUP BYs) go under the instance's own folder: a shared /tmp can be
  // cleaned under a running server, which then fails those queries.
  const tmpDir = privateFolder(join(baseDir, 'tmp'), account);
  const filesDir = privateFolder(join(baseDir, 'files'), account);
  const runAs = {
    ...(account ? { uid: account.uid, gid: account.gid } : {}),
    cwd: baseDir,
    env: { ...process.env, TMPDIR: tmpDir },
  };

  if (!existsSync(join(dataDir, 'mysql'))) {
    if (options.requireData) {
      throw new UserError(`the private MariaDB's data folder ${dataDir} is missing or incomplete`, {
        hint: 'Nothing was started on an empty folder in its place; restore it, or remove the folder to start afresh.',
      });
    }
    const installDb = findBinary(['mariadb-install-db', 'mysql_install_db']);
    if (!installDb) throw mariadbMissingError('mariadb-install-db');
    const init = spawnSync(
      installDb,
      [
        '--no-defaults',
        `--datadir=${dataDir}`,
        '--auth-root-authentication-method=socket',
        `--auth-root-socket-user=${socketUser}`,
        '--skip-test-db',
        '--skip-name-resolve',
      ],
      { ...runAs, encoding: 'utf8', timeout: 120000 },
    );
    if (init.status !== 0) {
      rmSync(dataDir, { recursive: true, force: true });
      throw new UserError(`mariadb-install-db failed (exit ${init.status ?? init.signal})`, {
        hint: `${(init.stderr || init.stdout || '').trim().split('\n').slice(-5).join('\n')}`,
      });
    }
  }
  const initFile = join(baseDir, 'init.sql');
  writeFileSync(initFile, initSql(socketUser), { mode: 0o600 });
  if (account) chownSync(initFile, account.uid, account.gid);

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
      `--socket=${socket}`,
      `--pid-file=${join(baseDir, 'mariadb.pid')}`,
      `--log-error=${errorLog}`,
      `--tmpdir=${tmpDir}`,
      `--secure-file-priv=${filesDir}`,
      `--init-file=${initFile}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
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
    { ...runAs, stdio: 'ignore', detached: options.detached ?? false },
  );
  if (options.detached) child.unref();
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  const pid = child.pid;
  if (pid === undefined) throw new UserError(`could not start ${mariadbd}`);

  const deadline = Date.now() + (options.timeoutMs ?? 60000);
  const password = randomBytes(18).toString('base64url');
  for (;;) {
    if (exited !== undefined) {
      throw new UserError(`mariadbd exited during start-up (code ${exited})`, { hint: tail(errorLog) });
    }
    try {
      const conn = await mysql.createConnection({ socketPath: socket, user: socketUser });
      try {
        await conn.query(`CREATE OR REPLACE USER ${ADMIN} IDENTIFIED BY ?`, [password]);
        await conn.query(`GRANT ALL PRIVILEGES ON *.* TO ${ADMIN} WITH GRANT OPTION`);
      } finally {
        await conn.end();
      }
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        await stopPid(pid, 5000);
        throw new UserError(`mariadbd did not answer on ${socket} in time`, {
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
    user: ADMIN_USER,
    password,
    socket,
    socketUser,
    baseDir,
    dataDir,
    pid,
    account: account?.name ?? socketUser,
    running: () => exited === undefined && isRunning(pid),
    ping: (timeoutMs = 5000) =>
      answersWithin({ socketPath: socket, user: socketUser }, 'SELECT 1', timeoutMs).then(
        (rows) => rows !== undefined,
      ),
    async stop() {
      await stopPid(pid);
      if (!options.keep) rmSync(baseDir, { recursive: true, force: true });
    },
  };
}
