/** deploy --interactive: choices read from the account, answers saved to the config, no secrets. */
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  OTHER_VPC_SUBNET,
  PRIVATE_SUBNETS,
  PUBLIC_SUBNET,
  RDS_SG,
  REGION,
  VPC,
} from '../support/fake-account.js';
import {
  BASE_CONFIG,
  createWorld,
  DB_PASSWORD,
  PASSWORD_ENV,
  scriptedPrompter,
  type World,
} from './harness.js';

let world: World;
beforeEach(async () => {
  world = await createWorld();
  for (const v of ['AWS_REGION', 'AWS_DEFAULT_REGION']) vi.stubEnv(v, undefined);
});
afterEach(() => world.close());

const HOST = 'chatbot-db.xyz.eu-west-1.rds.amazonaws.com';

describe('deploy --interactive', () => {
  it('asks for what the config lacks, saves it without secrets, and deploys', async () => {
    world.writeConfig({ database: { passwordEnv: PASSWORD_ENV } });
    const prompt = scriptedPrompter([
      { kind: 'input', match: /AWS region/, answer: 'eu-west-1' },
      { kind: 'select', match: /VPC/, answer: VPC },
      { kind: 'checkbox', match: /Subnets/, answer: PRIVATE_SUBNETS },
      { kind: 'select', match: /Security group of the RDS/, answer: RDS_SG },
      { kind: 'input', match: /Database endpoint/, answer: HOST },
    ]);

    const r = await world.run(['deploy', '--interactive', '--yes', '--zip', world.zipPath], { prompt });

    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(world.configPath, 'utf8'))).toEqual({
      region: 'eu-west-1',
      vpc: { vpcId: VPC, subnetIds: PRIVATE_SUBNETS, rdsSecurityGroupId: RDS_SG },
      database: { host: HOST, passwordEnv: PASSWORD_ENV },
    });
    expect(readFileSync(world.configPath, 'utf8')).not.toContain(DB_PASSWORD);
    const subnetChoices = Object.entries(prompt.choices).find(([m]) => /Subnets/.test(m))?.[1] ?? [];
    expect(subnetChoices).toEqual([
      `${PRIVATE_SUBNETS[0]} us-east-1a private`,
      `${PRIVATE_SUBNETS[1]} us-east-1b private`,
      `${PUBLIC_SUBNET} us-east-1a public`,
    ]);
    expect(world.fake.functions.get('chatbot-backend')?.config.Environment.Variables.DB_HOST).toBe(HOST);
  });

  it('asks for the password when its variable is unset, uses it, and does not save it', async () => {
    vi.stubEnv(PASSWORD_ENV, undefined);
    const typed = 'typed-password-123';
    const prompt = scriptedPrompter([{ kind: 'password', match: /Database password/, answer: typed }]);

    const r = await world.run(['deploy', '--interactive', '--yes', '--zip', world.zipPath], { prompt });

    expect(r.code).toBe(0);
    expect(world.fake.functions.get('chatbot-backend')?.config.Environment.Variables.DB_PASSWORD).toBe(typed);
    expect(readFileSync(world.configPath, 'utf8')).not.toContain(typed);
    expect(r.text).not.toContain(typed);
  });

  it('an unexpected prompt fails the run before any change, and nothing is saved', async () => {
    world.writeConfig({ region: 'us-east-1', database: { passwordEnv: PASSWORD_ENV } });
    const before = readFileSync(world.configPath, 'utf8');
    const prompt = scriptedPrompter([{ kind: 'select', match: /VPC/, answer: VPC }]);

    const r = await world.run(['deploy', '--interactive', '--yes', '--zip', world.zipPath], { prompt });

    expect(r.code).toBe(2);
    expect(prompt.asked).toHaveLength(2);
    expect(world.fake.mutatingCalls()).toEqual([]);
    expect(existsSync(world.configPath) && readFileSync(world.configPath, 'utf8')).toBe(before);
  });

  it('splits a pasted database URL into host and port, saves and deploys the host alone', async () => {
    world.writeConfig({ ...BASE_CONFIG, database: { passwordEnv: PASSWORD_ENV } });
    const prompt = scriptedPrompter([
      { kind: 'input', match: /Database endpoint/, answer: `mysql://${HOST}:3307` },
    ]);

    const r = await world.run(['deploy', '--interactive', '--yes', '--zip', world.zipPath], { prompt });

    expect(r.code).toBe(0);
    expect(r.text).toContain(`Database host ${HOST}, port 3307 (from mysql://${HOST}:3307)`);
    expect(JSON.parse(readFileSync(world.configPath, 'utf8')).database).toEqual({
      host: HOST,
      port: 3307,
      passwordEnv: PASSWORD_ENV,
    });
    const variables = world.fake.functions.get('chatbot-backend')?.config.Environment.Variables;
    expect([variables.DB_HOST, variables.DB_PORT]).toEqual([HOST, '3307']);
  });

  it('keeps asking while the endpoint is not a host (a password in the URL is refused, not saved)', async () => {
    world.writeConfig({ ...BASE_CONFIG, database: { passwordEnv: PASSWORD_ENV } });
    let validate: ((v: string) => true | string) | undefined;
    const prompt = {
      ...scriptedPrompter([]),
      input: async (_m: string, o?: { validate?: (v: string) => true | string }) => {
        validate = o?.validate;
        return HOST;
      },
    };

    const r = await world.run(['deploy', '--interactive', '--yes', '--zip', world.zipPath], { prompt });

    expect(r.code).toBe(0);
    expect(validate?.('mysql://admin:hunter22@db.example.com')).toMatch(/user or password/);
    expect(validate?.('db.example.com:3306')).toBe(true);
    expect(validate?.('db example.com')).toMatch(/must be a host name/);
  });
});

