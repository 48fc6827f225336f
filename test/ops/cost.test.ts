import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { recordingUi } from '../../src/cli/ui.js';
import { parseRequestCount } from '../../src/commands/cost.js';
import type { CostEstimate } from '../../src/cost/estimate.js';

function configFile(doc: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'cost-')), 'chatbot-ops.config.json');
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

async function costJson(args: string[], config: unknown = {}): Promise<CostEstimate> {
  const ui = recordingUi({ json: true });
  const code = await main(
    ['node', 'chatbot-ops', '--json', '--config', configFile(config), 'cost', ...args],
    { ui },
  );
  expect(code).toBe(0);
  return ui.results[0] as CostEstimate;
}

const byComponent = (e: CostEstimate) =>
  Object.fromEntries(e.lines.map((l) => [l.component, [l.firstYearUsd, l.afterFirstYearUsd]]));

describe('cost', () => {
  // Figures worked out by hand from the list prices in src/cost/estimate.ts (GB = 2^30 bytes):
  // 1M requests, 100 ms, 256 MB: 25,000 GB-s (free); logs 1e6*600/2^30 = 0.5588 GB * $0.50 = $0.28;
  // transfer 1e6*2048/2^30 = 1.9073 GB * $0.09 = $0.17; API Gateway 1M * $3.50/M after the free year.
  it('prices one million requests with the free tiers applied', async () => {
    const e = await costJson(['--requests', '1M']);

    expect(byComponent(e)).toEqual({
      'Lambda requests': [0, 0],
      'Lambda compute': [0, 0],
      'API Gateway (REST)': [0, 3.5],
      'RDS (MariaDB)': [15, 15],
      'CloudWatch Logs': [0.28, 0.28],
      'Data transfer out': [0.17, 0.17],
    });
    expect(e.total).toEqual({
      firstYear: { low: 15.45, high: 100.45 },
      afterFirstYear: { low: 18.95, high: 103.95 },
    });
  });

  // 10M requests, 200 ms, 512 MB arm64: requests 9M * $0.20/M = $1.80; 1,000,000 GB-s - 400,000 free
  // = 600,000 * $0.0000133334 = $8.00; API 9M * 3.5 = $31.50 (first year) / $35.00; logs 5.5879 GB = $2.79;
  // transfer 19.0735 GB = $1.72.
  it('uses the config memory and architecture and the assumption flags', async () => {
    const e = await costJson(['--requests', '10000000', '--avg-duration-ms', '200'], {
      function: { memory: 512, architecture: 'arm64' },
    });

    expect(byComponent(e)).toEqual({
      'Lambda requests': [1.8, 1.8],
      'Lambda compute': [8, 8],
      'API Gateway (REST)': [31.5, 35],
      'RDS (MariaDB)': [15, 15],
      'CloudWatch Logs': [2.79, 2.79],
      'Data transfer out': [1.72, 1.72],
    });
    expect(e.total).toEqual({
      firstYear: { low: 60.81, high: 145.81 },
      afterFirstYear: { low: 64.31, high: 149.31 },
    });
    expect(e.assumptions).toEqual({
      requestsPerMonth: 10_000_000,
      avgDurationMs: 200,
      memoryMb: 512,
      architecture: 'arm64',
      logBytesPerRequest: 600,
      responseBytes: 2048,
    });
  });

  // 2M requests with 10 KB responses and 1 KB of logs: transfer 2e6*10240/2^30 = 19.0735 GB = $1.72;
  // logs 2e6*1024/2^30 = 1.9073 GB = $0.95; Lambda requests 1M billable = $0.20.
  it('takes response and log sizes from flags', async () => {
    const e = await costJson([
      '--requests',
      '2m',
      '--response-bytes',
      '10240',
      '--log-bytes',
      '1024',
      '--memory',
      '128',
    ]);

    expect(byComponent(e)['Data transfer out']).toEqual([1.72, 1.72]);
    expect(byComponent(e)['CloudWatch Logs']).toEqual([0.95, 0.95]);
    expect(byComponent(e)['Lambda requests']).toEqual([0.2, 0.2]);
    expect(e.assumptions.memoryMb).toBe(128);
  });

  it('shows a table with the assumptions for people', async () => {
    const ui = recordingUi();
    const code = await main(['node', 'chatbot-ops', '--config', configFile({}), 'cost', '--requests', '1M'], {
      ui,
    });

    expect(code).toBe(0);
    const text = ui.out.join('\n');
    expect(text).toMatch(/API Gateway \(REST\)\s+\$0\.00\s+\$3\.50/);
    expect(text).toMatch(/RDS \(MariaDB\)\s+\$15\.00-\$100\.00/);
    expect(text).toMatch(/Total\s+\$15\.45-\$100\.45\s+\$18\.95-\$103\.95/);
    expect(text).toContain(
      'Assumed: 100 ms per invocation, 256 MB x86_64, 600 log bytes per request, 2048 bytes per response',
    );
  });

  it.each([
    ['250k', 250_000],
    ['1.5M', 1_500_000],
    ['1,000,000', 1_000_000],
    ['0', 0],
  ])('reads %s as %d requests', (text, expected) => {
    expect(parseRequestCount(text)).toBe(expected);
  });

  it.each([['lots'], ['-5'], ['1.5x']])('refuses --requests %s as bad usage', async (bad) => {
    const ui = recordingUi();
    const code = await main(['node', 'chatbot-ops', '--config', configFile({}), 'cost', '--requests', bad], {
      ui,
    });

    expect(code).toBe(2);
    expect(ui.err.join('\n')).toMatch(/--requests must be a number of requests/);
  });
});
