/**
 * `local up` with the real CLI in its own processes, under the faults of issue 16: `db load` and
 * `db seed` against the running stack (its writer login), the private MariaDB killed, stopped
 * (SIGSTOP), orphaned by a killed supervisor and beyond restarting, and two `up`s racing in one
 * folder.
 */
import { existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../../src/local/lifecycle.js';
import { type LocalState, readLocalState } from '../../src/local/state.js';
import { spawnCli } from '../support/cli-process.js';
import { type CliProject, cliProject, waitUntil } from './cli-project.js';

const ACCESS_LOG = [
  '192.0.2.10 - - [10/Oct/2025:13:55:36 +0000] "GET /api/users HTTP/1.1" 200 2326 "-" "curl/8.0"',
  '192.0.2.11 - - [10/Oct/2025:13:55:37 +0000] "POST /api/orders HTTP/1.1" 500 12 "-" "curl/8.0"',
  '192.0.2.12 - - [10/Oct/2025:13:55:38 +0000] "GET /health HTTP/1.1" 204 0 "-" "curl/8.0"',
].join('\n');

function stateIn(project: CliProject): LocalState {
  const state = readLocalState(project.dir);
  if (!state) throw new Error(`no local state in ${project.dir}`);
  return state;
}

const stackLog = (project: CliProject) =>
  readFileSync(join(project.dir, '.chatbot-ops', 'local', 'stack.log'), 'utf8');

function uidOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Uid:'));
  return Number(line?.split(/\s+/)[1]);
}

describe('db load and db seed against the running local stack', () => {
  let project: CliProject;
  let state: LocalState;
  const outputs: string[] = [];
  const cli = async (...args: string[]) => {
    const r = await project.cli(...args);
    outputs.push(r.stdout, r.stderr);
    return r;
  };

  beforeAll(async () => {
    project = cliProject('local-writer-');
    const up = await cli('local', 'up', '--detach', '--port', '0', '--rows', '100');
    expect(up.code, up.stderr).toBe(0);
    state = stateIn(project);
  }, 240_000);

  afterAll(async () => {
    await project.cli('local', 'down');
    project.remove();
  });

  it("loads an access log and seeds rows with the stack's writer login, no flags needed", async () => {
    // Prepare
    writeFileSync(join(project.dir, 'access.log'), `${ACCESS_LOG}\n`);

    // Act
    const load = await cli('--json', 'db', 'load', 'access.log');
    const seed = await cli('db', 'seed', '--rows', '50');
    const stats = await cli('--json', 'db', 'stats');

    // Assess
    expect(load.code, load.stderr).toBe(0);
    expect(JSON.parse(load.stdout)).toMatchObject({ loaded: 3, errors: 0 });
    expect(seed.code, seed.stderr).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ rows: 153 });
    expect(load.stderr).not.toMatch(/denied/i);
  }, 120_000);

  it("keeps that login apart: not the function's, not an administrator, limited to the database", async () => {
    const { writer } = state.db;
    expect(writer?.user).toBe(`${state.db.user}_writer`);
    expect(writer?.password).not.toBe(state.db.password);
    const conn = await mysql.createConnection({
      host: state.db.host,
      port: state.db.port,
      user: writer?.user,
      password: writer?.password,
    });
    const [grants] = await conn.query('SHOW GRANTS');
    await conn.end();
    const lines = (grants as Record<string, string>[]).map((g) => Object.values(g)[0]);
    expect(lines).toEqual([
      expect.stringMatching(/^GRANT USAGE ON \*\.\* TO /),
      expect.stringMatching(
        /^GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER, LOCK TABLES ON `chatbot_db`\.\* TO /,
      ),
    ]);
  });

  it("leaves the function's login SELECT-only", async () => {
    const conn = await mysql.createConnection({
      host: state.db.host,
      port: state.db.port,
      user: state.db.user,
      password: state.db.password,
      database: state.db.database,
    });
    try {
      await expect(
        conn.query(
          "INSERT INTO access_logs (timestamp, ip_address, method, endpoint, status_code) VALUES (NOW(), '192.0.2.1', 'GET', '/', 200)",
        ),
      ).rejects.toMatchObject({ code: 'ER_TABLEACCESS_DENIED_ERROR' });
    } finally {
      await conn.end();
    }
  });

  it('keeps its state file 0600 and never prints a password', async () => {
    const status = await cli('local', 'status');
    expect(status.code).toBe(0);
    expect(statSync(join(project.dir, '.chatbot-ops', 'local', 'state.json')).mode & 0o777).toBe(0o600);
    const printed = outputs.join('\n') + stackLog(project);
    for (const secret of [state.db.password, state.db.writer?.password as string]) {
      expect(printed).not.toContain(secret);
    }
  });
});

