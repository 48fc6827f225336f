import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatCombinedLine } from '../../src/db/access-log-format.js';
import { loadLogs } from '../../src/db/load.js';
import { generateTraffic } from '../../src/db/seed.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { runDb, scratchDir } from './db-cli.js';

/** A fixture with good lines of every kind and bad lines at known line numbers. */
const FIXTURE = [
  /* 1 */ '192.168.1.1 - - [10/Oct/2025:13:55:36 -0700] "GET /index.html HTTP/1.1" 200 2326 "https://www.google.com/" "Mozilla/5.0 (X11; Linux x86_64)"',
  /* 2 */ '2001:db8::7 - - [10/Oct/2025:20:55:37 +0000] "POST /api/orders?src=app HTTP/2.0" 201 512 "-" "okhttp/4.12" 0.250',
  /* 3 */ '10.0.0.9 - - [10/Oct/2025:20:55:36 +0000] "GET /static/app.js HTTP/1.1" 304 - "https://www.example.com/" "Mozilla/5.0 \\"quoted\\""',
  /* 4 */ '10.0.0.9 - - [10/Oct/2025:20:55:3', // truncated
  /* 5 */ '',
  /* 6 */ 'this is not a log line',
  /* 7 */ '10.0.0.10 - - [10/Oct/2025:20:50:00 +0000] "GET /api/users/42 HTTP/1.1" 500 120 "-" "curl/8.5.0"',
  /* 8 */ '10.0.0.11 - - [31/Feb/2025:20:50:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-"', // impossible date
  /* 9 */ '10.0.0.12 - - [10/Oct/2025:21:00:00 +0000] "-" 400 0 "-" "-"',
  /* 10 */ '10.0.0.13 - - [10/Oct/2025:21:00:01 +0000] "GET /login HTTP/1.1" 401 88 "-" "python-requests/2.31.0"',
].join('\n');
const GOOD_LINES = 6;
const BAD_LINE_NUMBERS = [4, 6, 8];

type Row = Record<string, unknown>;

async function rows(db: TestDatabase): Promise<Row[]> {
  const [r] = await db.pool.query(
    'SELECT `timestamp`, ip_address, method, endpoint, query_string, status_code, bytes_sent, response_time_ms, referrer, user_agent FROM access_logs ORDER BY id',
  );
  return r as Row[];
}

async function countRows(db: TestDatabase): Promise<number> {
  const [r] = await db.pool.query('SELECT COUNT(*) AS n FROM access_logs');
  return Number((r as { n: number }[])[0]?.n);
}

function writeFixture(name: string, content: string | Buffer): string {
  const file = join(scratchDir(), name);
  writeFileSync(file, content);
  return file;
}

