/**
 * The private MariaDB (`local up`, the tests' own server) is closed to every other local user
 * (issue 16): no root over TCP without a password, no writing files outside its folder, never run
 * as OS root, the same on a data folder made before these rules, and a password that dies with
 * the process that made it. Each test starts servers of its own.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MariaDbServer, serverAccount, startMariaDb } from '../../src/db/server.js';

/** The server's TCP administrator login, as a client takes it. */
const tcpLogin = ({ host, port, user, password }: MariaDbServer) => ({ host, port, user, password });

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

/** The uid the kernel gives a process (the real one, from /proc). */
function uidOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Uid:'));
  return Number(line?.split(/\s+/)[1]);
}

/** What another OS user gets trying root with no password over TCP and over the socket. */
async function tryRootAs(uid: number, server: MariaDbServer): Promise<{ tcp: string; socket: string }> {
  const mysql2 = createRequire(import.meta.url).resolve('mysql2/promise');
  const script = `
    const mysql = require(${JSON.stringify(mysql2)});
    const tries = {
      tcp: { host: '127.0.0.1', port: ${server.port}, user: 'root', password: '' },
      socket: { socketPath: ${JSON.stringify(server.socket)}, user: 'root', password: '' },
    };
    (async () => {
      const out = {};
      for (const [name, options] of Object.entries(tries)) {
        try { const c = await mysql.createConnection(options); await c.end(); out[name] = 'connected'; }
        catch (e) { out[name] = e.code; }
      }
      console.log(JSON.stringify(out));
    })();`;
  const child = spawn(process.execPath, ['-e', script], { uid, gid: uid, cwd: '/', stdio: 'pipe' });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  await new Promise((resolve) => child.once('close', resolve));
  return JSON.parse(out);
}