describe('deploy --interactive when the config names what the account does not have', () => {
  it('a subnet of another VPC: deploy stops, --interactive asks again with the good one still chosen', async () => {
    world.writeConfig({
      ...BASE_CONFIG,
      vpc: { ...BASE_CONFIG.vpc, subnetIds: [PRIVATE_SUBNETS[0], OTHER_VPC_SUBNET] },
    });
    const plain = await world.run(['deploy', '--yes', '--zip', world.zipPath]);
    const prompt = scriptedPrompter([
      {
        kind: 'checkbox',
        match: new RegExp(`Subnets.*${OTHER_VPC_SUBNET} is not in ${VPC}`),
        answer: PRIVATE_SUBNETS,
      },
    ]);

    const r = await world.run(['deploy', '--interactive', '--yes', '--zip', world.zipPath], { prompt });

    expect(plain.code).toBe(1);
    expect(plain.text).toContain(`subnet(s) ${OTHER_VPC_SUBNET} (in vpc-0other) are not in ${VPC}`);
    expect(plain.text).toContain('deploy --interactive');
    expect(r.code).toBe(0);
    expect(Object.values(prompt.prefilled)).toEqual([[PRIVATE_SUBNETS[0]]]);
    expect(JSON.parse(readFileSync(world.configPath, 'utf8')).vpc.subnetIds).toEqual(PRIVATE_SUBNETS);
    expect(world.fake.functions.get('chatbot-backend')?.config.VpcConfig.SubnetIds).toEqual(PRIVATE_SUBNETS);
  });

  it('a VPC the region does not have: asks for the VPC, keeps the subnets and group that fit the one chosen', async () => {
    world.writeConfig({ ...BASE_CONFIG, vpc: { ...BASE_CONFIG.vpc, vpcId: 'vpc-0dead' } });
    const prompt = scriptedPrompter([
      { kind: 'select', match: new RegExp(`VPC.*vpc-0dead is not in this account's ${REGION}`), answer: VPC },
    ]);

    const r = await world.run(['deploy', '--interactive', '--yes', '--zip', world.zipPath], { prompt });

    expect(r.code).toBe(0);
    expect(prompt.asked).toHaveLength(1);
    expect(JSON.parse(readFileSync(world.configPath, 'utf8')).vpc.vpcId).toBe(VPC);
  });

  it('an RDS security group that is gone: asks for it again, naming it', async () => {
    world.writeConfig({ ...BASE_CONFIG, vpc: { ...BASE_CONFIG.vpc, rdsSecurityGroupId: 'sg-0dead0' } });
    const prompt = scriptedPrompter([
      {
        kind: 'select',
        match: /Security group of the RDS database \(the config's sg-0dead0 is not a group of/,
        answer: RDS_SG,
      },
    ]);

    const r = await world.run(['deploy', '--interactive', '--yes', '--zip', world.zipPath], { prompt });

    expect(r.code).toBe(0);
    expect(prompt.choices[prompt.asked[0] ?? '']).toEqual([`${RDS_SG} (rds-chatbot)`]);
    expect(JSON.parse(readFileSync(world.configPath, 'utf8')).vpc.rdsSecurityGroupId).toBe(RDS_SG);
  });

  it('a config that fits the account: asks nothing and rewrites nothing', async () => {
    const before = readFileSync(world.configPath, 'utf8');
    const prompt = scriptedPrompter([]);

    const r = await world.run(['deploy', '--interactive', '--yes', '--zip', world.zipPath], { prompt });

    expect(r.code).toBe(0);
    expect(prompt.asked).toEqual([]);
    expect(readFileSync(world.configPath, 'utf8')).toBe(before);
  });
});
