import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config.js';
import { runChecks } from '../../src/doctor/engine.js';
import { createLocalFacts, LOCAL_CHECKS } from '../../src/doctor/local-checks.js';
import type { LocalStack } from '../../src/local/stack.js';
import { type LocalState, writeLocalState } from '../../src/local/state.js';
import { type StackFixture, stackFixture } from '../local/stack-fixture.js';

/** A pid that is not running: past the kernel's default pid_max. */
const DEAD_PID = 4_194_304 + 17;

let fixture: StackFixture;
let stack: LocalStack;
let keyless: LocalStack;

beforeAll(async () => {
  fixture = await stackFixture('doctorlocal');
  stack = await fixture.start();
  keyless = await fixture.start({ checkApiKey: false });
}, 120_000);
afterAll(() => fixture.stopAll());

/** What `local up` records for a stack, in a fresh working folder; this test process hosts the stack. */
function recorded(s: LocalStack, change: (state: LocalState) => void = () => {}): string {
  const cwd = mkdtempSync(join(tmpdir(), 'doctor-local-'));
  const state: LocalState = {
    version: 1,
    startedAt: '2026-11-29T12:00:00.000Z',
    dir: join(cwd, '.chatbot-ops', 'local'),
    pids: { supervisor: process.pid },
    gateway: { url: s.url, host: '127.0.0.1', port: s.port, stage: s.stage, resource: s.resource },
    apiKey: s.apiKey,
    usagePlan: {
      rateLimit: s.usagePlan.rateLimit,
      burstLimit: s.usagePlan.burstLimit,
      quotaLimit: s.usagePlan.quotaLimit,
      quotaPeriod: s.usagePlan.quotaPeriod,
    },
    db: { ...s.db },
  };
  change(state);
  writeLocalState(state, cwd);
  return cwd;
}

async function doctorLocal(cwd: string) {
  const facts = createLocalFacts({ config: defaultConfig(), cwd });
  const results = await runChecks(LOCAL_CHECKS, facts, { secrets: facts.secrets });
  return Object.fromEntries(results.map((r) => [r.id, r]));
}

describe('doctor --local against a real local stack', () => {
  it('passes every check on a running stack, without showing its secrets', async () => {
    const checks = await doctorLocal(recorded(stack));

    expect(Object.values(checks).filter((c) => c.status !== 'pass')).toEqual([]);
    expect(checks['local.gateway']?.evidence).toMatch(/^without key 403, with key 200/);
    expect(checks['local.database']?.evidence).toMatch(/\(password set\), 300 rows/);
    expect(JSON.stringify(checks)).not.toContain(stack.apiKey);
    expect(JSON.stringify(checks)).not.toContain(stack.db.password);
  });

  it('fails the stand-in check when it lets calls through without a key', async () => {
    const checks = await doctorLocal(recorded(keyless));

    expect(checks['local.gateway']).toMatchObject({ status: 'fail' });
    expect(checks['local.gateway']?.evidence).toMatch(
      /without key 401, with key 200 .*the stand-in lets calls through without a key/,
    );
  });

  it.each<[string, (s: LocalState) => void, string, RegExp]>([
    [
      'a supervisor that died',
      (s) => (s.pids.supervisor = DEAD_PID),
      'local.processes',
      /not running: supervisor/,
    ],
    [
      'a password that no longer works',
      (s) => (s.db.password = 'wrong'),
      'local.database',
      /ER_ACCESS_DENIED_ERROR/,
    ],
    [
      'a burst below the rate',
      (s) => (s.usagePlan.burstLimit = 10),
      'local.throttle',
      /burst 10 is below rate 100/,
    ],
    [
      'a key the function does not accept',
      (s) => (s.apiKey = 'not-the-key'),
      'local.gateway',
      /refuses the recorded key/,
    ],
  ])('fails on %s', async (_what, breakIt, id, evidence) => {
    const checks = await doctorLocal(recorded(stack, breakIt));

    expect(
      Object.values(checks)
        .filter((c) => c.status === 'fail')
        .map((c) => c.id),
    ).toEqual([id]);
    expect(checks[id]?.evidence).toMatch(evidence);
  });

  it('says the stack is not running when nothing is recorded, and skips the rest', async () => {
    const checks = await doctorLocal(mkdtempSync(join(tmpdir(), 'doctor-local-')));

    expect(checks['local.state']).toMatchObject({ status: 'fail', fix: 'Run `chatbot-ops local up`.' });
    expect(checks['local.database']).toMatchObject({
      status: 'skip',
      evidence: 'no local stack is recorded',
    });
  });
});
