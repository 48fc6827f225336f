/** deploy --interactive: choices read from the account, answers saved to the config, no secrets. */
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PRIVATE_SUBNETS, PUBLIC_SUBNET, RDS_SG, VPC } from '../support/fake-account.js';
import { createWorld, DB_PASSWORD, PASSWORD_ENV, scriptedPrompter, type World } from './harness.js';

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
});
