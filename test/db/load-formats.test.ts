import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadLogs } from '../../src/db/load.js';
import type { LogFormat } from '../../src/db/log-formats.js';
import { LOAD_HISTORY_SQL } from '../../src/db/schema.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { logText, portableRow } from '../support/log-samples.js';
import { runDb, scratchDir } from './db-cli.js';

const rows = Array.from({ length: 40 }, (_, i) => portableRow(i));

async function stored(db: TestDatabase) {
  const [r] = await db.pool.query(
    'SELECT UNIX_TIMESTAMP(`timestamp`) * 1000 AS ts, ip_address, method, endpoint, query_string, status_code, bytes_sent, response_time_ms FROM access_logs ORDER BY `timestamp`, id',
  );
  return (r as Record<string, unknown>[]).map((x) => ({ ...x, ts: Number(x.ts) })) as {
    ts: number;
    response_time_ms: number | null;
  }[];
}

const expected = rows.map((r) => ({
  ts: r.timestamp,
  ip_address: r.ip_address,
  method: r.method,
  endpoint: r.endpoint,
  query_string: r.query_string,
  status_code: r.status_code,
  bytes_sent: r.bytes_sent,
}));

describe('db load: ALB and CloudFront logs', () => {
  let db: TestDatabase;
  let dir: string;
  beforeEach(async () => {
    db = await createTestDatabase('load_fmt');
    await db.pool.query(LOAD_HISTORY_SQL);
    dir = scratchDir();
  });
  afterEach(async () => {
    await db.drop();
  });

  it.each<[LogFormat, boolean]>([
    ['alb', false],
    ['alb', true],
    ['cloudfront', false],
    ['cloudfront', true],
  ])('auto-detects %s (gzip: %s) and stores every row', async (format, gz) => {
    // Prepare
    const file = join(dir, `access.${format}${gz ? '.gz' : ''}`);
    const text = logText(format, rows);
    writeFileSync(file, gz ? gzipSync(text) : text);

    // Act
    const run = await runDb(db.database, ['load', file], { json: true });

    // Assess
    expect(run.code).toBe(0);
    expect(run.result).toMatchObject({ loaded: 40, errors: 0, files: [{ format }] });
    const got = await stored(db);
    expect(got.map(({ response_time_ms: _, ...rest }) => rest)).toEqual(expected);
    expect(got.map((r) => r.response_time_ms)).toEqual(rows.map((r) => r.response_time_ms));
  });

  it('--format alb refuses the lines of a combined log, one error per line, and loads none', async () => {
    // Prepare
    const file = join(dir, 'combined.log');
    writeFileSync(file, logText('combined', rows.slice(0, 3)));

    // Act
    const run = await runDb(db.database, ['load', '--format', 'alb', file], { json: true });

    // Assess
    expect(run.result).toMatchObject({
      loaded: 0,
      errors: 3,
      firstErrors: [{ line: 1, reason: expect.stringContaining('not an ALB access-log line') }, {}, {}],
    });
    expect(await stored(db)).toEqual([]);
  });

  it('--format cloudfront reads a CloudFront log; the header lines are neither rows nor errors', async () => {
    // Prepare
    const file = join(dir, 'cf.log');
    writeFileSync(file, logText('cloudfront', rows.slice(0, 5)));

    // Act
    const run = await runDb(db.database, ['load', '--format', 'cloudfront', file], { json: true });

    // Assess
    expect(run.result).toMatchObject({ loaded: 5, errors: 0, files: [{ lines: 7, format: 'cloudfront' }] });
  });

  it('refuses a binary file (an image) with a clear error and loads nothing from it', async () => {
    // Prepare: a PNG's first bytes
    const file = join(dir, 'logo.png');
    writeFileSync(
      file,
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48]),
    );

    // Act
    const run = await runDb(db.database, ['load', file]);

    // Assess
    expect(run.code).toBe(1);
    expect(run.err).toContain(
      `${file} is not a text log (binary data: 29% control bytes in its first 14 bytes)`,
    );
    expect(await stored(db)).toEqual([]);
  });

  it('two loads of the same content running at once commit it once', async () => {
    // Prepare: two names for one content, read as streams (their hash is known only at the end)
    const text = logText('alb', rows);
    const input = (label: string) => ({ label, open: async () => Readable.from([Buffer.from(text)]) });

    // Act
    const reports = await Promise.all([
      loadLogs(db.pool, [input('s3://logs/a.log')]),
      loadLogs(db.pool, [input('s3://logs/b.log')]),
    ]);

    // Assess
    const skipped = reports.map((r) => r.files[0]?.skipped ?? false).sort();
    expect(skipped).toEqual([false, true]);
    expect(await stored(db)).toHaveLength(40);
    const [history] = await db.pool.query('SELECT loaded FROM load_history');
    expect(history).toEqual([{ loaded: 40 }]);
  });
});
