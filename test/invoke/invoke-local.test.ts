import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { recordingUi } from '../../src/cli/ui.js';
import type { LocalStack } from '../../src/local/stack.js';
import { SEEDED_ROWS, type StackFixture, stackFixture, writeStateFor } from '../local/stack-fixture.js';

let fixture: StackFixture;
let stack: LocalStack;
let cwd: string;
const originalCwd = process.cwd();

/** Run the real CLI parser in-process, as a user would type the command. */
async function cli(...argv: string[]) {
  const ui = recordingUi({ json: argv.includes('--json') });
  const code = await main(['node', 'chatbot-ops', ...argv], { ui });
  return { code, ui };
}

beforeAll(async () => {
  fixture = await stackFixture('invoke');
  stack = await fixture.start({ usagePlan: { rateLimit: 1000, burstLimit: 2000 } });
  // --local reads .chatbot-ops/local/state.json of the current folder: a folder of this test's own.
  cwd = mkdtempSync(join(tmpdir(), 'invoke-cwd-'));
  process.chdir(cwd);
  writeStateFor(stack, cwd);
});

afterAll(async () => {
  process.chdir(originalCwd);
  if (cwd) rmSync(cwd, { recursive: true, force: true });
  await fixture?.stopAll();
});

describe('invoke --local', () => {
  it('shows log entries as a table with the command for the next page', async () => {
    // Act
    const { code, ui } = await cli('invoke', 'get_access_logs', '--local', '--all-time', '--limit', '2');
    // Assess
    expect(code).toBe(0);
    const header = ui.out.findIndex((l) =>
      /^\s+timestamp\s+ip_address\s+method\s+status_code\s+endpoint/.test(l),
    );
    expect(header).toBeGreaterThan(-1);
    const rows = ui.out.slice(header + 2, header + 4);
    expect(rows).toHaveLength(2);
    for (const row of rows)
      expect(row).toMatch(/^\s+\d{4}-\d{2}-\d{2}T[\d:.]+Z\s+[\d.:a-f]+\s+[A-Z]+\s+\d{3}\s+\//);
    expect(ui.out).toContain('count:   2');
    const more = ui.out.find((l) => l.startsWith('More: '));
    expect(more).toMatch(
      /^More: chatbot-ops invoke get_access_logs --limit 2 --all-time --local --cursor \S+$/,
    );
  });

  it('follows the cursor it printed to the next, different page', async () => {
    // Prepare
    const first = await cli('invoke', 'get_access_logs', '--local', '--all-time', '--limit', '2', '--json');
    const cursor = (first.ui.results[0] as { data: { next_cursor: string } }).data.next_cursor;
    // Act
    const next = await cli(
      'invoke',
      'get_access_logs',
      '--local',
      '--all-time',
      '--limit',
      '2',
      '--cursor',
      cursor,
      '--json',
    );
    // Assess
    const ids = (r: typeof first) =>
      (r.ui.results[0] as { data: { logs: { id: number }[] } }).data.logs.map((l) => l.id);
    expect(ids(next)).toHaveLength(2);
    expect(ids(next).some((id) => ids(first).includes(id))).toBe(false);
  });

  it('prints the response body and nothing else with --json', async () => {
    const { code, ui } = await cli(
      'invoke',
      'get_access_logs',
      '--local',
      '--all-time',
      '--limit',
      '3',
      '--json',
    );
    expect(code).toBe(0);
    const printed = JSON.parse(ui.out.join('\n'));
    expect(printed).toEqual(ui.results[0]);
    expect(printed).toMatchObject({ success: true, data: { count: 3 } });
    expect(printed.data.logs).toHaveLength(3);
    expect(printed.request_id).toEqual(expect.any(String));
  });

  it('shows a summary as aligned key/value lines', async () => {
    const { code, ui } = await cli('invoke', 'get_traffic_summary', '--local', '--all-time');
    expect(code).toBe(0);
    expect(ui.out).toContain(`total_requests:  ${SEEDED_ROWS}`);
    expect(ui.out).toContain('window:          all time');
    expect(ui.out).toContain('status_breakdown:');
  });

  it('exits 1 on a 400 and says which parameter', async () => {
    const { code, ui } = await cli('invoke', 'get_access_logs', '--local', '--param', 'limit=0');
    expect(code).toBe(1);
    expect(ui.err.join('\n')).toMatch(/^400 .*limit.*\(INVALID_PARAMS\)/m);
  });

  it('explains a 403 for a key the gateway does not know', async () => {
    const { code, ui } = await cli('invoke', 'health', '--url', stack.url, '--api-key', 'not-a-key');
    expect(code).toBe(1);
    expect(ui.err[0]).toMatch(/^403 Forbidden: API Gateway refused the key sent in x-api-key/);
  });

  it('refuses --url without a key as bad usage, before any request', async () => {
    const { code, ui } = await cli('invoke', 'health', '--url', stack.url);
    expect(code).toBe(2);
    expect(ui.err[0]).toMatch(/--api-key/);
  });
});

describe('test', () => {
  it('passes every check against the local stack', async () => {
    const { code, ui } = await cli('test', '--local');
    expect(code).toBe(0);
    const lines = ui.out.filter((l) => /^(✔ pass|✖ fail)/.test(l));
    expect(lines).toHaveLength(6);
    expect(lines.every((l) => l.startsWith('✔ pass'))).toBe(true);
    expect(ui.out.at(-1)).toBe('All 6 checks passed.');
  });

  it('reports each check with --json', async () => {
    const { code, ui } = await cli('test', '--local', '--json');
    expect(code).toBe(0);
    const report = JSON.parse(ui.out.join('\n'));
    expect(report).toMatchObject({ url: stack.url, source: 'local', passed: true });
    expect(report.checks).toHaveLength(6);
    expect(report.checks[0]).toEqual({
      name: expect.any(String),
      passed: true,
      ms: expect.any(Number),
      detail: 'HTTP 200',
    });
  });

  it('fails when the stand-in no longer checks the API key', async () => {
    // Prepare: a stack whose gateway lets requests without a key through.
    const broken = await fixture.start({ checkApiKey: false });
    // Act
    const { code, ui } = await cli('test', '--url', broken.url, '--api-key', broken.apiKey, '--json');
    // Assess
    expect(code).toBe(1);
    const report = JSON.parse(ui.out.join('\n')) as {
      passed: boolean;
      checks: { name: string; passed: boolean; detail: string }[];
    };
    expect(report.passed).toBe(false);
    const failed = report.checks.filter((c) => !c.passed);
    expect(failed.map((c) => c.name)).toEqual(['no API key is refused with 403']);
    expect(failed[0]?.detail).toMatch(/expected 403, got 401/);
  });
});