describe('the private MariaDB dies, freezes, is orphaned', () => {
  let project: CliProject;

  beforeAll(async () => {
    project = cliProject('local-faults-');
    const up = await project.cli('local', 'up', '--detach', '--port', '0', '--rows', '100');
    expect(up.code, up.stderr).toBe(0);
  }, 240_000);

  afterAll(async () => {
    await project.cli('local', 'down');
    project.remove();
  });

  it('is started again when killed, on the same data, logged, and the stack answers', async () => {
    // Prepare
    const before = stateIn(project);

    // Act
    process.kill(before.pids.mariadb as number, 'SIGKILL');
    const restarted = await waitUntil(() => {
      const now = readLocalState(project.dir);
      return now?.database?.health === 'ok' && now.pids.mariadb !== before.pids.mariadb;
    }, 60_000);

    // Assess
    expect(restarted).toBe(true);
    expect(stackLog(project)).toContain(`MariaDB (pid ${before.pids.mariadb}) is gone; starting it again`);
    expect(stackLog(project)).toContain(`MariaDB started again (pid ${stateIn(project).pids.mariadb})`);
    const invoke = await project.cli('invoke', 'get_traffic_summary', '--local', '--all-time');
    expect(invoke.code, invoke.stderr).toBe(0);
    expect(invoke.stdout).toContain('total_requests:  100');
    const status = await project.cli('local', 'status');
    expect(status.code).toBe(0);
  }, 120_000);

  it('is reported when frozen (SIGSTOP): logged, and `local status` says so and exits 1', async () => {
    // Prepare
    const pid = stateIn(project).pids.mariadb as number;

    // Act
    process.kill(pid, 'SIGSTOP');
    try {
      const noticed = await waitUntil(() => stackLog(project).includes('has not answered'), 60_000);
      const status = await project.cli('--json', 'local', 'status');

      // Assess
      expect(noticed).toBe(true);
      expect(stackLog(project)).toContain(`MariaDB (pid ${pid}) is running but has not answered`);
      expect(status.code).toBe(1);
      expect(JSON.parse(status.stdout)).toMatchObject({
        running: true,
        database: { ok: false, problem: expect.stringContaining('has not answered') },
      });
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(
      await waitUntil(() => stackLog(project).includes(`MariaDB (pid ${pid}) answers again`), 60_000),
    ).toBe(true);
    expect((await project.cli('local', 'status')).code).toBe(0);
  }, 120_000);

  it('stays closed when its supervisor is killed: no root over TCP, not run as OS root', async () => {
    // Prepare
    const state = stateIn(project);

    // Act
    process.kill(state.pids.supervisor as number, 'SIGKILL');
    await waitUntil(() => !isProcessAlive(state.pids.supervisor));

    // Assess: the orphan still serves, and still only as before.
    const orphan = state.pids.mariadb as number;
    expect(isProcessAlive(orphan)).toBe(true);
    await expect(
      mysql.createConnection({ host: '127.0.0.1', port: state.db.port, user: 'root', password: '' }),
    ).rejects.toMatchObject({ code: expect.stringMatching(/^ER_ACCESS_DENIED/) });
    if (process.getuid?.() === 0) expect(uidOf(orphan)).not.toBe(0);
    const down = await project.cli('local', 'down');
    expect(down.stdout).toMatch(/cleaned up what it left behind/);
    expect(await waitUntil(() => !isProcessAlive(orphan))).toBe(true);
  }, 120_000);

  it('is given up on when it cannot be restarted; status exits 1 and the next up starts afresh', async () => {
    // Prepare: a stack whose database dies while its data folder is away, so restarts fail.
    const up = await project.cli('local', 'up', '--detach', '--port', '0', '--no-demo');
    expect(up.code, up.stderr).toBe(0);
    const broken = stateIn(project);
    const data = join(project.dir, '.chatbot-ops', 'local', 'mariadb', 'data');
    process.kill(broken.pids.supervisor as number, 'SIGSTOP');
    process.kill(broken.pids.mariadb as number, 'SIGKILL');
    await waitUntil(() => !isProcessAlive(broken.pids.mariadb));
    renameSync(data, `${data}.away`);
    process.kill(broken.pids.supervisor as number, 'SIGCONT');
    const gaveUp = await waitUntil(() => readLocalState(project.dir)?.database?.health === 'gave-up', 90_000);
    expect(gaveUp).toBe(true);

    // Act
    const status = await project.cli('local', 'status');
    renameSync(`${data}.away`, data);
    const again = await project.cli('local', 'up', '--detach', '--port', '0', '--no-demo');

    // Assess
    expect(status.code).toBe(1);
    expect(status.stdout).toContain('running, but its database is out of service');
    expect(status.stdout).toMatch(/giving up/);
    expect(stackLog(project)).not.toContain('InnoDB');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/out of service .*; stopping it/);
    expect(isProcessAlive(broken.pids.supervisor)).toBe(false);
    const fresh = stateIn(project);
    expect(fresh.pids.supervisor).not.toBe(broken.pids.supervisor);
    // The same data: the 100 rows of the first `up` (no --rows this time).
    const invoke = await project.cli('invoke', 'get_traffic_summary', '--local', '--all-time');
    expect(invoke.stdout).toContain('total_requests:  100');
  }, 240_000);
});

