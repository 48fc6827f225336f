/** status: missing / ok / drifted per resource, read-only. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BASE_CONFIG, createWorld, PASSWORD_ENV, type World } from './harness.js';

let world: World;
beforeEach(async () => {
  world = await createWorld();
});
afterEach(() => world.close());

interface StatusDoc {
  summary: { ok: number; missing: number; drifted: number; extra: number };
  database: string;
  passwordCompared: boolean;
  apiKey?: string;
  resources: {
    kind: string;
    resource: string;
    status: string;
    changes?: { field: string; from: unknown; to: unknown }[];
  }[];
}
const status = async () => {
  const r = await world.run(['status', '--zip', world.zipPath], { json: true });
  return { r, doc: JSON.parse(r.out.join('\n')) as StatusDoc };
};

describe('status', () => {
  it('on an empty account: everything missing, counted, exit 1, nothing changed', async () => {
    const { r, doc } = await status();

    expect(r.code).toBe(1);
    expect(new Set(doc.resources.map((x) => x.status))).toEqual(new Set(['missing']));
    expect(doc.summary).toEqual({ ok: 0, missing: doc.resources.length, drifted: 0, extra: 0 });
    expect(world.fake.mutatingCalls()).toEqual([]);
  });

  it('after deploy: everything ok, exit 0, and the database the function uses', async () => {
    await world.run(['deploy', '--yes', '--zip', world.zipPath]);

    const { r, doc } = await status();
    const text = await world.run(['status', '--zip', world.zipPath]);

    expect(r.code).toBe(0);
    expect(doc.resources.filter((x) => x.status !== 'ok')).toEqual([]);
    expect(doc.summary).toEqual({ ok: doc.resources.length, missing: 0, drifted: 0, extra: 0 });
    expect(doc.database).toBe(`${BASE_CONFIG.database.host}:3306/chatbot_db`);
    expect(text.out).toContain(
      `Database: ${BASE_CONFIG.database.host}:3306/chatbot_db (the function's settings)`,
    );
    expect(text.code).toBe(0);
  });

  it('says when the password was not compared, and that deploy would stop', async () => {
    await world.run(['deploy', '--yes', '--zip', world.zipPath]);
    vi.stubEnv(PASSWORD_ENV, undefined);

    const { r, doc } = await status();

    expect(doc.passwordCompared).toBe(false);
    expect(r.err.join('\n')).toContain(
      `${PASSWORD_ENV} is not set in this shell: the function's database password was not compared, and \`chatbot-ops deploy\` stops until it is set`,
    );
  });

  it('--show-key prints the current key without changing anything; without it the value never shows', async () => {
    await world.run(['deploy', '--yes', '--zip', world.zipPath]);
    const value = [...world.fake.apiKeys.values()][0]?.value ?? '';
    world.fake.clearCalls();

    const shown = await world.run(['status', '--zip', world.zipPath, '--show-key']);
    const json = await world.run(['status', '--zip', world.zipPath, '--show-key'], { json: true });
    const hidden = await world.run(['status', '--zip', world.zipPath]);

    expect(value.length).toBeGreaterThan(20);
    expect(shown.out.join('\n')).toMatch(new RegExp(`API key \\(chatbot-api-key, key[0-9a-f]+\\): ${value}`));
    expect(JSON.parse(json.out.join('\n')).apiKey).toBe(value);
    expect(hidden.text).not.toContain(value);
    expect(world.fake.mutatingCalls().filter((c) => c.command !== 'Invoke')).toEqual([]);
  });

  it('--show-key before any deploy says there is no key yet', async () => {
    const r = await world.run(['status', '--zip', world.zipPath, '--show-key']);

    expect(r.out.join('\n')).toContain('No API key named chatbot-api-key is on the usage plan yet');
  });

  it('names the drifted fields when AWS no longer matches the config', async () => {
    await world.run(['deploy', '--yes', '--zip', world.zipPath]);
    const fn = world.fake.functions.get('chatbot-backend');
    if (fn) fn.config.MemorySize = 1024;
    const plan = [...world.fake.usagePlans.values()][0];
    if (plan) plan.quota.limit = 5;
    world.fake.clearCalls();

    const { r, doc } = await status();

    expect(r.code).toBe(1);
    expect(doc.summary.drifted).toBe(2);
    expect(doc.resources.filter((x) => x.status === 'drifted')).toEqual([
      {
        step: 'function',
        kind: 'Lambda function',
        resource: 'chatbot-backend',
        status: 'drifted',
        changes: [{ field: 'memory', from: 1024, to: 256 }],
      },
      {
        step: 'usage-plan',
        kind: 'usage plan',
        resource: expect.stringMatching(/^chatbot-usage-plan/),
        status: 'drifted',
        changes: [{ field: 'quota.limit', from: 5, to: 100000 }],
      },
    ]);
    expect(world.fake.mutatingCalls().filter((c) => c.command !== 'Invoke')).toEqual([]);
  });
});

describe('status with an incomplete config', () => {
  it('names the missing VPC settings before reading anything past STS', async () => {
    world.writeConfig({ region: 'us-east-1', database: { host: 'db.example' } });

    const r = await world.run(['status', '--zip', world.zipPath]);

    expect(r.code).toBe(2);
    expect(r.text).toMatch(/vpc\.vpcId, vpc\.subnetIds, vpc\.rdsSecurityGroupId missing/);
    // No read is left in flight behind the error (it would finish, or fail unhandled, after exit).
    expect(world.fake.commandNames()).toEqual(['STS.GetCallerIdentity']);
  });
});
