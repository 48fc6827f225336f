import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { progressText } from '../../src/commands/db.js';
import { FIRST_ERRORS_KEPT, loadLogs } from '../../src/db/load.js';
import { LOAD_HISTORY_SQL } from '../../src/db/schema.js';
import { freePort } from '../../src/db/server.js';
import { spawnCli } from '../support/cli-process.js';
import { createTestDatabase, type TestDatabase, testServer } from '../support/database.js';
import { runDb, scratchDir } from './db-cli.js';

const line = (ip: string, second: number, path = '/') =>
  `${ip} - - [10/Oct/2025:13:55:${String(second).padStart(2, '0')} +0000] "GET ${path} HTTP/1.1" 200 10 "-" "curl/8"`;

async function countRows(db: TestDatabase): Promise<number> {
  const [r] = await db.pool.query('SELECT COUNT(*) AS n FROM access_logs');
  return Number((r as { n: number }[])[0]?.n);
}

describe('db load: inputs', () => {
  let db: TestDatabase;
  let dir: string;
  beforeEach(async () => {
    db = await createTestDatabase('load_in');
    await db.pool.query(LOAD_HISTORY_SQL);
    dir = scratchDir();
  });
  afterEach(async () => {
    await db.drop();
  });

  it('refuses a directory, names it, and loads nothing', async () => {
    // Prepare
    const folder = join(dir, 'logs');
    mkdirSync(folder);

    // Act
    const run = await runDb(db.database, ['load', folder]);

    // Assess
    expect(run.code).toBe(2);
    expect(run.err).toContain(`${folder} is not a file`);
    expect(await countRows(db)).toBe(0);
  });

  it('checks every path before loading any: a missing second file leaves the first unloaded', async () => {
    // Prepare
    const good = join(dir, 'good.log');
    writeFileSync(good, `${line('10.0.0.1', 1)}\n`);
    const missing = join(dir, 'missing.log');

    // Act
    const run = await runDb(db.database, ['load', good, missing]);

    // Assess
    expect(run.code).toBe(2);
    expect(run.err).toContain(`cannot read ${missing} (ENOENT)`);
    expect(await countRows(db)).toBe(0);
  });

  it('refuses an unknown --format and lists the accepted ones', async () => {
    // Prepare
    const file = join(dir, 'a.log');
    writeFileSync(file, `${line('10.0.0.1', 1)}\n`);

    // commander prints its own usage errors on stderr
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);

    // Act
    const run = await runDb(db.database, ['load', '--format', 'w3c', file]);
    const printed = stderr.mock.calls.map((c) => String(c[0])).join('');
    stderr.mockRestore();

    // Assess
    expect(run.code).toBe(2);
    expect(printed).toMatch(/'w3c' is invalid/);
    expect(printed).toMatch(/auto, combined, common/);
    expect(await countRows(db)).toBe(0);
  });

  it('says which host and port did not answer when no database is reachable', async () => {
    // Prepare
    const file = join(dir, 'a.log');
    writeFileSync(file, `${line('10.0.0.1', 1)}\n`);
    const port = await freePort();

    // Act
    const run = await runDb(db.database, ['load', file], { env: { DB_PORT: String(port) } });

    // Assess
    expect(run.code).toBe(1);
    expect(run.err).toContain(`cannot connect to the database at 127.0.0.1:${port}`);
  });

  it('reads CRLF line endings and a last line without a newline', async () => {
    // Prepare
    const file = join(dir, 'crlf.log');
    writeFileSync(file, `${line('10.0.0.1', 1)}\r\n${line('10.0.0.2', 2)}\r\n${line('10.0.0.3', 3)}`);

    // Act
    const run = await runDb(db.database, ['load', file]);

    // Assess
    expect(run.result).toMatchObject({ loaded: 3, errors: 0, files: [{ lines: 3 }] });
    const [rows] = await db.pool.query('SELECT ip_address, user_agent FROM access_logs ORDER BY id');
    expect(rows).toEqual([
      { ip_address: '10.0.0.1', user_agent: 'curl/8' },
      { ip_address: '10.0.0.2', user_agent: 'curl/8' },
      { ip_address: '10.0.0.3', user_agent: 'curl/8' },
    ]);
  });

  it('reports a last line cut off mid-write (log still being written) with its line number', async () => {
    // Prepare
    const file = join(dir, 'cut.log');
    writeFileSync(file, `${line('10.0.0.1', 1)}\n${line('10.0.0.2', 2).slice(0, 70)}`);

    // Act
    const run = await runDb(db.database, ['load', file]);

    // Assess
    expect(run.result).toMatchObject({ loaded: 1, errors: 1, firstErrors: [{ line: 2 }] });
    expect(run.err).toContain(`${file}:2: truncated line`);
  });

  it('reports a line longer than 1 MB as one bad line and loads the rest', async () => {
    // Prepare: a 1.5 MB run with no newline (binary junk, a broken write) between two good lines
    const file = join(dir, 'long.log');
    writeFileSync(file, `${line('10.0.0.1', 1)}\n${'x'.repeat(1_500_000)}\n${line('10.0.0.2', 2)}\n`);

    // Act
    const run = await runDb(db.database, ['load', file]);

    // Assess
    expect(run.result).toMatchObject({
      loaded: 2,
      errors: 1,
      firstErrors: [{ line: 2, reason: 'line longer than 1 MB (not a log line?)' }],
    });
  });

  it('reads gzip from standard input', async () => {
    // Prepare
    const text = `${line('10.0.0.1', 1)}\n${line('2001:db8::1', 2)}\n`;
    const gz = gzipSync(text);
    const stdin = Readable.from([gz.subarray(0, 5), gz.subarray(5)]);

    // Act
    const report = await loadLogs(db.pool, ['-'], { stdin });

    // Assess
    expect(report).toMatchObject({ loaded: 2, errors: 0, files: [{ file: '(stdin)', lines: 2 }] });
    const [rows] = await db.pool.query('SELECT ip_address FROM access_logs ORDER BY id');
    expect(rows).toEqual([{ ip_address: '10.0.0.1' }, { ip_address: '2001:db8::1' }]);
  });

  it('refuses - given twice', async () => {
    // Act
    const attempt = loadLogs(db.pool, ['-', '-'], { stdin: Readable.from([]) });

    // Assess
    await expect(attempt).rejects.toThrow(/can be given only once/);
    expect(await countRows(db)).toBe(0);
  });

  it('counts every bad line but lists only the first ones, with "and N more"', async () => {
    // Prepare: 25 bad lines among 30
    const lines: string[] = [];
    for (let i = 1; i <= 30; i++) lines.push(i % 6 === 0 ? line('10.0.0.1', i) : `garbage line ${i}`);
    const file = join(dir, 'bad.log');
    writeFileSync(file, `${lines.join('\n')}\n`);

    // Act
    const run = await runDb(db.database, ['load', file]);

    // Assess
    expect(run.code).toBe(0);
    const report = run.result as { loaded: number; errors: number; firstErrors: { line: number }[] };
    expect(report.loaded).toBe(5);
    expect(report.errors).toBe(25);
    expect(report.firstErrors.map((e) => e.line)).toEqual([1, 2, 3, 4, 5, 7, 8, 9, 10, 11]);
    expect(report.firstErrors).toHaveLength(FIRST_ERRORS_KEPT);
    expect(run.err).toContain('25 lines could not be parsed');
    expect(run.err).toContain(`... and ${25 - FIRST_ERRORS_KEPT} more`);
    expect(await countRows(db)).toBe(5);
  });

  it.each([
    [0, 1, true],
    [2, 3, true],
    [3, 3, false],
  ])('--max-errors %i with %i bad lines stops: %s', async (max, bad, stops) => {
    // Prepare
    const lines = [line('10.0.0.1', 1), line('10.0.0.2', 2)];
    for (let i = 0; i < bad; i++) lines.push(`not a line ${i}`);
    lines.push(line('10.0.0.3', 3));
    const file = join(dir, 'm.log');
    writeFileSync(file, lines.join('\n'));

    // Act
    const run = await runDb(db.database, ['load', '--max-errors', String(max), file]);

    // Assess
    expect(run.code).toBe(stops ? 1 : 0);
    expect(await countRows(db)).toBe(stops ? 0 : 3);
    if (stops) {
      expect(run.err).toContain(`at ${file}:${3 + max}`);
      // a short file is read whole during format detection, so all its lines were read
      expect(run.result).toMatchObject({
        loaded: 0,
        errors: max + 1,
        files: [{ lines: 3 + bad, errors: max + 1 }],
      });
    }
  });

  it('a stopped stdin load leaves nothing and a re-run of the same text loads it all once', async () => {
    // Prepare
    const text = [line('10.0.0.1', 1), 'junk', line('10.0.0.2', 2)].join('\n');

    // Act
    const stopped = loadLogs(db.pool, ['-'], { stdin: Readable.from([text]), maxErrors: 0 });
    await expect(stopped).rejects.toThrow(/stopped: more than 0 bad lines \(at \(stdin\):2\)/);
    const afterStop = await countRows(db);
    const rerun = await loadLogs(db.pool, ['-'], { stdin: Readable.from([text]) });
    const again = await loadLogs(db.pool, ['-'], { stdin: Readable.from([text]) });

    // Assess
    expect(afterStop).toBe(0);
    expect(rerun).toMatchObject({ loaded: 2, errors: 1 });
    expect(again).toMatchObject({ loaded: 0, files: [{ skipped: true }] });
    expect(await countRows(db)).toBe(2);
  });

  it('keeps lines out of time order as they are, each at its own time', async () => {
    // Prepare
    const file = join(dir, 'order.log');
    writeFileSync(file, [line('10.0.0.3', 30), line('10.0.0.1', 10), line('10.0.0.2', 20)].join('\n'));

    // Act
    await runDb(db.database, ['load', file]);

    // Assess
    const [rows] = await db.pool.query('SELECT ip_address FROM access_logs ORDER BY `timestamp`');
    expect(rows).toEqual([
      { ip_address: '10.0.0.1' },
      { ip_address: '10.0.0.2' },
      { ip_address: '10.0.0.3' },
    ]);
  });

  it('auto-detection decides on the majority layout and reports the minority as bad lines', async () => {
    // Prepare: 25 combined lines then 2 common ones (a file whose format changed)
    const lines: string[] = [];
    for (let i = 0; i < 25; i++) lines.push(line(`10.0.1.${i}`, i));
    lines.push('10.0.2.1 - - [10/Oct/2025:14:00:00 +0000] "GET /x HTTP/1.1" 200 1');
    lines.push('10.0.2.2 - - [10/Oct/2025:14:00:01 +0000] "GET /y HTTP/1.1" 200 1');
    const file = join(dir, 'mixed.log');
    writeFileSync(file, lines.join('\n'));

    // Act
    const run = await runDb(db.database, ['load', file]);

    // Assess
    expect(run.result).toMatchObject({
      loaded: 25,
      errors: 2,
      files: [{ format: 'combined' }],
      firstErrors: [{ line: 26 }, { line: 27 }],
    });
  });
});

