/**
 * Keeping, building, checking and pruning the rollups against the real MariaDB: a rolled-back
 * write leaves no trace, `db init` backfills rows that predate the tables (resumable, with
 * progress, and exact even with a write in progress), `db rollup --verify` finds differences
 * (exit 1) and `--repair` fixes them, `db prune` deletes whole old days in batches while the
 * backend keeps answering.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatCombinedLine } from '../../src/db/access-log-format.js';
import { type AccessLogRow, insertAccessLogRows } from '../../src/db/access-log-row.js';
import { loadLogs } from '../../src/db/load.js';
import { pruneAccessLogs, pruneCutoff } from '../../src/db/prune.js';
import {
  backfillRollups,
  ensureRollupTables,
  readRollupStates,
  verifyRollups,
} from '../../src/db/rollup-maintenance.js';
import { RollupDeltas, writeAccessLogs } from '../../src/db/rollup-writer.js';
import { applySchema } from '../../src/db/schema.js';
import { generateTraffic, seedTraffic } from '../../src/db/seed.js';
import { StatementPipe } from '../../src/db/statement-pipe.js';
import type { BackendHandler } from '../../src/lambda/index.js';
import { floorTo } from '../../src/lambda/rollup-tables.js';
import { answer, backendEnv, createAppUser, handlerWithLog } from '../lambda/support.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { runDb, scratchDir } from './db-cli.js';

const DAY = 86_400_000;
const END = new Date('2025-06-01T00:00:00.000Z');

const traffic = (rows: number, days: number, seed: number, end = END): AccessLogRow[] => [
  ...generateTraffic({ rows, days, seed, end }),
];

async function count(db: TestDatabase, sql: string, values: unknown[] = []): Promise<number> {
  const [rows] = await db.pool.query(sql, values);
  return Number((rows as { n: number }[])[0]?.n ?? 0);
}

async function rollupRows(db: TestDatabase): Promise<number> {
  return (
    (await count(db, 'SELECT COUNT(*) AS n FROM rollup_status_v2')) +
    (await count(db, 'SELECT COUNT(*) AS n FROM rollup_endpoint_v2')) +
    (await count(db, 'SELECT COUNT(*) AS n FROM rollup_ip_v2'))
  );
}

describe('rollups kept by writers', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('rollup_keep', { schema: false });
    await applySchema(db.pool);
  });
  afterEach(async () => {
    await db.drop();
  });

  it('commits a file’s rollup deltas with its rows, matching a recount', async () => {
    // Prepare
    const file = join(scratchDir(), 'a.log');
    writeFileSync(
      file,
      traffic(3_000, 3, 5)
        .map((r) => formatCombinedLine(r, { withResponseTime: true }))
        .join('\n'),
    );

    // Act
    const report = await loadLogs(db.pool, [file], { batchSize: 250 });

    // Assess
    expect(report.loaded).toBe(3_000);
    expect(await count(db, 'SELECT SUM(n) AS n FROM rollup_status_v2 WHERE grain = ?', ['minute'])).toBe(
      3_000,
    );
    expect(await count(db, 'SELECT SUM(n) AS n FROM rollup_ip_v2 WHERE grain = ?', ['day'])).toBe(3_000);
    expect((await verifyRollups(db.pool)).differences).toBe(0);
  });

  it('stays exact when deltas are applied in parts through a pipe, with rows out of time order', async () => {
    // Prepare: every tenth row three days early, so complete buckets get rows after they were sent;
    // a small limit, so tables are applied many times (complete buckets first, then whole).
    const rows = traffic(6_000, 20, 8).map((r, i) =>
      i % 10 === 0 ? { ...r, timestamp: r.timestamp - 3 * DAY } : r,
    );
    const conn = await db.pool.getConnection();
    let statements = 0;
    const counting = {
      query: (sql: string) => {
        if (sql.startsWith('INSERT INTO rollup_')) statements++;
        return conn.query(sql);
      },
    } as unknown as typeof conn;

    // Act
    await conn.query('SET autocommit = 0');
    await conn.query('START TRANSACTION');
    const deltas = await RollupDeltas.start(conn, { maxPending: 400 });
    const pipe = new StatementPipe(2);
    for (let i = 0; i < rows.length; i += 200) {
      const batch = rows.slice(i, i + 200);
      await pipe.send(() => insertAccessLogRows(conn, batch));
      deltas.add(batch);
      if (deltas.full) await deltas.flushFull(counting, pipe);
    }
    await deltas.flush(counting, pipe);
    await pipe.drain();
    await conn.query('COMMIT');
    await conn.query('SET autocommit = 1');
    conn.release();

    // Assess
    expect(statements).toBeGreaterThan(30);
    expect(await count(db, 'SELECT SUM(n) AS n FROM rollup_endpoint_v2 WHERE grain = ?', ['week'])).toBe(
      rows.length,
    );
    expect(await count(db, 'SELECT SUM(n) AS n FROM rollup_ip_v2 WHERE grain = ?', ['day'])).toBe(
      rows.length,
    );
    expect((await verifyRollups(db.pool)).differences).toBe(0);
  });

  it('leaves no trace in rows or rollups when a load is rolled back', async () => {
    // Prepare: good lines, then one bad line, with no bad line allowed.
    const file = join(scratchDir(), 'bad-end.log');
    const lines = traffic(2_000, 2, 6).map((r) => formatCombinedLine(r));
    writeFileSync(file, [...lines, 'not a log line'].join('\n'));

    // Act
    const attempt = loadLogs(db.pool, [file], { batchSize: 100, maxErrors: 0 });

    // Assess
    await expect(attempt).rejects.toThrow(/stopped/);
    expect(await count(db, 'SELECT COUNT(*) AS n FROM access_logs')).toBe(0);
    expect(await rollupRows(db)).toBe(0);
  });

  it('leaves no trace when a transaction is rolled back after its deltas were applied', async () => {
    // Prepare
    const rows = traffic(500, 1, 7);
    const conn = await db.pool.getConnection();

    // Act
    await conn.query('START TRANSACTION');
    const deltas = await RollupDeltas.start(conn);
    await insertAccessLogRows(conn, rows);
    deltas.add(rows);
    await deltas.flush(conn);
    const inside = await conn.query('SELECT SUM(n) AS n FROM rollup_status_v2 WHERE grain = ?', ['day']);
    await conn.query('ROLLBACK');
    conn.release();

    // Assess
    expect(Number((inside[0] as { n: number }[])[0]?.n)).toBe(500);
    expect(await rollupRows(db)).toBe(0);
  });

  it('says to run again when a load loses a deadlock on rollup rows, and leaves nothing of it', async () => {
    // Prepare: rollup rows in two minutes, then another transaction (heavier, so InnoDB picks the
    // load as its victim) holding the later minute's row.
    const minute = (m: number, status = 200): AccessLogRow => ({
      ...(traffic(1, 1, 13)[0] as AccessLogRow),
      timestamp: END.getTime() - DAY + m * 60_000,
      status_code: status,
    });
    await writeAccessLogs(db.pool, [minute(1), minute(2)]);
    const file = join(scratchDir(), 'two-minutes.log');
    writeFileSync(file, [minute(1), minute(2)].map((r) => formatCombinedLine(r)).join('\n'));
    const other = await db.pool.getConnection();
    await other.query('START TRANSACTION');
    await insertAccessLogRows(other, traffic(5_000, 1, 14, new Date(END.getTime() - 10 * DAY)));
    const at = (m: number) => new Date(END.getTime() - DAY + m * 60_000);
    await other.query(
      "SELECT n FROM rollup_status_v2 WHERE grain = 'minute' AND bucket = ? AND status_code = 200 FOR UPDATE",
      [at(2)],
    );

    // Act: the load locks minute 1's row, then waits for minute 2's; the other then wants minute 1's.
    const load = loadLogs(db.pool, [file]);
    load.catch(() => {});
    for (let i = 0; i < 200; i++) {
      const waiting = await count(db, 'SELECT COUNT(*) AS n FROM information_schema.INNODB_LOCK_WAITS');
      if (waiting > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await other.query(
      "UPDATE rollup_status_v2 SET n = n WHERE grain = 'minute' AND bucket = ? AND status_code = 200",
      [at(1)],
    );
    await other.query('ROLLBACK');
    other.release();

    // Assess
    await expect(load).rejects.toThrow(
      /met another load updating the same rollup rows; nothing from it was loaded/,
    );
    expect(await count(db, 'SELECT COUNT(*) AS n FROM access_logs')).toBe(2);
    expect((await verifyRollups(db.pool)).differences).toBe(0);
  });

  it('keeps rollups exact when db seed writes on two connections at once', async () => {
    // Act
    await seedTraffic(db.pool, { rows: 40_000, days: 2, seed: 3, end: END });

    // Assess
    expect((await verifyRollups(db.pool)).differences).toBe(0);
    expect(await count(db, 'SELECT SUM(n) AS n FROM rollup_status_v2 WHERE grain = ?', ['hour'])).toBe(
      40_000,
    );
  });
});

describe('backfill by db init', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    // A table from before rollups existed, with rows.
    db = await createTestDatabase('rollup_backfill');
    await insertAccessLogRows(db.pool, traffic(6_000, 4, 8));
  });
  afterEach(async () => {
    await db.drop();
  });

  it('builds the rollups from existing rows, resumes after an interruption, and reports progress', async () => {
    // Prepare: tables registered, then a backfill stopped after two chunks.
    await applySchema(db.pool);
    expect((await readRollupStates(db.pool)).every((s) => !s.ready)).toBe(true);
    const seen: number[] = [];
    let chunks = 0;
    const interrupted = backfillRollups(db.pool, {
      chunkIds: 1_000,
      onProgress: (p) => {
        seen.push(p.done);
        if (p.done > 0 && ++chunks === 2) throw new Error('interrupted');
      },
    });
    await expect(interrupted).rejects.toThrow('interrupted');
    const partial = await readRollupStates(db.pool);

    // Act
    const resumed = await backfillRollups(db.pool, { chunkIds: 1_000 });

    // Assess
    expect(partial.some((s) => s.backfilled === 2_000 && !s.ready)).toBe(true);
    expect(seen).toEqual([0, 1_000, 2_000]);
    expect(resumed.tables.length).toBe(7);
    expect((await readRollupStates(db.pool)).every((s) => s.ready)).toBe(true);
    expect((await verifyRollups(db.pool)).differences).toBe(0);
  });

  it('runs from db init, which says what it built', async () => {
    // Act
    const run = await runDb(db.database, ['init']);

    // Assess
    expect(run.code).toBe(0);
    expect(run.err).toContain('built rollups from 6,000 existing rows');
    expect((await readRollupStates(db.pool)).every((s) => s.ready)).toBe(true);
    expect((await runDb(db.database, ['rollup', '--verify'])).code).toBe(0);
  });

  it('classifies rows another writer left unclassified before it counts them (bots, agent classes)', async () => {
    // Prepare: rows as a tool other than chatbot-ops writes them: no user-agent class.
    await db.pool.query('UPDATE access_logs SET is_bot = NULL, browser = NULL, os = NULL');

    // Act
    const run = await runDb(db.database, ['init']);

    // Assess: the bots' counts in the rollups are those of the classified rows.
    expect(run.code).toBe(0);
    const bots = await count(db, 'SELECT COUNT(*) AS n FROM access_logs WHERE is_bot = 1');
    expect(bots).toBeGreaterThan(0);
    expect(await count(db, "SELECT SUM(n_bot) AS n FROM rollup_status_v2 WHERE grain = 'day'")).toBe(bots);
    expect(
      await count(db, "SELECT SUM(n) AS n FROM rollup_agent WHERE grain = 'day' AND agent LIKE '1%'"),
    ).toBe(bots);
    expect((await verifyRollups(db.pool)).differences).toBe(0);
  });

  it('replaces a table of an older version and backfills a table new to the database', async () => {
    // Prepare: rollups as the previous version made them: rollup_status at version 1, no agent
    // rollup; then rows written while that was so.
    await applySchema(db.pool);
    await backfillRollups(db.pool);
    await db.pool.query('DROP TABLE rollup_status_v2, rollup_agent');
    await db.pool.query(
      `CREATE TABLE rollup_status (status_code SMALLINT UNSIGNED NOT NULL, grain ENUM('minute', 'hour', 'day', 'week') NOT NULL,
         bucket DATETIME NOT NULL, n BIGINT UNSIGNED NOT NULL, PRIMARY KEY (grain, bucket, status_code))`,
    );
    await db.pool.query("UPDATE rollup_state SET name = 'rollup_status' WHERE name = 'rollup_status_v2'");
    await db.pool.query("DELETE FROM rollup_state WHERE name = 'rollup_agent'");
    await writeAccessLogs(db.pool, traffic(900, 2, 12));

    // Act
    const run = await runDb(db.database, ['init'], { json: true });

    // Assess
    expect(run.code).toBe(0);
    expect(run.result).toMatchObject({
      created: expect.arrayContaining(['table rollup_status_v2', 'table rollup_agent']),
    });
    const tables = await count(
      db,
      "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'rollup_status'",
    );
    expect(tables).toBe(0);
    expect((await readRollupStates(db.pool)).map((s) => [s.table, s.ready])).toEqual([
      ['rollup_agent', true],
      ['rollup_endpoint_v2', true],
      ['rollup_ip_v2', true],
      ['rollup_notfound', true],
      ['rollup_referrer', true],
      ['rollup_status_v2', true],
      ['rollup_visitor', true],
    ]);
    expect(await count(db, "SELECT SUM(n) AS n FROM rollup_agent WHERE grain = 'day'")).toBe(6_900);
    expect((await verifyRollups(db.pool)).differences).toBe(0);
  });

  it('counts a write that was in progress when a table was added exactly once', async () => {
    // Prepare: rollups set up and ready, then one table dropped from the registry (as when a
    // new table is added) while a writer has rows in an open transaction.
    await applySchema(db.pool);
    await backfillRollups(db.pool);
    await db.pool.query("DELETE FROM rollup_state WHERE name = 'rollup_ip_v2'");
    const writer = await db.pool.getConnection();
    await writer.query('START TRANSACTION');
    const deltas = await RollupDeltas.start(writer);
    const late = traffic(700, 1, 9);
    await insertAccessLogRows(writer, late);
    deltas.add(late);
    await deltas.flush(writer);

    // Act: registering waits for the writer; the writer commits a moment later.
    const registering = ensureRollupTables(db.pool);
    await new Promise((r) => setTimeout(r, 300));
    await writer.query('COMMIT');
    writer.release();
    await registering;
    await backfillRollups(db.pool);

    // Assess
    expect(deltas.tableNames).not.toContain('rollup_ip_v2');
    expect(await count(db, 'SELECT SUM(n) AS n FROM rollup_ip_v2 WHERE grain = ?', ['day'])).toBe(6_700);
    expect((await verifyRollups(db.pool)).differences).toBe(0);
  });
});

describe('db rollup --verify and --repair', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('rollup_verify', { schema: false });
    await applySchema(db.pool);
    await writeAccessLogs(db.pool, traffic(4_000, 3, 10));
  });
  afterEach(async () => {
    await db.drop();
  });

  it('passes on rollups that match, and shows each table’s state', async () => {
    const run = await runDb(db.database, ['rollup', '--verify']);
    const state = await runDb(db.database, ['rollup']);

    expect(run.code).toBe(0);
    expect(run.err).toContain('rollups match access_logs over 3 days');
    expect(state.out).toMatch(/rollup_ip_v2\s+ready/);
  });

  it('reports a difference with exit 1, repairs it with --repair, then passes', async () => {
    // Prepare: a count changed, a bucket lost, and a row written behind the writers' back.
    await db.pool.query("UPDATE rollup_ip_v2 SET n = n + 1 WHERE grain = 'hour' LIMIT 1");
    await db.pool.query("DELETE FROM rollup_status_v2 WHERE grain = 'day' LIMIT 1");
    await insertAccessLogRows(db.pool, traffic(1, 1, 11, new Date(END.getTime() - DAY)));

    // Act
    const verify = await runDb(db.database, ['rollup', '--verify'], { json: true });
    const repair = await runDb(db.database, ['rollup', '--repair']);
    const again = await runDb(db.database, ['rollup', '--verify']);

    // Assess
    expect(verify.code).toBe(1);
    expect(verify.result).toMatchObject({ differences: expect.any(Number) });
    expect((verify.result as { differences: number }).differences).toBeGreaterThanOrEqual(3);
    expect((verify.result as { examples: { kind: string }[] }).examples.map((e) => e.kind)).toEqual(
      expect.arrayContaining(['different', 'missing']),
    );
    expect(repair.code).toBe(0);
    expect(repair.err).toContain('repaired');
    expect(again.code).toBe(0);
  });

  it('--percentiles counts past days of busy paths once, and says when they are up to date', async () => {
    // Prepare: one path with 1,500 timed requests in one day (4 days ago), on top of the rest.
    const day = new Date(END.getTime() - 4 * DAY);
    const busy = traffic(1_500, 1, 15, new Date(day.getTime() + DAY)).map((r) => ({
      ...r,
      endpoint: '/busy',
      response_time_ms: r.response_time_ms ?? 1,
    }));
    await writeAccessLogs(db.pool, busy);

    // Act
    const first = await runDb(db.database, ['rollup', '--percentiles'], { json: true });
    const second = await runDb(db.database, ['rollup', '--percentiles']);

    // Assess
    expect(first.code).toBe(0);
    expect(first.result).toMatchObject({ percentiles: { days: 1, paths: 1 } });
    expect(await count(db, "SELECT SUM(n) AS n FROM rollup_endpoint_rt WHERE endpoint = '/busy'")).toBe(
      1_500,
    );
    expect(second.err).toContain('response times per day are up to date');
  });

  it('--percentiles counts bots apart, and counts again the days of a table made before it did', async () => {
    // Prepare: a busy path with bots among its requests, counted by a table without bots' counts
    // (as the previous version made it).
    const day = new Date(END.getTime() - 5 * DAY);
    const busy = traffic(1_200, 1, 16, new Date(day.getTime() + DAY)).map((r, i) => ({
      ...r,
      endpoint: '/busy-bots',
      response_time_ms: r.response_time_ms ?? 1,
      user_agent:
        i % 3 === 0
          ? 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'
          : 'curl-free browser',
    }));
    await writeAccessLogs(db.pool, busy);
    await runDb(db.database, ['rollup', '--percentiles']);
    await db.pool.query('ALTER TABLE rollup_endpoint_rt DROP COLUMN n_bot');

    // Act
    const init = await runDb(db.database, ['init'], { json: true });
    const rebuilt = await runDb(db.database, ['rollup', '--percentiles'], { json: true });

    // Assess
    expect(init.result).toMatchObject({ created: ['column rollup_endpoint_rt.n_bot'] });
    expect(rebuilt.result).toMatchObject({ percentiles: { paths: expect.any(Number) } });
    expect((rebuilt.result as { percentiles: { paths: number } }).percentiles.paths).toBeGreaterThanOrEqual(
      1,
    );
    const bots = await count(
      db,
      "SELECT COUNT(*) AS n FROM access_logs WHERE endpoint = '/busy-bots' AND is_bot = 1 AND response_time_ms IS NOT NULL",
    );
    expect(bots).toBeGreaterThan(0);
    expect(
      await count(db, "SELECT SUM(n_bot) AS n FROM rollup_endpoint_rt WHERE endpoint = '/busy-bots'"),
    ).toBe(bots);
  });

  it('checks only the days asked for', async () => {
    await db.pool.query("UPDATE rollup_ip_v2 SET n = n + 1 WHERE grain = 'day' AND bucket = '2025-05-29'");

    const before = await runDb(db.database, ['rollup', '--verify', '--until', '2025-05-29T00:00:00']);
    const on = await runDb(db.database, [
      'rollup',
      '--verify',
      '--since',
      '2025-05-29',
      '--until',
      '2025-05-30',
    ]);

    expect(before.code).toBe(0);
    expect(on.code).toBe(1);
  });

  it('refuses --since without --verify, and an unreadable time, as bad usage', async () => {
    expect((await runDb(db.database, ['rollup', '--since', '7d'])).code).toBe(2);
    expect((await runDb(db.database, ['rollup', '--verify', '--since', 'yesterday'])).code).toBe(2);
  });
});

describe('db prune', () => {
  let db: TestDatabase;
  const now = new Date();
  beforeEach(async () => {
    db = await createTestDatabase('rollup_prune', { schema: false });
    await applySchema(db.pool);
    // 10 days up to now.
    await writeAccessLogs(db.pool, traffic(6_000, 10, 12, now));
  });
  afterEach(async () => {
    await db.drop();
  });

  it('deletes whole days older than --older-than, rows and rollups, and keeps the rest exact', async () => {
    // Prepare
    const cutoff = pruneCutoff(now, 5);
    const older = await count(db, 'SELECT COUNT(*) AS n FROM access_logs WHERE `timestamp` < ?', [cutoff]);
    const total = await count(db, 'SELECT COUNT(*) AS n FROM access_logs');

    // Act
    const run = await runDb(db.database, ['prune', '--older-than', '5d', '--batch-size', '500'], {
      json: true,
    });

    // Assess
    expect(run.code).toBe(0);
    expect(run.result).toMatchObject({ rows: older, cutoff: cutoff.toISOString(), dryRun: false });
    expect(await count(db, 'SELECT COUNT(*) AS n FROM access_logs')).toBe(total - older);
    expect(
      await count(db, "SELECT COUNT(*) AS n FROM rollup_ip_v2 WHERE grain <> 'week' AND bucket < ?", [
        cutoff,
      ]),
    ).toBe(0);
    // Only the week holding the cutoff starts before it, counted again from the rows it keeps.
    const week = floorTo(cutoff.getTime(), 'week');
    expect(
      await count(db, "SELECT COUNT(*) AS n FROM rollup_ip_v2 WHERE grain = 'week' AND bucket < ?", [
        new Date(week),
      ]),
    ).toBe(0);
    expect(await count(db, 'SELECT COUNT(*) AS n FROM rollup_state WHERE prune_floor IS NOT NULL')).toBe(0);
    expect((await verifyRollups(db.pool)).differences).toBe(0);
  });

  it('takes the age from database.retentionDays, and --dry-run deletes nothing', async () => {
    const config = join(scratchDir(), 'config.json');
    writeFileSync(config, JSON.stringify({ database: { retentionDays: 3 } }));
    const total = await count(db, 'SELECT COUNT(*) AS n FROM access_logs');

    const dry = await runDb(db.database, ['prune', '--dry-run'], { config, json: true });
    const afterDry = await count(db, 'SELECT COUNT(*) AS n FROM access_logs');
    const real = await runDb(db.database, ['prune'], { config, json: true });

    expect(dry.code).toBe(0);
    expect(dry.result).toMatchObject({ days: 3, dryRun: true });
    expect(afterDry).toBe(total);
    expect(real.result).toMatchObject({ days: 3, rows: (dry.result as { rows: number }).rows });
    expect(await count(db, 'SELECT COUNT(*) AS n FROM access_logs')).toBe(
      total - (dry.result as { rows: number }).rows,
    );
  });

  it('refuses a missing or malformed age as bad usage, deleting nothing', async () => {
    const total = await count(db, 'SELECT COUNT(*) AS n FROM access_logs');
    expect((await runDb(db.database, ['prune'])).code).toBe(2);
    expect((await runDb(db.database, ['prune', '--older-than', '3 months'])).code).toBe(2);
    expect((await runDb(db.database, ['prune', '--older-than', '0d'])).code).toBe(2);
    expect(await count(db, 'SELECT COUNT(*) AS n FROM access_logs')).toBe(total);
  });

  it('lets the backend answer throughout, never counting a half-deleted day', async () => {
    // Prepare
    const cutoff = pruneCutoff(now, 5);
    const total = await count(db, 'SELECT COUNT(*) AS n FROM access_logs');
    const kept = await count(db, 'SELECT COUNT(*) AS n FROM access_logs WHERE `timestamp` >= ?', [cutoff]);
    const user = await createAppUser(db);
    const handler: BackendHandler = handlerWithLog({ env: backendEnv(db, user), now: () => now }).handler;
    let pruning = true;
    const answers: { status: number; total?: number }[] = [];
    const client = async (intent: string, params: Record<string, unknown>) => {
      while (pruning) {
        const a = answer(await handler({ intent, params }));
        answers.push({ status: a.status, total: a.data?.total_requests as number | undefined });
      }
    };

    // Act: small batches, so the prune takes a while; four clients call meanwhile.
    const clients = [
      client('get_access_logs', { all_time: true, limit: 50 }),
      client('get_access_logs', { ip_address: '192.168.1.1', all_time: true }),
      client('get_traffic_summary', { all_time: true }),
      client('get_traffic_summary', { all_time: true }),
    ];
    const report = await pruneAccessLogs(db.pool, { olderThanDays: 5, now, batchRows: 50 }).finally(() => {
      pruning = false;
    });
    await Promise.all(clients);
    await handler.close();

    // Assess
    expect(report.rows).toBe(total - kept);
    expect(answers.length).toBeGreaterThan(4);
    expect(answers.every((a) => a.status === 200)).toBe(true);
    // Before the prune began: everything; once it began: only what it keeps. Never in between.
    const totals = answers.flatMap((a) => (a.total === undefined ? [] : [a.total]));
    expect(totals.every((t) => t === total || t === kept)).toBe(true);
  });
});
