/**
 * The ingest function's handler in this process, against the test MariaDB and the S3 endpoint the
 * local stack runs (s3rver through src/local/s3-server.ts): the events it handles are the
 * notifications that endpoint sent for real uploads.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { localIngestClients } from '../../src/aws/local-endpoints.js';
import { getJsonObject } from '../../src/aws/s3.js';
import { insertAccessLogRows } from '../../src/db/access-log-row.js';
import type { InitResult } from '../../src/db/init.js';
import type { LogFormat } from '../../src/db/log-formats.js';
import { readRollupStates, verifyRollups } from '../../src/db/rollup-maintenance.js';
import { LOAD_HISTORY_SQL } from '../../src/db/schema.js';
import { generateTraffic } from '../../src/db/seed.js';
import { type MariaDbServer, startMariaDb } from '../../src/db/server.js';
import { INGEST_DB_PRIVILEGES } from '../../src/ingest/database.js';
import { createIngestHandler, type IngestHandler } from '../../src/ingest/handler.js';
import { type IngestResult, resultKey } from '../../src/ingest/layout.js';
import { type LocalS3, type S3NotificationEvent, startLocalS3 } from '../../src/local/s3-server.js';
import { createTestDatabase, SCHEMA_SQL, type TestDatabase } from '../support/database.js';
import { logText, portableRow } from '../support/log-samples.js';

const BUCKET = 'ingest-test';
const RESULTS = 'chatbot-ops/results/';
const rows = Array.from({ length: 50 }, (_, i) => portableRow(i));

let s3dir: string;
let s3server: LocalS3;
let s3: S3Client;
const events: S3NotificationEvent[] = [];

beforeAll(async () => {
  s3dir = mkdtempSync(join(tmpdir(), 'ingest-s3-'));
  s3server = await startLocalS3({
    dir: s3dir,
    bucket: BUCKET,
    region: 'eu-west-1',
    filter: { prefix: 'logs/', suffixes: [] },
    onObjectCreated: (e) => events.push(e),
  });
  s3 = localIngestClients({
    s3Endpoint: s3server.endpoint,
    lambdaEndpoint: 'http://127.0.0.1:9',
    region: 'eu-west-1',
  }).s3;
});

afterAll(async () => {
  s3?.destroy();
  await s3server?.close();
  rmSync(s3dir, { recursive: true, force: true });
});

/** Upload, and return the notification the endpoint sent for it. */
async function upload(key: string, body: Buffer | string): Promise<S3NotificationEvent> {
  const before = events.length;
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  for (let i = 0; i < 100 && events.length === before; i++) await new Promise((r) => setTimeout(r, 20));
  const event = events[before];
  if (!event) throw new Error(`no notification for ${key}`);
  return event;
}

function handlerFor(
  db: { host: string; port: number; user: string; password: string; database: string },
  logs: string[] = [],
) {
  return createIngestHandler({
    s3,
    env: {
      DB_HOST: db.host,
      DB_PORT: String(db.port),
      DB_USER: db.user,
      DB_PASSWORD: db.password,
      DB_NAME: db.database,
      INGEST_RESULTS_PREFIX: RESULTS,
      LOG_LEVEL: 'INFO',
    },
    log: (line) => logs.push(line),
    progressEveryMs: 0,
  });
}

const context = (id: string, remainingMs = 60_000) => {
  const deadline = Date.now() + remainingMs;
  return { awsRequestId: id, getRemainingTimeInMillis: () => deadline - Date.now() };
};

const result = (key: string) =>
  getJsonObject<IngestResult>(s3, { bucket: BUCKET, key: resultKey(RESULTS, key) });

async function count(db: TestDatabase): Promise<number> {
  const [r] = await db.pool.query('SELECT COUNT(*) AS n FROM access_logs');
  return Number((r as { n: number }[])[0]?.n);
}

