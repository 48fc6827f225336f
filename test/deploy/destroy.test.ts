/** destroy after deploy, on an empty account, waiting for Lambda's network interfaces. */

import { rmSync } from 'node:fs';
import { TooManyRequestsException } from '@aws-sdk/client-api-gateway';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RDS_SG, REGION, VPC } from '../support/fake-account.js';
import { API_PATH_REMOVAL, BASE_CONFIG, createWorld, type World } from './harness.js';

/** Everything deploy made is gone; the RDS group stays (it belongs to the database), without the rule deploy added. */
function expectNothingLeftButTheDatabaseGroup(world: World): void {
  const f = world.fake;
  expect([
    f.roles.size,
    f.functions.size,
    f.logGroups.size,
    f.apis.size,
    f.apiKeys.size,
    f.usagePlans.size,
    f.alarms.size,
  ]).toEqual([0, 0, 0, 0, 0, 0, 0]);
  expect([...f.groups.keys()]).toEqual([RDS_SG]);
  expect(f.groups.get(RDS_SG)?.IpPermissions).toEqual([]);
}

let world: World;
beforeEach(async () => {
  world = await createWorld({ eniPollsAfterDelete: 3 });
});
afterEach(() => world.close());

const deploy = () => world.run(['deploy', '--yes', '--zip', world.zipPath]);
const mutating = () => world.fake.commandNames(world.fake.mutatingCalls());

