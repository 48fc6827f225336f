/**
 * The local stack's watch over its private MariaDB, with real servers and real signals (issue 16):
 * killed (kill -9) it is started again on the same data and port; stopped (SIGSTOP) it is
 * reported as frozen, and again once it answers; a restart that keeps failing is given up on
 * after a bounded number of attempts.
 */
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterEach, describe, expect, it } from 'vitest';
import { type MariaDbServer, type StartOptions, startMariaDb } from '../../src/db/server.js';
import { DatabaseWatchdog, type WatchdogEvent } from '../../src/local/db-watchdog.js';

/** The server's TCP administrator login, as a client takes it. */
const tcpLogin = ({ host, port, user, password }: MariaDbServer) => ({ host, port, user, password });

const FAST = {
  intervalMs: 200,
  pingTimeoutMs: 500,
  frozenAfter: 2,
  maxRestarts: 2,
  windowMs: 60_000,
  backoffMs: () => 100,
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function until(condition: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A watched server on a folder of its own, with a row to find after a restart. */
async function watched(): Promise<{
  first: MariaDbServer;
  watchdog: DatabaseWatchdog;
  events: WatchdogEvent[];
  restarts: () => number;
  options: StartOptions;
}> {
  const baseDir = mkdtempSync(join(tmpdir(), 'chatbot-ops-watchdog-'));
  cleanups.push(() => rmSync(baseDir, { recursive: true, force: true }));
  const options: StartOptions = { baseDir, keep: true };
  const first = await startMariaDb(options);
  const conn = await mysql.createConnection(tcpLogin(first));
  await conn.query('CREATE DATABASE kept');
  await conn.query('CREATE TABLE kept.t (v INT)');
  await conn.query('INSERT INTO kept.t VALUES (42)');
  await conn.end();
  const events: WatchdogEvent[] = [];
  let restarts = 0;
  const watchdog = new DatabaseWatchdog(
    first,
    () => {
      restarts++;
      return startMariaDb({ ...options, port: first.port, requireData: true });
    },
    (event) => events.push(event),
    FAST,
  );
  cleanups.push(() => watchdog.stop());
  return { first, watchdog, events, restarts: () => restarts, options };
}

describe('the private MariaDB under watch', () => {
  it('is started again on the same data and port when killed', async () => {
    // Prepare
    const { first, watchdog, events } = await watched();

    // Act
    process.kill(first.pid, 'SIGKILL');
    await until(() => events.some((e) => e.health === 'ok' && e.level === 'info'));

    // Assess
    expect(events.map((e) => [e.health, e.level])).toEqual([
      ['restarting', 'warn'],
      ['ok', 'info'],
    ]);
    expect(events[0]?.message).toContain(`MariaDB (pid ${first.pid}) is gone`);
    expect(watchdog.pid).not.toBe(first.pid);
    expect(events[1]).toMatchObject({ pid: watchdog.pid });
    // The function's settings (host, port) still lead to the same data.
    const server = watchdog.server as MariaDbServer;
    expect(server.port).toBe(first.port);
    const conn = await mysql.createConnection(tcpLogin(server));
    const [rows] = await conn.query('SELECT v FROM kept.t');
    await conn.end();
    expect(rows).toEqual([{ v: 42 }]);
  }, 120_000);

  it('reports a stopped (SIGSTOP) server as frozen, and again once it answers', async () => {
    // Prepare
    const { first, watchdog, events, restarts } = await watched();
    cleanups.push(() => {
      process.kill(first.pid, 'SIGCONT');
    });

    // Act
    process.kill(first.pid, 'SIGSTOP');
    await until(() => watchdog.health === 'frozen');
    const whileFrozen = [...events];
    process.kill(first.pid, 'SIGCONT');
    await until(() => watchdog.health === 'ok');

    // Assess
    expect(whileFrozen).toEqual([
      expect.objectContaining({ health: 'frozen', level: 'warn', pid: first.pid }),
    ]);
    expect(whileFrozen[0]?.message).toMatch(/is running but has not answered/);
    expect(events.at(-1)).toMatchObject({
      health: 'ok',
      message: `MariaDB (pid ${first.pid}) answers again`,
    });
    // Not killed, not replaced.
    expect(restarts()).toBe(0);
    expect(watchdog.pid).toBe(first.pid);
  }, 120_000);

  it('gives up after a bounded number of failed restarts, and says so', async () => {
    // Prepare: the data folder gone, so every restart fails (none may start on an empty one).
    const { first, watchdog, events, restarts, options } = await watched();
    process.kill(first.pid, 'SIGKILL');
    const data = join(options.baseDir as string, 'data');
    renameSync(data, `${data}.away`);

    // Act
    await until(() => watchdog.health === 'gave-up');
    await new Promise((r) => setTimeout(r, 5 * FAST.intervalMs));

    // Assess
    expect(restarts()).toBe(FAST.maxRestarts);
    expect(events.filter((e) => e.message.includes('failed (attempt'))).toHaveLength(FAST.maxRestarts);
    expect(events.filter((e) => e.level === 'error').at(0)?.message).toMatch(/data folder .* is missing/);
    expect(events.at(-1)).toMatchObject({ health: 'gave-up', level: 'error', pid: undefined });
    expect(events.at(-1)?.message).toMatch(/giving up/);
    expect(watchdog.pid).toBeUndefined();
  }, 120_000);
});