describe('ingest handler: S3 events', () => {
  let db: TestDatabase;
  let handler: IngestHandler;
  let logs: string[];
  beforeEach(async () => {
    db = await createTestDatabase('ingest');
    await db.pool.query(LOAD_HISTORY_SQL);
    logs = [];
    handler = handlerFor(db, logs);
  });
  afterEach(async () => {
    await handler.close();
    await db.drop();
  });

  it.each<[LogFormat, boolean]>([
    ['combined', false],
    ['combined', true],
    ['common', false],
    ['common', true],
    ['alb', false],
    ['alb', true],
    ['cloudfront', false],
    ['cloudfront', true],
  ])('loads a %s object (gzip: %s) and writes its result', async (format, gz) => {
    // Prepare
    const text = logText(format, rows);
    const key = `logs/${format}/access ${gz ? 'b+c.log.gz' : 'a.log'}`;
    const event = await upload(key, gz ? gzipSync(text) : text);

    // Act
    const answer = await handler(event, context(`req-${format}`));

    // Assess
    expect(answer).toEqual({ results: [{ object: `s3://${BUCKET}/${key}`, status: 'loaded', loaded: 50 }] });
    expect(await count(db)).toBe(50);
    expect(await result(key)).toMatchObject({
      status: 'loaded',
      requestId: `req-${format}`,
      report: { loaded: 50, errors: 0, files: [{ format, lines: format === 'cloudfront' ? 52 : 50 }] },
    });
    const [history] = await db.pool.query('SELECT source, loaded FROM load_history');
    expect(history).toEqual([{ source: `s3://${BUCKET}/${key}`, loaded: 50 }]);
    expect(logs.map((l) => JSON.parse(l))).toContainEqual(
      expect.objectContaining({ message: 'object', status: 'loaded', loaded: 50, format }),
    );
  });

  it('the same event delivered twice adds nothing the second time', async () => {
    // Prepare
    const event = await upload('logs/twice.log', logText('combined', rows));
    await handler(event, context('first'));

    // Act
    const again = await handler(event, context('second'));

    // Assess
    expect(again).toEqual({
      results: [{ object: `s3://${BUCKET}/logs/twice.log`, status: 'skipped', loaded: 0 }],
    });
    expect(await count(db)).toBe(50);
  });

  it('two objects with the same content (one gzipped) are loaded once', async () => {
    // Prepare
    const text = logText('alb', rows);
    const first = await upload('logs/one.log', text);
    const second = await upload('logs/two.log.gz', gzipSync(text));

    // Act: at the same time, as two containers would
    const answers = await Promise.all([handler(first, context('a')), handler(second, context('b'))]);

    // Assess
    const statuses = answers.map((a) => (a as { results: { status: string }[] }).results[0]?.status).sort();
    expect(statuses).toEqual(['loaded', 'skipped']);
    expect(await count(db)).toBe(50);
  });

  it('a truncated gzip fails the event, loads nothing, and says so in the result', async () => {
    // Prepare
    const gz = gzipSync(logText('combined', rows));
    const event = await upload('logs/cut.log.gz', gz.subarray(0, Math.floor(gz.length / 2)));

    // Act
    const run = handler(event, context('cut'));

    // Assess
    await expect(run).rejects.toThrow(/cut\.log\.gz: .*is not valid gzip.*nothing from it was loaded/);
    expect(await count(db)).toBe(0);
    expect(await result('logs/cut.log.gz')).toMatchObject({
      status: 'failed',
      error: { message: expect.stringContaining('not valid gzip') },
    });
  });

  it('a binary object (an image) fails the event with a clear error and loads nothing', async () => {
    // Prepare: a PNG's signature and header
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000100000001008060000001ff3ff61', 'hex');
    const event = await upload('logs/logo.png', png);

    // Act / Assess
    await expect(handler(event, context('png'))).rejects.toThrow(/is not a text log \(binary data/);
    expect(await count(db)).toBe(0);
  });

  it('an object with no line in a known format fails the event; its result lists the bad lines', async () => {
    // Prepare
    const event = await upload('logs/notes.txt', 'shopping list\nmilk\neggs\n');

    // Act / Assess
    await expect(handler(event, context('notes'))).rejects.toThrow(
      /holds no line in a known access-log format \(3 bad lines\)/,
    );
    expect(await result('logs/notes.txt')).toMatchObject({
      status: 'failed',
      report: { loaded: 0, errors: 3, firstErrors: [{ line: 1 }, { line: 2 }, { line: 3 }] },
    });
  });

  it('stops before the time budget runs out, with a clear error and nothing half-loaded', async () => {
    // Prepare: 3.1 s left, of which 3 s are kept for rolling back: 100 ms to load 200,000 lines
    const many = Array.from({ length: 200_000 }, (_, i) => portableRow(i));
    const event = await upload('logs/big.log.gz', gzipSync(logText('combined', many)));

    // Act / Assess
    await expect(handler(event, context('slow', 3100))).rejects.toThrow(
      /could not be loaded within the function's time budget/,
    );
    expect(await count(db)).toBe(0);
  });

  it("ignores deletions, S3's test event and its own result documents", async () => {
    // Act
    const test = await handler({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: BUCKET }, context('t'));
    const removed = await handler(
      {
        Records: [
          {
            eventSource: 'aws:s3',
            eventName: 'ObjectRemoved:Delete',
            s3: { bucket: { name: BUCKET }, object: { key: 'logs/x.log' } },
          },
        ],
      },
      context('d'),
    );
    const own = await handler(
      {
        Records: [
          {
            eventSource: 'aws:s3',
            eventName: 'ObjectCreated:Put',
            s3: { bucket: { name: BUCKET }, object: { key: `${RESULTS}logs/x.log.json` } },
          },
        ],
      },
      context('o'),
    );

    // Assess
    expect(test).toEqual({ ignored: 's3:TestEvent' });
    expect(removed).toEqual({ results: [] });
    expect(own).toEqual({ results: [] });
  });

  it('ignores the test file an ALB writes when its access logs are turned on (no failure, no alarm)', async () => {
    // Prepare: what ALB puts at <prefix>/AWSLogs/<account>/ before it delivers any log.
    const key = 'logs/alb/AWSLogs/123456789012/ELBAccessLogTestFile';
    const event = await upload(
      key,
      'Enable AccessLog for ELB: app/shop/0a1b2c3d4e5f at 2024-03-05T10:15:30.123Z',
    );

    // Act
    const answer = await handler(event, context('alb'));

    // Assess
    expect(answer).toEqual({ results: [] });
    expect(await count(db)).toBe(0);
    expect(await result(key)).toBeUndefined();
    expect(logs.some((l) => l.includes('ignored the load balancer access-log test file'))).toBe(true);
  });

  it('refuses an event it does not know, so it lands in the failure destination', async () => {
    await expect(handler({ hello: 'world' }, context('x'))).rejects.toThrow(/unrecognised event/);
  });
});

describe('ingest handler: direct invocations', () => {
  let db: TestDatabase;
  let handler: IngestHandler;
  beforeEach(async () => {
    db = await createTestDatabase('ingest_direct', { schema: false });
    handler = handlerFor(db);
  });
  afterEach(async () => {
    await handler.close();
    await db.drop();
  });

  it('init creates the schema (idempotent), load loads one object, stats counts it', async () => {
    // Prepare
    await upload('logs/direct.log', logText('cloudfront', rows));

    // Act
    const init = await handler({ action: 'init' }, context('i'));
    const again = await handler({ action: 'init' }, context('j'));
    const load = await handler({ action: 'load', object: `s3://${BUCKET}/logs/direct.log` }, context('l'));
    const stats = await handler({ action: 'stats' }, context('s'));

    // Assess
    expect(init).toMatchObject({
      ok: true,
      action: 'init',
      result: {
        created: [
          'table access_logs',
          'table load_history',
          'table rollup_state',
          'table rollup_status_v2',
          'table rollup_endpoint_v2',
          'table rollup_ip_v2',
          'table rollup_agent',
          'table rollup_visitor',
          'table rollup_referrer',
          'table rollup_notfound',
          'table rollup_endpoint_rt',
        ],
        backfilled: { ids: 0, remaining: 0 },
      },
    });
    expect(again).toMatchObject({ ok: true, result: { created: [] } });
    expect(load).toMatchObject({
      ok: true,
      action: 'load',
      result: { status: 'loaded', report: { loaded: 50 } },
    });
    expect(stats).toMatchObject({
      ok: true,
      action: 'stats',
      result: { rows: 50, loadHistory: { files: 1 } },
    });
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      'an unknown action',
      { action: 'drop' },
      /unknown action "drop"; the ingest function takes init, stats, load/,
    ],
    ['load without an object', { action: 'load' }, /load needs "object"/],
    ['load of a URL that is not s3://', { action: 'load', object: 'https://x/y' }, /is not an S3 object URL/],
    [
      'an unknown format',
      { action: 'load', object: `s3://${BUCKET}/logs/a`, format: 'w3c' },
      /format must be auto or one of/,
    ],
  ])('answers %s with ok: false and a message, without throwing', async (_name, event, message) => {
    // Prepare
    await handler({ action: 'init' }, context('i'));

    // Act
    const answer = (await handler(event, context('x'))) as {
      ok: boolean;
      error?: { message: string };
      result?: IngestResult;
    };

    // Assess
    expect(answer.ok).toBe(false);
    expect(answer.error?.message).toMatch(message);
  });

  it('grants says what its login may do to the two tables, from the database and table levels', async () => {
    // Prepare: a writer with rights on the database, a reader with SELECT on one table only.
    await handler({ action: 'init' }, context('i'));
    const suffix = db.database.slice(-8);
    const writer = { user: `w_${suffix}`, password: 'Writer-pass-1' };
    const reader = { user: `r_${suffix}`, password: 'Reader-pass-1' };
    await db.pool.query(`CREATE USER ?@'%' IDENTIFIED BY ?`, [writer.user, writer.password]);
    await db.pool.query(`GRANT SELECT, INSERT ON \`${db.database}\`.* TO ?@'%'`, [writer.user]);
    await db.pool.query(`CREATE USER ?@'%' IDENTIFIED BY ?`, [reader.user, reader.password]);
    await db.pool.query(`GRANT SELECT ON \`${db.database}\`.access_logs TO ?@'%'`, [reader.user]);
    const asWriter = handlerFor({ ...db, ...writer });
    const asReader = handlerFor({ ...db, ...reader });

    try {
      // Act
      const w = await asWriter({ action: 'grants' }, context('g1'));
      const r = await asReader({ action: 'grants' }, context('g2'));

      // Assess
      expect(w).toEqual({
        ok: true,
        action: 'grants',
        result: {
          user: `${writer.user}@%`,
          database: db.database,
          tables: {
            access_logs: ['INSERT', 'SELECT'],
            load_history: ['INSERT', 'SELECT'],
            rollups: ['INSERT', 'SELECT'],
          },
        },
      });
      expect(r).toMatchObject({
        ok: true,
        result: {
          user: `${reader.user}@%`,
          tables: { access_logs: ['SELECT'], load_history: [], rollups: [] },
        },
      });
    } finally {
      await asWriter.close();
      await asReader.close();
      await db.pool.query(`DROP USER ?@'%', ?@'%'`, [writer.user, reader.user]);
    }
  });

  it('load of an object deleted since answers skipped, saying so', async () => {
    // Act
    await handler({ action: 'init' }, context('i'));
    const answer = await handler({ action: 'load', object: `s3://${BUCKET}/logs/none.log` }, context('n'));

    // Assess
    expect(answer).toMatchObject({
      ok: true,
      result: {
        status: 'skipped',
        error: { message: `s3://${BUCKET}/logs/none.log no longer exists; nothing to load` },
      },
    });
  });
});

