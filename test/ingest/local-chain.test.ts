/**
 * The ingest chain of the local stack end to end, over real processes: `local up --detach` (on the
 * shared test server, as a user's own DB_HOST), then uploads: `db load --remote --local` (upload,
 * notification, ingest container, MariaDB, the report back through the result document), a plain
 * S3 upload as an ALB would make one, and the rows seen through the API Gateway stand-in by
 * `invoke --local`. The same upload again changes nothing.
 */
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localIngestClients } from '../../src/aws/local-endpoints.js';
import { freePort } from '../../src/db/server.js';
import { type LocalState, readLocalState } from '../../src/local/state.js';
import { runCli } from '../support/cli-process.js';
import { createTestDatabase, type TestDatabase, testServer } from '../support/database.js';
import { logText, portableRow } from '../support/log-samples.js';

let cwd: string;
let db: TestDatabase;
let config: string;

const cli = (...args: string[]) => {
  const server = testServer();
  return runCli(['--config', config, ...args], {
    cwd,
    env: {
      DB_HOST: server.host,
      DB_PORT: String(server.port),
      DB_USER: server.user,
      DB_PASSWORD: server.password,
    },
    timeoutMs: 240_000,
  });
};

async function totalRequests(): Promise<number> {
  const run = await cli('--json', 'invoke', 'get_traffic_summary', '--local', '--all-time');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout).data.total_requests;
}

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'local-ingest-'));
  db = await createTestDatabase('ingest_e2e', { schema: false });
  config = join(cwd, 'chatbot-ops.config.json');
  writeFileSync(
    config,
    JSON.stringify({ database: { name: db.database }, local: { rows: 100 }, logLevel: 'ERROR' }),
  );
});

afterAll(async () => {
  await cli('local', 'down');
  // Whatever a failed assertion left running in the test's folder.
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (
        readlinkSync(`/proc/${entry}/cwd`).startsWith(cwd) ||
        readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(cwd)
      )
        process.kill(Number(entry), 'SIGKILL');
    } catch {
      // gone already
    }
  }
  await db.drop();
  rmSync(cwd, { recursive: true, force: true });
});

describe('the local ingest chain (real processes)', () => {
  let state: LocalState;

  it('local up starts the S3 endpoint and the ingest function beside the API', async () => {
    // Act
    const up = await cli('local', 'up', '--detach', '--port', String(await freePort()));

    // Assess
    expect(up.stderr).not.toMatch(/Error/);
    expect(up.code).toBe(0);
    expect(up.stdout).toContain('db load --remote --local');
    state = readLocalState(cwd) as LocalState;
    expect(state.ingest).toMatchObject({
      bucket: 'chatbot-logs-local',
      prefix: 'logs/',
      functionName: 'chatbot-ingest',
    });
  }, 240_000);

  it('db load --remote --local goes upload → event → ingest function → MariaDB and prints the report', async () => {
    // Prepare
    const file = join(cwd, 'alb.log');
    writeFileSync(
      file,
      logText(
        'alb',
        Array.from({ length: 200 }, (_, i) => portableRow(i, Date.now() - 3_600_000)),
      ),
    );
    const before = await totalRequests();

    // Act
    const load = await cli('--json', 'db', 'load', '--remote', '--local', file);

    // Assess
    expect(load.stderr).not.toMatch(/Error/);
    expect(load.code).toBe(0);
    expect(JSON.parse(load.stdout)).toMatchObject({
      loaded: 200,
      errors: 0,
      files: [{ file, lines: 200, loaded: 200, format: 'alb' }],
    });
    expect(await totalRequests()).toBe(before + 200);
  }, 120_000);

  it('the same file again uploads nothing and adds nothing', async () => {
    // Prepare
    const before = await totalRequests();

    // Act
    const again = await cli('db', 'load', '--remote', '--local', join(cwd, 'alb.log'));

    // Assess
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already loaded (same SHA-256), skipped');
    expect(await totalRequests()).toBe(before);
  }, 120_000);

  it('an object put into the bucket as an ALB or CloudFront delivers it shows up through the API; put again, nothing changes', async () => {
    // Prepare
    const { s3 } = localIngestClients(state.ingest as NonNullable<LocalState['ingest']>);
    const body = gzipSync(
      logText(
        'cloudfront',
        Array.from({ length: 50 }, (_, i) => portableRow(1000 + i, Date.now() - 7_200_000)),
      ),
    );
    const put = () =>
      s3.send(
        new PutObjectCommand({
          Bucket: 'chatbot-logs-local',
          Key: 'logs/AWSLogs/cf/E2EXAMPLE.2025-10-10-12.abcd.gz',
          Body: body,
        }),
      );
    const before = await totalRequests();

    // Act
    await put();
    let seen = before;
    for (let i = 0; i < 100 && seen === before; i++) {
      await new Promise((r) => setTimeout(r, 200));
      seen = await totalRequests();
    }
    await put();
    await new Promise((r) => setTimeout(r, 2000));
    const after = await totalRequests();
    s3.destroy();

    // Assess
    expect(seen).toBe(before + 50);
    expect(after).toBe(before + 50);
  }, 120_000);

  it('db stats and db init --remote --local answer through the ingest function', async () => {
    // Act
    const stats = await cli('--json', 'db', 'stats', '--remote', '--local');
    const init = await cli('--json', 'db', 'init', '--remote', '--local');

    // Assess
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ rows: 350, loadHistory: { files: 2 } });
    expect(init.code).toBe(0);
    expect(JSON.parse(init.stdout)).toMatchObject({ created: [], databaseCreated: false });
  }, 120_000);
});