describe('destroy', () => {
  it('after deploy removes everything, in the safe order, and never the database', async () => {
    await deploy();
    const lambdaSg = [...world.fake.groups.keys()].find((k) => k !== RDS_SG);
    world.fake.clearCalls();

    const r = await world.run(['destroy', '--yes']);

    expect(r.code).toBe(0);
    expect(mutating()).toEqual(API_PATH_REMOVAL);
    expectNothingLeftButTheDatabaseGroup(world);
    // The security group went only after Lambda released its network interfaces.
    const polls = world.fake.calls.filter((c) => c.command === 'DescribeNetworkInterfaces');
    expect(polls.length).toBeGreaterThanOrEqual(4);
    expect(polls[0]?.input).toEqual({ Filters: [{ Name: 'group-id', Values: [lambdaSg] }] });
    expect(world.clock.slept).toBeGreaterThanOrEqual(45_000);
  });

  it('after api.stage was renamed in the config, still finds the alarms deploy made (by their tags)', async () => {
    await deploy();
    world.writeConfig({ ...BASE_CONFIG, api: { stage: 'v1' } });

    const r = await world.run(['destroy', '--yes']);

    expect(r.code).toBe(0);
    expect(r.out.join('\n')).toContain('  - delete    alarm chatbot-api-prod-5xx');
    expect(world.fake.alarms.size).toBe(0);
  });

  it('on an empty account succeeds and changes nothing', async () => {
    const r = await world.run(['destroy', '--yes']);

    expect(r.code).toBe(0);
    expect(r.text).toMatch(/Nothing to remove/);
    expect(mutating()).toEqual([]);
  });

  it('is re-runnable: a second destroy finds nothing', async () => {
    await deploy();
    await world.run(['destroy', '--yes']);
    world.fake.clearCalls();

    const r = await world.run(['destroy', '--yes']);

    expect(r.code).toBe(0);
    expect(mutating()).toEqual([]);
  });

  it('--keep-logs keeps the log group', async () => {
    await deploy();

    await world.run(['destroy', '--yes', '--keep-logs']);

    expect([...world.fake.logGroups.keys()]).toEqual(['/aws/lambda/chatbot-backend']);
    expect(world.fake.functions.size).toBe(0);
  });

  it('asks first; --json without --yes is a usage error', async () => {
    await deploy();
    world.fake.clearCalls();

    const asked = await world.run(['destroy'], { prompt: { confirm: async () => false } as never });
    const json = await world.run(['destroy'], { json: true });

    expect(asked.code).toBe(1);
    expect(json.code).toBe(2);
    expect(mutating()).toEqual([]);
  });

  it('stops with a hint when the network interfaces outlive the budget, and a later run finishes', async () => {
    world.close();
    world = await createWorld({ eniPollsAfterDelete: 1_000_000 });
    await deploy();

    const first = await world.run(['destroy', '--yes']);
    expect(first.code).toBe(1);
    expect(first.text).toMatch(/has not released 2 network interface\(s\)/);
    expect(first.text).toMatch(/destroy` again later/);
    expect(world.clock.slept).toBeGreaterThanOrEqual(20 * 60_000);
    for (const k of world.fake.lingeringEnis.keys()) world.fake.lingeringEnis.set(k, 0);

    const second = await world.run(['destroy', '--yes']);

    expect(second.code).toBe(0);
    expect([...world.fake.groups.keys()]).toEqual([RDS_SG]);
    expect(world.fake.roles.size).toBe(0);
  });
});

describe('destroy finds the rules that refer to the Lambda group by searching', () => {
  it('in a folder without the config: says so, finds the RDS rule anyway, revokes it, and removes everything', async () => {
    await deploy();
    const lambdaSg = [...world.fake.groups.keys()].find((k) => k !== RDS_SG) ?? '';
    rmSync(world.configPath);
    const cwd = process.cwd();
    process.chdir(world.dir);
    world.fake.clearCalls();
    let r: Awaited<ReturnType<World['run']>>;
    try {
      r = await world.run(['destroy', '--yes'], {
        global: ['--endpoint-url', world.endpoint, '--region', REGION],
      });
    } finally {
      process.chdir(cwd);
    }

    expect(r.code).toBe(0);
    expect(r.err.join('\n')).toContain(
      'no chatbot-ops.config.json here: looking for the default names (function chatbot-backend, API chatbot-api',
    );
    expect(r.out).toContain(`  - delete    ingress rule ${RDS_SG} (rds-chatbot) ← TCP 3306 from ${lambdaSg}`);
    expect(
      world.fake.calls.filter((c) => c.command === 'DescribeSecurityGroups').map((c) => c.input),
    ).toContainEqual({
      Filters: [{ Name: 'ip-permission.group-id', Values: [lambdaSg] }],
    });
    expect(
      world.fake.calls.filter((c) => c.command === 'RevokeSecurityGroupIngress').map((c) => c.input),
    ).toEqual([
      {
        GroupId: RDS_SG,
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 3306, ToPort: 3306, UserIdGroupPairs: [{ GroupId: lambdaSg }] },
        ],
      },
    ]);
    expectNothingLeftButTheDatabaseGroup(world);
  });

  it('a rule in a group other than the configured RDS group is found and revoked too', async () => {
    await deploy();
    const lambdaSg = [...world.fake.groups.keys()].find((k) => k !== RDS_SG) ?? '';
    world.fake.groups.set('sg-0babe', {
      GroupId: 'sg-0babe',
      GroupName: 'reporting-db',
      VpcId: VPC,
      Description: 'another database',
      IpPermissions: [
        { IpProtocol: 'tcp', FromPort: 3306, ToPort: 3306, UserIdGroupPairs: [{ GroupId: lambdaSg }] },
      ],
      IpPermissionsEgress: [],
      Tags: [],
    });

    const r = await world.run(['destroy', '--yes']);

    expect(r.code).toBe(0);
    expect(world.fake.groups.get('sg-0babe')?.IpPermissions).toEqual([]);
    expect(world.fake.groups.has(lambdaSg)).toBe(false);
  });

  it('a revoke that left the rule is sent again as EC2 describes the rule, and destroy goes on', async () => {
    // moto 5.2 matches a revoked rule by its description too; the second revoke sends it.
    await deploy();
    world.fake.revokesMatchNothingTimes = 1;
    world.fake.clearCalls();

    const r = await world.run(['destroy', '--yes']);

    expect(r.code).toBe(0);
    const revokes = world.fake.calls.filter((c) => c.command === 'RevokeSecurityGroupIngress');
    expect(revokes.map((c) => c.input.GroupId)).toEqual([RDS_SG, RDS_SG]);
    expect(revokes[1]?.input.IpPermissions).toEqual([
      expect.objectContaining({ IpProtocol: 'tcp', FromPort: 3306, ToPort: 3306 }),
    ]);
    expect(world.fake.groups.get(RDS_SG)?.IpPermissions).toEqual([]);
  });

  it('a revoke EC2 answers as done but that left the rule: stops, naming the rule and how to remove it', async () => {
    await deploy();
    world.fake.revokesMatchNothing = true;

    const r = await world.run(['destroy', '--yes']);

    expect(r.code).toBe(1);
    expect(r.text).toMatch(
      new RegExp(
        `the ingress rule ${RDS_SG} \\(rds-chatbot\\) ← TCP 3306 from sg-\\w+ is still there after revoking it`,
      ),
    );
    expect(r.text).toContain(`aws ec2 revoke-security-group-ingress --group-id ${RDS_SG}`);
    expect(world.fake.calls.some((c) => c.command === 'DeleteSecurityGroup')).toBe(false);
  });
});

describe("API Gateway's per-account limits", () => {
  const throttled = (retryAfterSeconds?: string) =>
    new TooManyRequestsException({
      message: 'Too Many Requests',
      $metadata: {},
      ...(retryAfterSeconds ? { retryAfterSeconds } : {}),
    });

  it('DeleteRestApi refused as too many requests: waits what API Gateway asks, then removes it', async () => {
    await deploy();
    for (let i = 0; i < 3; i++) world.fake.failOnce('DeleteRestApi', throttled('30'));
    const slept = world.clock.slept;

    const r = await world.run(['destroy', '--yes']);

    expect(r.code).toBe(0);
    expect(world.fake.calls.filter((c) => c.command === 'DeleteRestApi')).toHaveLength(4);
    expect(world.fake.apis.size).toBe(0);
    expect(world.clock.slept - slept).toBeGreaterThanOrEqual(90_000);
  });

  it('gives up after about two minutes, saying why and what to do', async () => {
    await deploy();
    for (let i = 0; i < 100; i++) world.fake.failOnce('DeleteRestApi', throttled());

    const r = await world.run(['destroy', '--yes']);

    expect(r.code).toBe(1);
    expect(r.text).toMatch(/API Gateway still refuses DeleteRestApi after 1\d\d s: too many requests/);
    expect(r.text).toMatch(/run the same command again/);
  });
});

describe('destroy interrupted', () => {
  it.each([
    ['DeleteAlarms', 'alarms chatbot-api-prod-4xx, chatbot-api-prod-5xx, chatbot-backend-errors'],
    ['DeleteUsagePlanKey', 'usage plan chatbot-usage-plan'],
    ['UpdateUsagePlan', 'usage plan chatbot-usage-plan'],
    ['DeleteUsagePlan', 'usage plan chatbot-usage-plan'],
    ['DeleteApiKey', 'API key'],
    ['DeleteRestApi', 'REST API'],
    ['DeleteFunction', 'Lambda function chatbot-backend'],
    ['DescribeNetworkInterfaces', 'the network interfaces in sg-'],
    ['DeleteLogGroup', 'log group /aws/lambda/chatbot-backend'],
    ['RevokeSecurityGroupIngress', `the ingress rules of ${RDS_SG} that refer to sg-`],
    ['DeleteSecurityGroup', 'security group sg-'],
    ['DetachRolePolicy', 'IAM role ChatbotLambdaRole'],
    ['DeleteRolePolicy', 'IAM role ChatbotLambdaRole'],
    ['DeleteRole', 'IAM role ChatbotLambdaRole'],
  ])('%s fails once: destroy stops naming %s, a re-run removes the rest', async (command, resource) => {
    await deploy();
    world.fake.failOnce(command);

    const first = await world.run(['destroy', '--yes']);
    const second = await world.run(['destroy', '--yes']);
    world.fake.clearCalls();
    const third = await world.run(['destroy', '--yes']);

    expect(first.code).toBe(1);
    expect(first.text).toContain(`destroy stopped while removing ${resource}`);
    expect(first.text).toContain(`${command} failed (injected)`);
    expect(first.text).toMatch(/run `chatbot-ops destroy` again/);
    expect(second.code).toBe(0);
    expectNothingLeftButTheDatabaseGroup(world);
    expect(third.text).toMatch(/Nothing to remove/);
    expect(mutating()).toEqual([]);
  });
});
