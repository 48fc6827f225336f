/**
 * The LOAD DATA LOCAL path of `db load`: values survive the tab-separated encoding exactly, it is
 * the path actually taken, and a server or client that refuses it gets the same rows by INSERT.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { escapeLogField } from '../../src/db/access-log-format.js';
import { loadLogs } from '../../src/db/load.js';
import { rowsAsTsv, tsvField } from '../../src/db/load-data.js';
import { LOAD_HISTORY_SQL } from '../../src/db/schema.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { scratchDir } from './db-cli.js';

/** Values that mean something to LOAD DATA's escaping, or to UTF-8. */
const NASTY = ['tab\there', 'new\nline', 'back\\slash', '\\N', 'nul\0byte', 'cr\rhere', 'emoji 🚀 é', ''];

function logLine(i: number, agent: string): string {
  return `10.0.0.${i} - - [10/Oct/2025:13:55:${String(i).padStart(2, '0')} +0000] "GET /p${i}?q=${encodeURIComponent(agent)} HTTP/1.1" 200 5 "${escapeLogField(`https://r/${agent}`)}" "${escapeLogField(agent)}"`;
}

describe('tsvField / rowsAsTsv', () => {
  it.each([
    [null, '\\N'],
    ['plain', 'plain'],
    ['a\tb\nc\rd\\e\0f', 'a\\tb\\nc\\rd\\\\e\\0f'],
    ['\\N', '\\\\N'],
  ])('%j is written as %j', (value, expected) => {
    expect(tsvField(value)).toBe(expected);
  });

  it('gives the same answer for the same value twice in a row (no regex state)', () => {
    expect([tsvField('a\tb'), tsvField('a\tb'), tsvField('c\td')]).toEqual(['a\\tb', 'a\\tb', 'c\\td']);
  });

  it('writes one line per row, columns in table order, NULL as \\N', () => {
    // Act
    const tsv = rowsAsTsv([
      {
        timestamp: Date.parse('2026-01-02T03:04:05.678Z'),
        ip_address: '::1',
        method: 'GET',
        endpoint: '/a',
        query_string: null,
        status_code: 404,
        bytes_sent: null,
        response_time_ms: 12,
        referrer: null,
        user_agent: 'x\ty',
      },
    ]);

    // Assess
    // The last three: is_bot, browser and os, classified from the agent as the row is written.
    expect(tsv).toBe(
      '2026-01-02 03:04:05.678\t::1\tGET\t/a\t\\N\t404\t\\N\t12\t\\N\tx\\ty\t0\tUnknown\tUnknown\n',
    );
  });
});

describe('db load through LOAD DATA LOCAL', () => {
  let db: TestDatabase;
  let file: string;
  beforeEach(async () => {
    db = await createTestDatabase('load_data');
    await db.pool.query(LOAD_HISTORY_SQL);
    file = join(scratchDir(), 'nasty.log');
    writeFileSync(file, `${NASTY.map((agent, i) => logLine(i + 1, agent)).join('\n')}\n`);
  });
  afterEach(async () => {
    await db.drop();
  });

  const expected = NASTY.map((agent, i) => ({
    endpoint: `/p${i + 1}`,
    query_string: `q=${encodeURIComponent(agent)}`,
    referrer: `https://r/${agent}`,
    user_agent: agent === '' ? null : agent,
  }));

  async function stored(pool: mysql.Pool | mysql.PoolConnection = db.pool) {
    const [rows] = await pool.query(
      'SELECT endpoint, query_string, referrer, user_agent FROM access_logs ORDER BY id',
    );
    return rows;
  }

  function singleConnectionPool(extra: mysql.PoolOptions = {}): mysql.Pool {
    return mysql.createPool({
      host: db.host,
      port: db.port,
      user: db.user,
      password: db.password,
      database: db.database,
      timezone: 'Z',
      charset: 'utf8mb4_unicode_ci',
      connectionLimit: 1,
      ...extra,
    });
  }

  it('stores tabs, newlines, backslashes, \\N, NUL, CR and 4-byte characters exactly, by LOAD DATA', async () => {
    // Prepare: one connection, so its session counters are the load's
    const pool = singleConnectionPool();

    // Act
    const report = await loadLogs(pool, [file]);
    const [[status]] = (await pool.query("SHOW SESSION STATUS LIKE 'Com_load'")) as unknown as [
      { Value: string }[],
    ];
    await pool.end();

    // Assess
    expect(report).toMatchObject({ loaded: NASTY.length, errors: 0 });
    expect(Number(status?.Value)).toBe(1);
    expect(await stored()).toEqual(expected);
  });

  it('falls back to INSERTs when LOAD DATA LOCAL is refused, with the same rows', async () => {
    // Prepare: a client that does not offer LOCAL INFILE, so the server refuses the statement
    const pool = singleConnectionPool({ flags: ['-LOCAL_FILES'] });

    // Act
    const report = await loadLogs(pool, [file], { batchSize: 3 });
    const [[status]] = (await pool.query("SHOW SESSION STATUS LIKE 'Com_insert'")) as unknown as [
      { Value: string }[],
    ];
    await pool.end();

    // Assess: 8 rows in batches of 3 are 3 INSERTs, plus the load_history row
    expect(report).toMatchObject({ loaded: NASTY.length, errors: 0 });
    expect(Number(status?.Value)).toBe(4);
    expect(await stored()).toEqual(expected);
  });

  it("method 'insert' never tries LOAD DATA", async () => {
    // Prepare
    const pool = singleConnectionPool();

    // Act
    await loadLogs(pool, [file], { method: 'insert' });
    const [[status]] = (await pool.query("SHOW SESSION STATUS LIKE 'Com_load'")) as unknown as [
      { Value: string }[],
    ];
    await pool.end();

    // Assess
    expect(Number(status?.Value)).toBe(0);
    expect(await stored()).toEqual(expected);
  });
});
