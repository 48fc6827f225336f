/**
 * AWS calls made by `deploy`, counted by kind by the call-counter middleware that
 * src/aws/clients.ts puts on every client, against the in-memory fake account of the tests
 * (test/support/fake-account.ts in middleware mode: real clients, the fake answers at the end of
 * the initialize step). Scenarios, each with the guide's Next Steps all off (the default config)
 * and all on: a full deploy on an empty account, a no-op re-deploy (target: 0 mutating calls, and
 * with every opt-in off fewer than 30 calls in all), status, destroy. The fake's own record of
 * calls must agree with the middleware's counts, or the benchmark says so.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main.js';
import { recordingUi } from '../src/cli/ui.js';
import {
  FakeAccount,
  fastTiming,
  PRIVATE_SUBNETS,
  RDS_SG,
  READ_ONLY,
  REGION,
  VPC,
} from '../test/support/fake-account.js';

interface Scenario {
  name: string;
  total: number;
  mutating: number;
  byKind: Map<string, number>;
  ms: number;
  exitCode: number;
}

const BASE = {
  region: REGION,
  vpc: { vpcId: VPC, subnetIds: PRIVATE_SUBNETS, rdsSecurityGroupId: RDS_SG },
  database: { host: 'db.bench.internal', passwordEnv: 'CHATBOT_BENCH_DB_PASSWORD' },
};

/** Every Next Step switched on (the Secrets Manager endpoint with the secret it serves). */
const ALL_ON = {
  ...BASE,
  database: {
    ...BASE.database,
    secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-AbCdEf',
  },
  function: { reservedConcurrency: 20 },
  vpc: { ...BASE.vpc, secretsManagerEndpoint: true },
  tracing: { enabled: true },
  dashboard: { enabled: true },
  waf: { enabled: true },
  accessLogs: { enabled: true },
};

async function measureAll(label: string, configDoc: object): Promise<Scenario[]> {
  const dir = mkdtempSync(join(tmpdir(), 'chatbot-bench-aws-'));
  const config = join(dir, 'chatbot-ops.config.json');
  const zip = join(dir, 'lambda_function.zip');
  writeFileSync(config, JSON.stringify(configDoc));
  writeFileSync(zip, 'PK\u0003\u0004bench');
  process.env.CHATBOT_BENCH_DB_PASSWORD = 'bench-password';
  const fake = new FakeAccount().start('middleware');
  const endpoint = await fake.serveApi();
  const timing = fastTiming();
  const scenarios: Scenario[] = [];
  const measure = async (name: string, args: string[]) => {
    fake.clearCalls();
    fake.counter.clear();
    const started = performance.now();
    const exitCode = await main(
      ['node', 'chatbot-ops', '--config', config, '--endpoint-url', endpoint, ...args],
      {
        ui: recordingUi(),
        awsFactory: fake.awsFactory,
        timing,
      },
    );
    const ms = performance.now() - started;
    const byKind = new Map(fake.counter);
    const recorded = new Map<string, number>();
    for (const k of fake.commandNames()) recorded.set(k, (recorded.get(k) ?? 0) + 1);
    const key = (m: Map<string, number>) => JSON.stringify([...m].sort());
    if (key(byKind) !== key(recorded))
      throw new Error(`${name}: the call-counter middleware and the fake account disagree`);
    const total = [...byKind.values()].reduce((a, b) => a + b, 0);
    scenarios.push({
      name: `${name}, ${label}`,
      total,
      mutating: [...byKind]
        .filter(([k]) => !READ_ONLY.test(k.split('.')[1] ?? ''))
        .reduce((a, [, n]) => a + n, 0),
      byKind,
      ms,
      exitCode,
    });
  };
  try {
    await measure('deploy (empty account)', ['deploy', '--yes', '--zip', zip]);
    await measure('deploy again (no-op)', ['deploy', '--yes', '--zip', zip]);
    await measure('status', ['status', '--zip', zip]);
    await measure('destroy', ['destroy', '--yes']);
  } finally {
    fake.stop();
    rmSync(dir, { recursive: true, force: true });
    delete process.env.CHATBOT_BENCH_DB_PASSWORD;
  }
  return scenarios;
}

function print(scenarios: Scenario[]): void {
  const kinds = [...new Set(scenarios.flatMap((s) => [...s.byKind.keys()]))].sort();
  const width = Math.max(...kinds.map((k) => k.length), 16);
  const cols = scenarios.map((s) => s.name.split(',')[0] ?? s.name);
  console.log(`${'call'.padEnd(width)}  ${cols.map((c) => c.padStart(Math.max(c.length, 6))).join('  ')}`);
  for (const k of kinds) {
    console.log(
      `${k.padEnd(width)}  ${scenarios.map((s, i) => String(s.byKind.get(k) ?? '').padStart(Math.max(cols[i]?.length ?? 0, 6))).join('  ')}`,
    );
  }
  const row = (label: string, f: (s: Scenario) => string) =>
    console.log(
      `${label.padEnd(width)}  ${scenarios.map((s, i) => f(s).padStart(Math.max(cols[i]?.length ?? 0, 6))).join('  ')}`,
    );
  row('TOTAL calls', (s) => String(s.total));
  row('mutating calls', (s) => String(s.mutating));
  row('exit code', (s) => String(s.exitCode));
  row('wall ms (mocked)', (s) => s.ms.toFixed(0));
}

export async function run(): Promise<void> {
  for (const [label, doc, countTarget] of [
    ['Next Steps off', BASE, 30],
    ['every Next Step on', ALL_ON, undefined],
  ] as const) {
    const scenarios = await measureAll(label, doc);
    console.log(`\n${label}:`);
    print(scenarios);
    const noop = scenarios[1];
    if (noop) {
      const countOk = countTarget === undefined || noop.total < countTarget;
      console.log(
        `no-op re-deploy (${label}): ${noop.mutating} mutating calls (target 0), ${noop.total} calls in all${countTarget === undefined ? '' : ` (target < ${countTarget})`}: ${noop.mutating === 0 && countOk ? 'met' : 'MISSED'}`,
      );
    }
  }
}