describe('ingest handler: rollups, as its own database user', () => {
  let db: TestDatabase;
  let writer: { user: string; password: string };
  let handler: IngestHandler;
  beforeEach(async () => {
    db = await createTestDatabase('ingest_rollups', { schema: false });
    // Exactly the rights the local stack gives the function's user (and docs/ingest.md asks for).
    writer = { user: `ingest_${randomBytes(4).toString('hex')}`, password: randomBytes(12).toString('hex') };
    await db.pool.query(`CREATE USER '${writer.user}'@'%' IDENTIFIED BY '${writer.password}'`);
    await db.pool.query(`GRANT ${INGEST_DB_PRIVILEGES} ON \`${db.database}\`.* TO '${writer.user}'@'%'`);
    handler = handlerFor({ ...db, ...writer });
  });
  afterEach(async () => {
    await handler.close();
    await db.pool.query(`DROP USER '${writer.user}'@'%'`);
    await db.drop();
  });

  const requestsCounted = async () => {
    const [r] = await db.pool.query("SELECT SUM(n) AS n FROM rollup_status_v2 WHERE grain = 'day'");
    return Number((r as { n: number | null }[])[0]?.n ?? 0);
  };

  it('an S3 event writes its rows and their rollups together; a failed one leaves neither', async () => {
    // Prepare
    await handler({ action: 'init' }, context('init'));
    const good = await upload('logs/rollups/good.log', logText('combined', rows));
    const gz = gzipSync(
      logText(
        'combined',
        rows.map((r) => ({ ...r, ip_address: '203.0.113.99' })),
      ),
    );
    const cut = await upload('logs/rollups/cut.log.gz', gz.subarray(0, Math.floor(gz.length / 2)));

    // Act
    const loaded = await handler(good, context('good'));
    const failed = handler(cut, context('cut'));

    // Assess
    expect(loaded).toMatchObject({ results: [{ status: 'loaded', loaded: 50 }] });
    await expect(failed).rejects.toThrow(/not valid gzip/);
    expect(await count(db)).toBe(50);
    expect(await requestsCounted()).toBe(50);
    const [ips] = await db.pool.query(
      "SELECT COUNT(*) AS n FROM rollup_ip_v2 WHERE ip_address = '203.0.113.99'",
    );
    expect(Number((ips as { n: number }[])[0]?.n)).toBe(0);
    expect((await verifyRollups(db.pool)).differences).toBe(0);
  });

  it('init counts rows that predate the rollups until its time budget runs short; init again finishes', async () => {
    // Prepare: a table from before rollups, with rows no writer counted
    await db.pool.query(`${SCHEMA_SQL}\n${LOAD_HISTORY_SQL}`);
    await insertAccessLogRows(db.pool, [
      ...generateTraffic({ rows: 400, days: 2, seed: 3, end: new Date() }),
    ]);

    // Act: 3 s left is all reserve (src/ingest/handler.ts timeReserveMs), so not one chunk fits
    const short = (await handler({ action: 'init' }, context('short', 3000))) as {
      ok: boolean;
      result: InitResult;
    };
    const statesBetween = await readRollupStates(db.pool);
    const again = (await handler({ action: 'init' }, context('again'))) as {
      ok: boolean;
      result: InitResult;
    };

    // Assess
    expect(short.ok).toBe(true);
    expect(short.result.backfilled).toMatchObject({ ids: 0, remaining: 7 * 400 });
    expect(statesBetween.map((s) => s.ready)).toEqual([false, false, false, false, false, false, false]);
    expect(again.result.backfilled).toMatchObject({ ids: 400, remaining: 0 });
    expect((await readRollupStates(db.pool)).every((s) => s.ready)).toBe(true);
    expect(await requestsCounted()).toBe(400);
    expect((await verifyRollups(db.pool)).differences).toBe(0);
  });
});

