import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfig, loadConfig, parseConfig, saveConfig } from '../../src/config.js';
import { UserError } from '../../src/errors.js';

describe('config', () => {
  it('gives the guide values when the file is absent', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const { config, exists } = loadConfig(undefined);
    expect(exists).toBe(false);
    expect(config.function).toMatchObject({
      name: 'chatbot-backend',
      role: 'ChatbotLambdaRole',
      memory: 256,
      timeout: 30,
    });
    expect(config.usagePlan).toMatchObject({
      rateLimit: 100,
      burstLimit: 200,
      quotaLimit: 100000,
      quotaPeriod: 'MONTH',
    });
    expect(config.api).toMatchObject({
      name: 'chatbot-api',
      resource: 'chatbot',
      stage: 'prod',
      endpointType: 'REGIONAL',
    });
    expect(() => loadConfig(join(dir, 'missing.json'))).toThrow(/not found/);
  });

  it('merges a partial file over the defaults', () => {
    const config = parseConfig({ function: { memory: 512 }, vpc: { subnetIds: ['subnet-0a1b'] } });
    expect(config.function.memory).toBe(512);
    expect(config.function.timeout).toBe(30);
    expect(config.vpc).toEqual({ subnetIds: ['subnet-0a1b'], lambdaSecurityGroupName: 'lambda-chatbot-sg' });
  });

  it.each([
    [{ function: { memory: 64 } }, 'function.memory must be a whole number from 128 to 10240'],
    [{ functon: {} }, 'unknown field "functon"'],
    [{ api: { stagee: 'x' } }, 'unknown field "api.stagee"'],
    [{ vpc: { subnetIds: ['sub-1'] } }, 'vpc.subnetIds[0] must be a subnet id'],
    [{ usagePlan: { rateLimit: 300, burstLimit: 200 } }, 'burstLimit must be at least usagePlan.rateLimit'],
    [
      { usagePlan: { rateLimit: 6000, burstLimit: 5000 } },
      'usagePlan.rateLimit must be a whole number from 1 to 5000',
    ],
    [{ limits: { queryTimeoutMs: 30000 } }, 'queryTimeoutMs must be under 29000'],
    [{ database: { retentionDays: 0 } }, 'database.retentionDays must be a whole number from 1 to 36500'],
    [{ region: 'mars' }, 'region must be an AWS region'],
    [{ siteHosts: ['https://example.org/'] }, 'siteHosts[0] must be a host name'],
    [[], 'must be a JSON object'],
  ])('rejects %j naming the problem', (doc, message) => {
    expect(() => parseConfig(doc)).toThrow(UserError);
    expect(() => parseConfig(doc)).toThrow(message);
  });

  it('saves only what differs from the defaults, and reads it back the same', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'chatbot-ops.config.json');
    const config = defaultConfig();
    config.region = 'eu-west-1';
    config.vpc.vpcId = 'vpc-0abc';
    config.vpc.subnetIds = ['subnet-01', 'subnet-02'];
    saveConfig(file, config);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      region: 'eu-west-1',
      vpc: { vpcId: 'vpc-0abc', subnetIds: ['subnet-01', 'subnet-02'] },
    });
    expect(loadConfig(file).config).toEqual(config);
  });

  it('reports invalid JSON with the file name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, '{ nope');
    expect(() => loadConfig(file)).toThrow(/c\.json is not valid JSON/);
  });
});
