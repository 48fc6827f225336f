import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCombinedLine } from '../../src/db/access-log-format.js';
import type { AccessLogRow } from '../../src/db/access-log-row.js';
import { classifyUnclassifiedRows } from '../../src/db/agent-backfill.js';
import { loadLogs } from '../../src/db/load.js';
import { applySchema } from '../../src/db/schema.js';
import { seedTraffic } from '../../src/db/seed.js';
import { classifyUserAgent } from '../../src/db/user-agent.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { scratchDir } from './db-cli.js';

const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const BINGBOT = 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)';
const CHROME_WINDOWS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';

describe('classifyUserAgent', () => {
  it('tells bots from browsers and names families', () => {
    expect(classifyUserAgent(GOOGLEBOT)).toEqual({ is_bot: 1, browser: 'Googlebot', os: 'Unknown' });
    expect(classifyUserAgent(BINGBOT)).toMatchObject({ is_bot: 1, browser: 'bingbot' });
    expect(classifyUserAgent('curl/8.5.0')).toMatchObject({ is_bot: 1, browser: 'curl' });
    expect(classifyUserAgent(CHROME_WINDOWS)).toEqual({ is_bot: 0, browser: 'Chrome', os: 'Windows' });
    expect(classifyUserAgent(SAFARI_IPHONE)).toEqual({ is_bot: 0, browser: 'Mobile Safari', os: 'iOS' });
    expect(classifyUserAgent(FIREFOX_LINUX)).toEqual({ is_bot: 0, browser: 'Firefox', os: 'Linux' });
  });

  it('counts a missing, empty or "-" agent as an unknown non-bot', () => {
    for (const none of [null, '', '-'])
      expect(classifyUserAgent(none)).toEqual({ is_bot: 0, browser: 'Unknown', os: 'Unknown' });
  });

  it('answers a repeated agent from its cache (the same object, not a second parse)', () => {
    const agent = `${CHROME_WINDOWS} cache-probe`;
    expect(classifyUserAgent(agent)).toBe(classifyUserAgent(agent));
  });
});

const row = (i: number, ua: string | null): AccessLogRow => ({
  timestamp: Date.UTC(2025, 0, 1, 0, 0, i),
  ip_address: `10.0.0.${i % 7}`,
  method: 'GET',
  endpoint: `/p${i % 3}`,
  query_string: null,
  status_code: 200,
  bytes_sent: 10,
  response_time_ms: null,
  referrer: null,
  user_agent: ua,
});

const AGENTS = [GOOGLEBOT, CHROME_WINDOWS, SAFARI_IPHONE, null, BINGBOT, FIREFOX_LINUX];

async function classes(db: TestDatabase) {
  const [rows] = await db.pool.query(
    'SELECT user_agent AS ua, is_bot, browser, os FROM access_logs ORDER BY id',
  );
  return rows as { ua: string | null; is_bot: number | null; browser: string | null; os: string | null }[];
}

/** What each row should hold, computed from the agent here, not read back from the writer. */
const expected = (ua: string | null) => {
  const c = classifyUserAgent(ua);
  return { ua, is_bot: c.is_bot, browser: c.browser, os: c.os };
};

describe('classification at write time', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('ua');
    await applySchema(db.pool);
  });
  afterAll(async () => db.drop());

  it('db load (LOAD DATA and INSERT paths) writes is_bot, browser and os', async () => {
    const rows = Array.from({ length: 12 }, (_, i) => row(i, AGENTS[i % AGENTS.length] ?? null));
    const dir = scratchDir();
    for (const method of ['load-data', 'insert'] as const) {
      await db.pool.query('DELETE FROM access_logs');
      const file = join(dir, `${method}.log`);
      writeFileSync(file, `${rows.map((r) => formatCombinedLine(r)).join('\n')}\n`);
      await loadLogs(db.pool, [file], { method, force: true });
      const got = await classes(db);
      expect(got).toEqual(rows.map((r) => expected(r.user_agent)));
      expect(got.filter((r) => r.is_bot === 1)).toHaveLength(4);
    }
  });

  it('db seed classifies every row it writes', async () => {
    await db.pool.query('DELETE FROM access_logs');
    await seedTraffic(db.pool, { rows: 2_000, days: 2, seed: 3, end: new Date('2025-02-01T00:00:00Z') });
    const got = await classes(db);
    expect(got).toHaveLength(2_000);
    expect(got.filter((r) => r.is_bot === null)).toEqual([]);
    expect(got).toEqual(got.map((r) => expected(r.ua)));
  });
});

describe('classification of existing rows (db init)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    // A table as an older version made it: no classification columns.
    db = await createTestDatabase('uaold', { schema: false });
    await db.pool.query(`CREATE TABLE access_logs (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, \`timestamp\` DATETIME(3) NOT NULL,
      ip_address VARCHAR(45) NOT NULL, method VARCHAR(16) NOT NULL, endpoint VARCHAR(700) NOT NULL,
      query_string TEXT NULL, status_code SMALLINT UNSIGNED NOT NULL, bytes_sent BIGINT UNSIGNED NULL,
      response_time_ms INT UNSIGNED NULL, referrer TEXT NULL, user_agent TEXT NULL)`);
    const values = Array.from({ length: 23 }, (_, i) => [
      '2025-01-01 00:00:00',
      '10.0.0.1',
      'GET',
      '/',
      200,
      AGENTS[i % AGENTS.length] ?? null,
    ]);
    await db.pool.query(
      'INSERT INTO access_logs (`timestamp`, ip_address, method, endpoint, status_code, user_agent) VALUES ?',
      [values],
    );
  });
  afterAll(async () => db.drop());

  it('adds the columns to the old table, then classifies its rows, resumably and once', async () => {
    const applied = await applySchema(db.pool);
    expect(applied.created).toEqual(
      expect.arrayContaining([
        'column access_logs.is_bot',
        'column access_logs.browser',
        'column access_logs.os',
      ]),
    );
    expect((await applySchema(db.pool)).created.filter((c) => c.startsWith('column'))).toEqual([]);
    expect((await classes(db)).every((r) => r.is_bot === null)).toBe(true);

    // Stopped after two chunks of 5 ids: those rows are done, the rest still NULL.
    let asked = 0;
    const first = await classifyUnclassifiedRows(db.pool, { chunkIds: 5, shouldStop: () => ++asked > 2 });
    expect(first).toEqual({ rows: 10, remaining: 13 });
    const half = await classes(db);
    expect(half.slice(0, 10)).toEqual(half.slice(0, 10).map((r) => expected(r.ua)));
    expect(half.slice(10).every((r) => r.is_bot === null)).toBe(true);

    expect(await classifyUnclassifiedRows(db.pool, { chunkIds: 5 })).toEqual({ rows: 13, remaining: 0 });
    const all = await classes(db);
    expect(all).toEqual(all.map((r) => expected(r.ua)));
    expect(await classifyUnclassifiedRows(db.pool)).toEqual({ rows: 0, remaining: 0 });
  });
});