describe('db load', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('load');
    await db.pool.query((await import('../../src/db/schema.js')).LOAD_HISTORY_SQL);
  });
  afterEach(async () => {
    await db.drop();
  });

  it('loads the good lines, counts the bad ones and reports them with line numbers', async () => {
    // Prepare
    const file = writeFixture('access.log', FIXTURE);

    // Act
    const run = await runDb(db.database, ['load', file]);

    // Assess
    expect(run.code).toBe(0);
    expect(await countRows(db)).toBe(GOOD_LINES);
    expect(run.result).toMatchObject({
      loaded: GOOD_LINES,
      errors: 3,
      files: [{ file, lines: 10, loaded: GOOD_LINES, errors: 3, format: 'combined' }],
    });
    const report = run.result as { firstErrors: { line: number; reason: string }[] };
    expect(report.firstErrors.map((e) => e.line)).toEqual(BAD_LINE_NUMBERS);
    for (const n of BAD_LINE_NUMBERS) expect(run.err).toContain(`${file}:${n}:`);
    expect(run.err).toContain('3 lines could not be parsed');
  });

  it('stores exact field values, times in UTC', async () => {
    // Prepare
    const file = writeFixture('access.log', FIXTURE);

    // Act
    await runDb(db.database, ['load', file]);

    // Assess
    const loaded = await rows(db);
    expect(loaded[0]).toEqual({
      timestamp: new Date('2025-10-10T20:55:36.000Z'),
      ip_address: '192.168.1.1',
      method: 'GET',
      endpoint: '/index.html',
      query_string: null,
      status_code: 200,
      bytes_sent: 2326,
      response_time_ms: null,
      referrer: 'https://www.google.com/',
      user_agent: 'Mozilla/5.0 (X11; Linux x86_64)',
    });
    expect(loaded[1]).toMatchObject({
      ip_address: '2001:db8::7',
      method: 'POST',
      endpoint: '/api/orders',
      query_string: 'src=app',
      status_code: 201,
      response_time_ms: 250,
      referrer: null,
    });
    expect(loaded[2]).toMatchObject({
      bytes_sent: null,
      status_code: 304,
      user_agent: 'Mozilla/5.0 "quoted"',
    });
    expect(loaded[4]).toMatchObject({ method: '-', endpoint: '-', status_code: 400 });
  });

  it('does not duplicate a file loaded twice, and --force loads it again', async () => {
    // Prepare
    const file = writeFixture('access.log', FIXTURE);
    await runDb(db.database, ['load', file]);

    // Act
    const again = await runDb(db.database, ['load', file]);
    const afterAgain = await countRows(db);
    const forced = await runDb(db.database, ['load', '--force', file]);

    // Assess
    expect(again.code).toBe(0);
    expect(again.out).toContain('already loaded');
    expect(afterAgain).toBe(GOOD_LINES);
    expect(forced.code).toBe(0);
    expect(await countRows(db)).toBe(2 * GOOD_LINES);
  });

  it('reads gzip by its magic bytes, and treats a log and its .gz copy as one input', async () => {
    // Prepare: the compressed copy has a name that does not say gzip
    const gz = writeFixture('access.log.1', gzipSync(FIXTURE));
    const plain = writeFixture('access.log', FIXTURE);

    // Act
    const first = await runDb(db.database, ['load', gz]);
    const second = await runDb(db.database, ['load', plain]);

    // Assess
    expect(first.result).toMatchObject({ loaded: GOOD_LINES, errors: 3 });
    expect(second.result).toMatchObject({ loaded: 0, files: [{ skipped: true }] });
    expect(await countRows(db)).toBe(GOOD_LINES);
    expect((await rows(db))[0]).toMatchObject({ ip_address: '192.168.1.1', endpoint: '/index.html' });
  });

  it('refuses a corrupt gzip file and loads nothing from it', async () => {
    // Prepare
    const whole = gzipSync(FIXTURE.repeat(50));
    const file = writeFixture('broken.gz', Buffer.concat([whole.subarray(0, 40), Buffer.alloc(200, 7)]));

    // Act
    const run = await runDb(db.database, ['load', file]);

    // Assess
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/not valid gzip/);
    expect(await countRows(db)).toBe(0);
  });

  it('reads standard input (-), and recognises it when the same text comes again', async () => {
    // Prepare
    const stdin = () => Readable.from([Buffer.from(FIXTURE.slice(0, 200)), Buffer.from(FIXTURE.slice(200))]);

    // Act
    const first = await loadLogs(db.pool, ['-'], { stdin: stdin() });
    const second = await loadLogs(db.pool, ['-'], { stdin: stdin() });

    // Assess
    expect(first).toMatchObject({ loaded: GOOD_LINES, errors: 3, files: [{ file: '(stdin)', lines: 10 }] });
    expect(second).toMatchObject({ loaded: 0, files: [{ file: '(stdin)', skipped: true }] });
    expect(await countRows(db)).toBe(GOOD_LINES);
  });

  it('--max-errors stops, leaves nothing of the failing file, and a re-run converges', async () => {
    // Prepare: one clean file, then the fixture with 3 bad lines
    const clean = writeFixture(
      'clean.log',
      FIXTURE.split('\n')
        .filter((_, i) => !BAD_LINE_NUMBERS.includes(i + 1))
        .join('\n'),
    );
    const dirty = writeFixture('dirty.log', FIXTURE);

    // Act
    const stopped = await runDb(db.database, ['load', '--max-errors', '2', clean, dirty]);
    const afterStop = await countRows(db);
    const rerun = await runDb(db.database, ['load', clean, dirty]);
    const rerunAgain = await runDb(db.database, ['load', clean, dirty]);

    // Assess
    expect(stopped.code).toBe(1);
    expect(stopped.err).toMatch(
      /stopped: more than 2 bad lines \(at .*dirty\.log:8\); nothing from .*dirty\.log was loaded/,
    );
    expect(afterStop).toBe(GOOD_LINES);
    expect(rerun.result).toMatchObject({ files: [{ skipped: true }, { loaded: GOOD_LINES, errors: 3 }] });
    expect(rerunAgain.result).toMatchObject({ loaded: 0, files: [{ skipped: true }, { skipped: true }] });
    expect(await countRows(db)).toBe(2 * GOOD_LINES);
  });

  it('auto-detects the common format and --format refuses the other layout', async () => {
    // Prepare
    const common = writeFixture(
      'common.log',
      [
        '10.1.1.1 - - [10/Oct/2025:13:55:36 +0000] "GET /a HTTP/1.1" 200 10',
        '10.1.1.2 - bob [10/Oct/2025:13:55:37 +0000] "GET /b HTTP/1.1" 404 -',
      ].join('\n'),
    );

    // Act
    const auto = await runDb(db.database, ['load', common]);
    const forced = await runDb(db.database, ['load', '--force', '--format', 'combined', common]);

    // Assess
    expect(auto.result).toMatchObject({ loaded: 2, errors: 0, files: [{ format: 'common' }] });
    expect(forced.result).toMatchObject({ loaded: 0, errors: 2 });
    expect((await rows(db))[1]).toMatchObject({
      endpoint: '/b',
      status_code: 404,
      bytes_sent: null,
      user_agent: null,
    });
  });

  it('loads many batches exactly: every generated row arrives once with its values', async () => {
    // Prepare: 2,500 synthetic rows written as log lines, out of time order, loaded 7 rows per INSERT
    const generated = [
      ...generateTraffic({ rows: 2_500, days: 2, seed: 5, end: new Date('2026-01-01T00:00:00Z') }),
    ];
    const shuffled = generated
      .map((r, i) => ({ r, k: (i * 7919) % generated.length }))
      .sort((a, b) => a.k - b.k);
    const file = writeFixture(
      'many.log',
      `${shuffled.map(({ r }) => formatCombinedLine(r, { withResponseTime: true })).join('\n')}\n`,
    );

    // Act
    const run = await runDb(db.database, ['load', '--batch-size', '7', file]);

    // Assess
    expect(run.result).toMatchObject({ loaded: 2_500, errors: 0 });
    const key = (r: Row) => JSON.stringify(r);
    const expected = generated
      .map((r) => ({ ...r, timestamp: new Date(Math.floor(r.timestamp / 1000) * 1000) }))
      .map((r) => key({ ...r }))
      .sort();
    const actual = (await rows(db)).map((r) => key({ ...r })).sort();
    expect(actual).toEqual(expected);
  });

  it.each([
    [['load', '--max-errors', 'x', 'f.log'], /--max-errors must be a whole number/],
    [['load', '--batch-size', '0', 'f.log'], /--batch-size must be a whole number/],
    [['load', '/no/such/file.log'], /cannot read \/no\/such\/file\.log/],
  ])('bad usage %j exits 2 with a clear message', async (args, message) => {
    // Act
    const run = await runDb(db.database, args);

    // Assess
    expect(run.code).toBe(2);
    expect(run.err).toMatch(message);
  });
});