describe('ingest handler: the database stops mid-load', () => {
  let baseDir: string;
  let server: MariaDbServer | undefined;
  const credentials = () => ({
    host: '127.0.0.1',
    port: (server as MariaDbServer).port,
    // A new administrative password on every start (src/db/server.ts).
    user: (server as MariaDbServer).user,
    password: (server as MariaDbServer).password,
    database: 'ingest_outage',
  });

  beforeAll(async () => {
    baseDir = mkdtempSync(join(tmpdir(), 'chatbot-ops-ingest-outage-'));
    server = await startMariaDb({ baseDir, keep: true });
    const pool = (await import('mysql2/promise')).createPool({
      ...credentials(),
      database: undefined,
      multipleStatements: true,
    });
    await pool.query(`CREATE DATABASE ingest_outage; USE ingest_outage; ${SCHEMA_SQL}
${LOAD_HISTORY_SQL}`);
    await pool.end();
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(baseDir, { recursive: true, force: true });
  });

  it('the event fails with nothing half-loaded, and the retry after the restart loads it all once', async () => {
    // Prepare: an object big enough to be mid-load when the server goes
    const many = Array.from({ length: 300_000 }, (_, i) => portableRow(i));
    const key = 'logs/outage.log.gz';
    const event = await upload(key, gzipSync(logText('combined', many)));
    const handler = handlerFor(credentials());

    // Act: stop the server once the function reports lines read
    const run = handler(event, context('during'));
    run.catch(() => {});
    for (let i = 0; i < 600; i++) {
      if (((await result(key))?.progress?.lines ?? 0) > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await (server as MariaDbServer).stop();

    // Assess: the event failed (Lambda retries it), saying the database is gone
    await expect(run).rejects.toThrow(/outage\.log\.gz/);
    expect(await result(key)).toMatchObject({ status: 'failed' });
    await handler.close();

    // Act: the server is back; Lambda retries the same event in a new container
    server = await startMariaDb({ baseDir, keep: true });
    const check = (await import('mysql2/promise')).createPool(credentials());
    const [before] = await check.query('SELECT COUNT(*) AS n FROM access_logs');
    const retry = handlerFor(credentials());
    const answer = await retry(event, context('retry'));
    await retry.close();

    // Assess
    expect((before as { n: number }[])[0]?.n).toBe(0);
    expect(answer).toEqual({
      results: [{ object: `s3://${BUCKET}/${key}`, status: 'loaded', loaded: 300_000 }],
    });
    const [after] = await check.query('SELECT COUNT(*) AS n FROM access_logs');
    expect(Number((after as { n: number }[])[0]?.n)).toBe(300_000);
    await check.end();
  }, 120_000);
});