describe('db load - in a real process', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('load_pipe');
    await db.pool.query(LOAD_HISTORY_SQL);
  });
  afterEach(async () => {
    await db.drop();
  });

  it('reads a gzipped log piped into standard input (zcat-free: gzip recognised on the pipe)', async () => {
    // Prepare
    const server = testServer();
    const text = `${line('10.0.0.1', 1)}\nnot a log line\n${line('2001:db8::5', 2)}\n`;
    const { child, output, exited } = spawnCli(['--json', 'db', 'load', '-'], {
      cwd: scratchDir(),
      env: {
        DB_HOST: server.host,
        DB_PORT: String(server.port),
        DB_USER: server.user,
        DB_PASSWORD: server.password,
        DB_NAME: db.database,
      },
      stdin: 'pipe',
      timeoutMs: 60_000,
    });

    // Act
    child.stdin?.end(gzipSync(text));
    const { code } = await exited;
    const { stdout, stderr } = output;

    // Assess
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(stdout)).toMatchObject({
      loaded: 2,
      errors: 1,
      files: [{ file: '(stdin)', lines: 3 }],
      firstErrors: [{ line: 2 }],
    });
    const [rows] = await db.pool.query('SELECT ip_address FROM access_logs ORDER BY id');
    expect(rows).toEqual([{ ip_address: '10.0.0.1' }, { ip_address: '2001:db8::5' }]);
  }, 60_000);
});

describe('progressText (the progress bar shown on a terminal)', () => {
  it('draws a bar with the share of bytes read when the size is known', () => {
    expect(progressText({ file: 'a.log', lines: 12_345, bytes: 50, totalBytes: 100 })).toBe(
      `a.log [${'#'.repeat(12)}${'-'.repeat(12)}] 50% 12,345 lines`,
    );
  });

  it('counts lines and bytes when the size is unknown (standard input)', () => {
    expect(progressText({ file: '(stdin)', lines: 2_000_000, bytes: 3 * 1024 * 1024 })).toBe(
      '(stdin): 2,000,000 lines, 3.0 MB',
    );
  });

  it('never goes past 100% (gzip: raw bytes can exceed the stat size while it grows)', () => {
    expect(progressText({ file: 'a', lines: 1, bytes: 200, totalBytes: 100 })).toContain('100%');
  });
});
