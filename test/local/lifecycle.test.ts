import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, portInUse } from '../../src/db/server.js';
import { isProcessAlive } from '../../src/local/lifecycle.js';
import { type LocalState, readLocalState } from '../../src/local/state.js';
import { spawnCli } from '../support/cli-process.js';
import { type CliProject, cliProject, processesUsing, waitUntil } from './cli-project.js';

let project: CliProject;
let cwd: string;
const cli = (...args: string[]) => project.cli(...args);

beforeAll(() => {
  project = cliProject('local-cli-');
  cwd = project.dir;
});

afterAll(() => project.remove());

describe('local up --detach / status / down (the real CLI)', () => {
  let port: number;
  let state: LocalState;

  it('starts in the background and records what it started', async () => {
    port = await freePort();
    const up = await cli('local', 'up', '--detach', '--port', String(port), '--rows', '500');
    expect(up.stderr).not.toMatch(/Error/);
    expect(up.code).toBe(0);
    expect(up.stdout).toContain(`URL:       http://127.0.0.1:${port}/prod/chatbot`);
    expect(up.stdout).toContain('chatbot-ops invoke get_traffic_summary --local');
    state = readLocalState(cwd) as LocalState;
    expect(state.pids.supervisor).toEqual(expect.any(Number));
    expect(isProcessAlive(state.pids.supervisor)).toBe(true);
    expect(isProcessAlive(state.pids.mariadb)).toBe(true);
    expect(await portInUse(port)).toBe(true);
  }, 240_000);

  it('answers through the stand-in and reports its status', async () => {
    const invoke = await cli('invoke', 'get_traffic_summary', '--local', '--all-time');
    expect(invoke.code).toBe(0);
    expect(invoke.stdout).toContain('total_requests:  500');
    const status = await cli('--json', 'local', 'status');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      running: true,
      rows: 500,
      healthStatus: 200,
      url: state.gateway.url,
    });
  }, 60_000);

  it('refuses a second up while one runs', async () => {
    const second = await cli('local', 'up', '--detach', '--port', String(await freePort()));
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/already running at http:\/\/127\.0\.0\.1:\d+\/prod\/chatbot/);
  }, 60_000);

  it('down leaves no process and no listening port behind', async () => {
    const down = await cli('local', 'down');
    expect(down.code).toBe(0);
    expect(await waitUntil(() => processesUsing(cwd).length === 0)).toBe(true);
    expect(isProcessAlive(state.pids.supervisor)).toBe(false);
    expect(isProcessAlive(state.pids.mariadb)).toBe(false);
    expect(await portInUse(state.gateway.port)).toBe(false);
    expect(await portInUse(state.db.port)).toBe(false);
    expect(existsSync(join(cwd, '.chatbot-ops', 'local', 'state.json'))).toBe(false);
  }, 60_000);

  it('down with nothing running says so and succeeds', async () => {
    const down = await cli('local', 'down');
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(/Nothing to stop/);
  }, 60_000);

  it('cleans the stale state of a killed run', async () => {
    // Prepare: a stack whose supervisor is killed without warning.
    const up = await cli('local', 'up', '--detach', '--port', String(await freePort()), '--rows', '100');
    expect(up.code).toBe(0);
    const killed = readLocalState(cwd) as LocalState;
    process.kill(killed.pids.supervisor as number, 'SIGKILL');
    expect(await waitUntil(() => !isProcessAlive(killed.pids.supervisor))).toBe(true);
    // Act
    const status = await cli('local', 'status');
    const down = await cli('local', 'down');
    // Assess
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/not running/);
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(/cleaned up what it left behind/);
    expect(await waitUntil(() => processesUsing(cwd).length === 0)).toBe(true);
    expect(isProcessAlive(killed.pids.mariadb)).toBe(false);
    expect(await portInUse(killed.db.port)).toBe(false);
    expect(readLocalState(cwd)).toBeUndefined();
  }, 240_000);

  it('says which port is taken', async () => {
    const blocker = createServer();
    const taken = await freePort();
    await new Promise<void>((r) => blocker.listen(taken, '127.0.0.1', () => r()));
    const up = await cli('local', 'up', '--port', String(taken));
    blocker.close();
    expect(up.code).toBe(1);
    expect(up.stderr).toContain(`port ${taken} on 127.0.0.1 is already in use`);
  }, 60_000);
});

describe('local up in the foreground', () => {
  it('stops cleanly on Ctrl-C, database included, leaving no process, port or state', async () => {
    // Prepare: `local up` as a user runs it at a terminal, leading its own process group.
    const port = await freePort();
    const { child, output, exited } = spawnCli(
      ['local', 'up', '--port', String(port), '--rows', '200', '--no-demo'],
      { cwd, env: { DB_HOST: '' }, detached: true, timeoutMs: 240_000 },
    );
    expect(await waitUntil(() => output.stdout.includes('Press Ctrl-C to stop'), 180_000)).toBe(true);
    const state = readLocalState(cwd) as LocalState;
    const answer = await fetch(state.gateway.url, {
      method: 'POST',
      headers: { 'x-api-key': state.apiKey },
      body: JSON.stringify({ intent: 'get_traffic_summary', params: { all_time: true } }),
    });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ data: { total_requests: 200 } });
    expect(isProcessAlive(state.pids.mariadb)).toBe(true);

    // Act: Ctrl-C reaches every process of the terminal's foreground group.
    process.kill(-(child.pid as number), 'SIGINT');
    const exit = await exited;

    // Assess
    expect(output.stderr).not.toMatch(/Error/);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(output.stderr).toContain('Local stack stopped');
    expect(await waitUntil(() => processesUsing(cwd).length === 0)).toBe(true);
    expect(isProcessAlive(state.pids.mariadb)).toBe(false);
    expect(await portInUse(port)).toBe(false);
    expect(await portInUse(state.db.port)).toBe(false);
    expect(readLocalState(cwd)).toBeUndefined();
  }, 240_000);
});