const dirs: string[] = [];
function scratch(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

let server: MariaDbServer;

beforeAll(async () => {
  server = await startMariaDb();
});

afterAll(async () => {
  await server?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('a private MariaDB', () => {
  it('refuses root over TCP with no password', async () => {
    await expect(
      mysql.createConnection({ host: '127.0.0.1', port: server.port, user: 'root', password: '' }),
    ).rejects.toMatchObject({ code: expect.stringMatching(/^ER_ACCESS_DENIED/) });
  });

  it('lets its own administrator in over TCP, with a password of its own', async () => {
    expect(server.user).not.toBe('root');
    expect(server.password).toMatch(/^[\w-]{24}$/);
    const conn = await mysql.createConnection(tcpLogin(server));
    const [rows] = await conn.query('SELECT CURRENT_USER() AS who');
    await conn.end();
    expect(rows).toEqual([{ who: `${server.user}@127.0.0.1` }]);
  });

  // Another OS user exists to try with only when the tests can become it (as root, here).
  it.runIf(isRoot)('refuses root to another OS user, over TCP and over its socket', async () => {
    expect(await tryRootAs(NOBODY, server)).toEqual({
      tcp: expect.stringMatching(/^ER_ACCESS_DENIED/),
      // The socket's folder is closed to it; were it not, unix_socket would name it "nobody", not root.
      socket: 'EACCES',
    });
  });

  it('refuses to write a file outside its own folder (secure_file_priv)', async () => {
    const target = join(tmpdir(), `chatbot-ops-dumpfile-${randomBytes(4).toString('hex')}`);
    const conn = await mysql.createConnection(tcpLogin(server));
    try {
      await expect(conn.query(`SELECT 'x' INTO DUMPFILE '${target}'`)).rejects.toMatchObject({
        code: 'ER_OPTION_PREVENTS_STATEMENT',
      });
      const [rows] = await conn.query('SELECT @@secure_file_priv AS dir');
      expect(rows).toEqual([{ dir: `${join(server.baseDir, 'files')}/` }]);
    } finally {
      await conn.end();
    }
    expect(existsSync(target)).toBe(false);
  });

  it('never runs as OS root, and keeps its folder to itself', () => {
    const uid = uidOf(server.pid);
    if (isRoot) {
      expect(uid).not.toBe(0);
      expect(uid).toBe(serverAccount()?.uid);
    } else {
      expect(uid).toBe(process.getuid?.());
    }
    const folder = statSync(server.baseDir);
    expect(folder.uid).toBe(uid);
    expect(folder.mode & 0o777).toBe(0o700);
  });

  it('makes a new administrator password on every start: the previous one stops working', async () => {
    // Prepare
    const baseDir = scratch('chatbot-ops-restart-');
    const first = await startMariaDb({ baseDir, keep: true });
    const old = { host: first.host, port: first.port, user: first.user, password: first.password };
    await first.stop();

    // Act
    const second = await startMariaDb({ baseDir, port: old.port, keep: true });
    try {
      // Assess
      expect(second.password).not.toBe(old.password);
      await expect(mysql.createConnection(old)).rejects.toMatchObject({ code: 'ER_ACCESS_DENIED_ERROR' });
      const conn = await mysql.createConnection(tcpLogin(second));
      await conn.end();
    } finally {
      await second.stop();
    }
  });

  it('closes a data folder made with root open on 127.0.0.1 (as before) when it starts', async () => {
    // Prepare: the hole as earlier versions left it: root@127.0.0.1 without a password.
    const baseDir = scratch('chatbot-ops-old-data-');
    const first = await startMariaDb({ baseDir, keep: true });
    const socket = await mysql.createConnection({ socketPath: first.socket, user: first.socketUser });
    await socket.query("CREATE USER 'root'@'127.0.0.1'");
    await socket.query("GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION");
    await socket.end();
    const open = await mysql.createConnection({ host: '127.0.0.1', port: first.port, user: 'root' });
    await open.end();
    await first.stop();

    // Act
    const second = await startMariaDb({ baseDir, keep: true });
    try {
      // Assess
      await expect(
        mysql.createConnection({ host: '127.0.0.1', port: second.port, user: 'root', password: '' }),
      ).rejects.toMatchObject({ code: expect.stringMatching(/^ER_ACCESS_DENIED/) });
      const conn = await mysql.createConnection(tcpLogin(second));
      const [rows] = await conn.query("SELECT Host AS host FROM mysql.user WHERE User = 'root'");
      await conn.end();
      expect(rows).toEqual([{ host: 'localhost' }]);
    } finally {
      await second.stop();
    }
  });
});

describe.runIf(isRoot)('run as root, the server runs as the mysql user', () => {
  it('names the folder it cannot pass through, and starts nothing', async () => {
    // Prepare: a folder of someone else's that is closed to other users.
    const closed = scratch('chatbot-ops-closed-');
    chmodSync(closed, 0o700);

    // Act / Assess
    await expect(startMariaDb({ baseDir: join(closed, 'mariadb') })).rejects.toMatchObject({
      message: expect.stringContaining(`cannot pass through ${closed}`),
      hint: expect.stringContaining(`chmod o+x ${closed}`),
    });
    expect(existsSync(join(closed, 'mariadb', 'data'))).toBe(false);
  });

  it('opens folders of its caller to the mysql group for passage only (no listing)', async () => {
    // Prepare: the local stack's layout: <project>/.chatbot-ops/local/mariadb, ours from .chatbot-ops down.
    const project = scratch('chatbot-ops-project-');
    chmodSync(project, 0o711);
    const own = join(project, '.chatbot-ops');
    const stateDir = join(own, 'local');
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });

    // Act
    const started = await startMariaDb({ baseDir: join(stateDir, 'mariadb'), openParents: [stateDir, own] });
    await started.stop();

    // Assess
    const account = serverAccount();
    for (const dir of [own, stateDir]) {
      const st = statSync(dir);
      expect({ uid: st.uid, gid: st.gid, mode: st.mode & 0o777 }).toEqual({
        uid: 0,
        gid: account?.gid,
        mode: 0o710,
      });
    }
  });
});