describe('two `local up` at once in one folder', () => {
  let project: CliProject;

  beforeAll(() => {
    project = cliProject('local-race-');
  });

  afterAll(async () => {
    await project.cli('local', 'down');
    project.remove();
  });

  it("starts one; the other says so clearly and leaves the winner's stack.log alone", async () => {
    // Act
    const [a, b] = await Promise.all([
      project.cli('local', 'up', '--detach', '--port', '0', '--rows', '50'),
      project.cli('local', 'up', '--detach', '--port', '0', '--rows', '50'),
    ]);

    // Assess
    const results = [a, b].sort((x, y) => x.code - y.code);
    const [winner, loser] = results as [typeof a, typeof a];
    expect(winner.code, winner.stderr).toBe(0);
    expect(loser.code).toBe(1);
    expect(loser.stderr).toMatch(
      /another `local up` is already starting or running in this folder \(pid \d+\)|a local stack is already running at/,
    );
    expect(loser.stderr).not.toMatch(/InnoDB|mariadbd exited/);
    const state = stateIn(project);
    const log = stackLog(project);
    expect(log).toContain(state.gateway.url);
    expect(log).toContain('Local stack ready');
    expect(log).not.toMatch(/another `local up`|Error/);
    // The loser's own log is gone with it.
    expect(
      readdirSync(join(project.dir, '.chatbot-ops', 'local')).filter((f) => /^stack\..+\.log$/.test(f)),
    ).toEqual([]);
  }, 240_000);

  it('refuses a foreground `up` while the detached one runs, without touching it', async () => {
    // Prepare
    const before = stateIn(project);
    const logBefore = stackLog(project);

    // Act
    const second = await project.cli('local', 'up', '--port', '0', '--no-demo');

    // Assess
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/already running at http:\/\/127\.0\.0\.1:\d+\/prod\/chatbot/);
    expect(stateIn(project)).toEqual(before);
    expect(stackLog(project)).toBe(logBefore);
  }, 120_000);
});

/** A foreground `up` holds the folder too: a detached one started meanwhile is refused. */
describe('a foreground `up` and a detached one', () => {
  let project: CliProject;

  beforeAll(() => {
    project = cliProject('local-race-fg-');
  });

  afterAll(() => project.remove());

  it('let only one start', async () => {
    // Prepare: the foreground one, until it holds the folder (its state file is written last).
    const { child: foreground, exited } = spawnCli(['local', 'up', '--port', '0', '--no-demo'], {
      cwd: project.dir,
      env: { DB_HOST: '' },
      timeoutMs: 240_000,
    });
    try {
      // Act: while it is still starting.
      await waitUntil(() => existsSync(join(project.dir, '.chatbot-ops', 'local', 'mariadb')), 60_000);
      const detached = await project.cli('local', 'up', '--detach', '--port', '0', '--no-demo');

      // Assess
      expect(detached.code).toBe(1);
      expect(detached.stderr).toMatch(
        new RegExp(
          `another \`local up\` is already starting or running in this folder \\(pid ${foreground.pid}\\)`,
        ),
      );
      expect(detached.stderr).not.toContain('InnoDB');
      expect(
        await waitUntil(() => readLocalState(project.dir)?.pids.supervisor === foreground.pid, 180_000),
      ).toBe(true);
    } finally {
      foreground.kill('SIGINT');
      await exited;
    }
  }, 240_000);
});
