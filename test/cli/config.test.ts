import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  defaultConfig,
  loadConfig,
  parseConfig,
  saveConfig,
  splitDatabaseEndpoint,
} from '../../src/config.js';
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
    expect(config.vpc).toEqual({
      subnetIds: ['subnet-0a1b'],
      lambdaSecurityGroupName: 'lambda-chatbot-sg',
      secretsManagerEndpoint: false,
    });
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
    [[], 'must be a JSON object (it is a list)'],
    [{ functon: {} }, 'unknown field "functon" (did you mean "function"?)'],
    [{ api: { stagee: 'x' } }, 'unknown field "api.stagee" (did you mean "api.stage"?)'],
    [{ usagePlan: { ratelimit: 5 } }, '(did you mean "usagePlan.rateLimit"?)'],
    [{ database: { password: 'x' } }, 'put it in the environment variable DB_PASSWORD'],
    [
      { vpc: { subnetIds: ['subnet-0a1', 'subnet-0b2', 'subnet-0a1'] } },
      'vpc.subnetIds lists subnet-0a1 more than once',
    ],
    [
      { function: { timeout: 20 } },
      'function.timeout (20 s) must be longer than limits.queryTimeoutMs (25000 ms)',
    ],
    [{ function: { timeout: 25 } }, 'function.timeout (25 s) must be longer than limits.queryTimeoutMs'],
    [
      { database: { host: 'mysql://db.abc.us-east-1.rds.amazonaws.com:3306' } },
      'database.host is a URL: give the host name alone, without a scheme such as mysql:// (set database.host to "db.abc.us-east-1.rds.amazonaws.com" and database.port to 3306)',
    ],
    [
      { database: { host: 'https://db.example.com' } },
      'database.host is a URL: give the host name alone, without a scheme such as mysql:// (set database.host to "db.example.com")',
    ],
    [
      { database: { host: 'db.example.com:3307' } },
      'database.host includes a port: give the host name alone (the port is set on its own) (set database.host to "db.example.com" and database.port to 3307)',
    ],
    [{ api: { endpointType: 'PRIVATE' } }, 'api.endpointType PRIVATE is not supported'],
    [{ siteHosts: ['https://example.org/'] }, 'siteHosts[0] must be a host name'],
    [{ function: { logRetentionDays: 2 } }, 'function.logRetentionDays must be one of 1, 3, 5, 7, 14, 30'],
    [{ function: { reservedConcurrency: 0 } }, 'function.reservedConcurrency must be a whole number from 1'],
    [{ waf: { rateLimit: 5 } }, 'waf.rateLimit must be a whole number from 10'],
    [{ accessLogs: { retentionDays: '30' } }, 'accessLogs.retentionDays must be one of'],
    [{ tracing: { enabled: 'yes' } }, 'tracing.enabled must be true or false'],
    [{ vpc: { secretsManagerEndpoint: 1 } }, 'vpc.secretsManagerEndpoint must be true or false'],
  ])('rejects %j naming the problem, as bad usage (exit 2)', (doc, message) => {
    expect(() => parseConfig(doc)).toThrow(UserError);
    expect(() => parseConfig(doc)).toThrow(message);
    expect(() => parseConfig(doc)).toThrow(expect.objectContaining({ exitCode: 2 }));
  });

  it('accepts host names and IP addresses as the database host', () => {
    for (const host of ['db.abc.us-east-1.rds.amazonaws.com', '10.0.1.5', 'fd00::5', 'mariadb']) {
      expect(parseConfig({ database: { host } }).database.host).toBe(host);
    }
  });

  it('reports problems between two fields together with the others, not after them', () => {
    const doc = { function: { memory: 64 }, usagePlan: { rateLimit: 300, burstLimit: 200 } };

    expect(() => parseConfig(doc)).toThrow(
      /function\.memory must be a whole number[\s\S]*burstLimit must be at least usagePlan\.rateLimit/,
    );
  });

  it('skips a check between two fields when one of them was refused on its own', () => {
    const parse = () => parseConfig({ function: { timeout: 0 } });

    expect(parse).toThrow('function.timeout must be a whole number from 1 to 900');
    expect(parse).toThrow(expect.objectContaining({ message: expect.not.stringContaining('longer than') }));
  });

  it('reads the opt-in sections over their defaults (all off)', () => {
    expect(defaultConfig()).toMatchObject({
      tracing: { enabled: false },
      dashboard: { enabled: false },
      waf: { enabled: false, rateLimit: 2000 },
      accessLogs: { enabled: false, retentionDays: 30 },
      vpc: { secretsManagerEndpoint: false },
    });
    expect(defaultConfig().function.reservedConcurrency).toBeUndefined();

    const config = parseConfig({
      function: { reservedConcurrency: 20, logRetentionDays: 14 },
      tracing: { enabled: true },
      dashboard: { enabled: true, name: 'chatbot' },
      waf: { enabled: true, rateLimit: 500 },
      accessLogs: { enabled: true, retentionDays: 90 },
      vpc: { secretsManagerEndpoint: true },
    });

    expect(config.function).toMatchObject({ reservedConcurrency: 20, logRetentionDays: 14 });
    expect(config.dashboard).toEqual({ enabled: true, name: 'chatbot' });
    expect(config.waf).toEqual({ enabled: true, rateLimit: 500 });
    expect(config.accessLogs).toEqual({ enabled: true, retentionDays: 90 });
    expect(config.vpc.secretsManagerEndpoint).toBe(true);
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

  it.each([
    ['{\n  "region": "us-east-1",\n  "vpc": { "vpcId": "vpc-0a" },\n}\n', 'line 4, column 1'],
    ['{\n  "region": "us-east-1"\n  "logLevel": "INFO"\n}', 'line 3, column 3'],
    ['{\n  "region": "us-east-1",\n', 'line 3, column 1'],
  ])('says on which line and column the JSON breaks', (text, where) => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, text);

    expect(() => loadConfig(file)).toThrow(where);
    expect(() => loadConfig(file)).toThrow(expect.objectContaining({ exitCode: 2 }));
  });

  it.each([
    [
      'mysql://db.abc.us-east-1.rds.amazonaws.com:3306',
      { host: 'db.abc.us-east-1.rds.amazonaws.com', port: 3306 },
    ],
    ['jdbc:mysql://db.example.com:3307/', { host: 'db.example.com', port: 3307 }],
    ['https://db.example.com', { host: 'db.example.com' }],
    ['db.example.com:3306', { host: 'db.example.com', port: 3306 }],
    ['  db.example.com  ', { host: 'db.example.com' }],
    ['10.0.1.5', { host: '10.0.1.5' }],
    ['mysql://admin:secret@db.example.com:3306', { problem: expect.stringMatching(/user or password/) }],
    ['mysql://db.example.com:3306/chatbot_db', { problem: expect.stringMatching(/names a database/) }],
    ['db.example.com:99999', { problem: 'port 99999 is out of range' }],
    ['db example', { problem: expect.stringMatching(/must be a host name/) }],
  ])('reads the pasted endpoint %j as host and port', (text, expected) => {
    expect(splitDatabaseEndpoint(text)).toEqual(expected);
  });
});
