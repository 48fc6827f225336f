/** status: missing / ok / drifted per resource, read-only. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWorld, type World } from './harness.js';

let world: World;
beforeEach(async () => {
  world = await createWorld();
});
afterEach(() => world.close());

interface StatusDoc {
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
  it('on an empty account: everything missing, nothing changed', async () => {
    const { r, doc } = await status();

    expect(r.code).toBe(0);
    expect(new Set(doc.resources.map((x) => x.status))).toEqual(new Set(['missing']));
    expect(doc.resources).toHaveLength(18);
    expect(world.fake.mutatingCalls()).toEqual([]);
  });

  it('after deploy: everything ok', async () => {
    await world.run(['deploy', '--yes', '--zip', world.zipPath]);

    const { doc } = await status();

    expect(doc.resources.filter((x) => x.status !== 'ok')).toEqual([]);
  });

  it('names the drifted fields when AWS no longer matches the config', async () => {
    await world.run(['deploy', '--yes', '--zip', world.zipPath]);
    const fn = world.fake.functions.get('chatbot-backend');
    if (fn) fn.config.MemorySize = 1024;
    const plan = [...world.fake.usagePlans.values()][0];
    if (plan) plan.quota.limit = 5;
    world.fake.clearCalls();

    const { doc } = await status();

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
