/**
 * doctor's checks that are not about a broken resource but about what could not be seen (an
 * emulator's HTML answer, a deployment without an API summary: `unknown`, exit 0, 1 with --strict),
 * the RDS instance behind database.host, what the role may read of Secrets Manager, and the Next
 * Steps the config switches on: each with a passing and a failing account.
 */
import {
  DescribeDBEngineVersionsCommand,
  DescribeDBInstancesCommand,
  DescribeDBParametersCommand,
} from '@aws-sdk/client-rds';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { recordingUi } from '../../src/cli/ui.js';
import { parseConfig } from '../../src/config.js';
import { ACCESS_LOG_FORMAT } from '../../src/deploy/access-logs.js';
import { type ApiDefinition, definitionFingerprint, deploymentDescription } from '../../src/deploy/api.js';
import { dashboardBody } from '../../src/deploy/dashboard.js';
import type { CheckResult } from '../../src/doctor/engine.js';
import { HTML_PAGE, sdkErrorFromHtmlAnswer } from '../support/html-answer.js';
import {
  ACCOUNT,
  API_ID,
  DEPLOYMENT_ID,
  FUNCTION_ARN,
  freshWorld,
  invokeAnswer,
  mocks,
  RDS_SG,
  REGION,
  startApiStandIn,
  VPC_ID,
  type World,
  writeConfig,
} from './fixtures/deployment.js';

let world: World;
let api: { url: string; close: () => Promise<void> };
let htmlError: Error;

beforeAll(async () => {
  // Made before any fake account replaces the clients' send: a real SDK error from a real HTML answer.
  htmlError = await sdkErrorFromHtmlAnswer(500);
  api = await startApiStandIn(() => world);
});
afterAll(() => api.close());
beforeEach(() => {
  world = freshWorld();
});
afterEach(() => vi.useRealTimers());

interface Report {
  ok: boolean;
  complete: boolean;
  summary: { pass: number; warn: number; fail: number; unknown: number; skip: number };
  checks: CheckResult[];
}

async function doctor(
  overrides: Record<string, unknown> = {},
  extra: string[] = [],
): Promise<{ code: number; report: Report; byId: Record<string, CheckResult> }> {
  const ui = recordingUi({ json: true });
  const code = await main(
    [
      'node',
      'chatbot-ops',
      '--json',
      '--config',
      writeConfig(overrides),
      'doctor',
      '--api-url',
      api.url,
      ...extra,
    ],
    { ui },
  );
  const report = ui.results[0] as Report;
  return { code, report, byId: Object.fromEntries(report.checks.map((c) => [c.id, c])) };
}
const failing = (r: Report) => r.checks.filter((c) => c.status === 'fail').map((c) => c.id);

/** The route of the healthy fixture, as a deployment freezes it. */
const ROUTE: ApiDefinition = {
  path: '/chatbot',
  httpMethod: 'POST',
  apiKeyRequired: true,
  authorizationType: 'NONE',
  integration: {
    type: 'AWS_PROXY',
    httpMethod: 'POST',
    uri: `arn:aws:apigateway:${REGION}:lambda:path/2015-03-31/functions/${FUNCTION_ARN}/invocations`,
  },
};

describe('a check that could not run is unknown, not failed', () => {
  it('plan.quota when the endpoint answers GetUsage with an HTML page: unknown with the reason, exit 0; --strict exits 1', async () => {
    world.fake.failOnce('GetUsage', htmlError);
    const { code, report, byId } = await doctor();

    world.fake.failOnce('GetUsage', htmlError);
    const strict = await doctor({}, ['--strict']);

    expect(byId['plan.quota']).toMatchObject({
      status: 'unknown',
      evidence: 'APIGateway.GetUsage answered HTTP 500 with an HTML page, not an AWS answer',
      fix: expect.stringMatching(/may not implement this call/),
    });
    expect(failing(report)).toEqual([]);
    expect(report).toMatchObject({ ok: true, complete: false, summary: { unknown: 1, fail: 0 } });
    expect(code).toBe(0);
    expect(strict.code).toBe(1);
  });

  it('shows it for people as "? unknown" with what to try, and counts it in the summary', async () => {
    world.fake.failOnce('GetUsage', htmlError);
    const ui = recordingUi();

    await main(['node', 'chatbot-ops', '--config', writeConfig(), 'doctor', '--api-url', api.url], { ui });

    const line = ui.out.findIndex((l) => l.includes('quota left this period'));
    expect(ui.out[line]).toMatch(
      /\? unknown\s+quota left this period\s+APIGateway.GetUsage answered HTTP 500/,
    );
    expect(ui.out[line + 1]).toMatch(/try: The endpoint that answered may not implement this call/);
    expect(ui.out.at(-1)).toBe('40 passed, 0 warnings, 0 failed, 1 could not run, 5 skipped');
  });

  describe('api.stage where GetDeployment gives no API summary (an emulator)', () => {
    beforeEach(() => {
      world.fake.options.omitApiSummary = true;
    });

    it('passes by the fingerprint in the deployment description when it matches the API', async () => {
      world.fake.deploymentDescriptions.set(
        DEPLOYMENT_ID,
        deploymentDescription(definitionFingerprint(ROUTE)),
      );

      const { code, byId } = await doctor();

      expect(byId['api.stage']?.status).toBe('pass');
      expect(code).toBe(0);
    });

    it('is unknown without a fingerprint, with what to try', async () => {
      const { code, byId } = await doctor();

      expect(byId['api.stage']).toMatchObject({
        status: 'unknown',
        evidence: `the endpoint gave no API summary for deployment ${DEPLOYMENT_ID}, and its description carries no chatbot-ops fingerprint: what the stage serves cannot be read`,
        fix: expect.stringMatching(/chatbot-ops create-api --redeploy/),
      });
      expect(code).toBe(0);
    });

    it('fails when the fingerprint says the deployment was made from another definition', async () => {
      world.fake.deploymentDescriptions.set(
        DEPLOYMENT_ID,
        deploymentDescription(definitionFingerprint({ ...ROUTE, apiKeyRequired: false })),
      );

      const { code, byId } = await doctor();

      expect(byId['api.stage']).toMatchObject({
        status: 'fail',
        fix: expect.stringMatching(/Deploy the API again/),
      });
      expect(code).toBe(1);
    });
  });

  it('live.health when Invoke answers without running the code (the event echoed back): unknown', async () => {
    world.fake.directAnswers.health = invokeAnswer({ intent: 'health' });

    const { code, byId } = await doctor();

    expect(byId['live.health']).toMatchObject({
      status: 'unknown',
      evidence: expect.stringMatching(
        /not the backend's answer \(\{"intent":"health"\}\).*its code did not run/,
      ),
    });
    expect(code).toBe(0);
  });

  it('live.api when the URL answers an HTML page: unknown', async () => {
    world.fake.httpAnswers.withKey = { status: 502, body: HTML_PAGE, contentType: 'text/html' };

    const { code, byId } = await doctor();

    expect(byId['live.api']).toMatchObject({
      status: 'unknown',
      evidence: expect.stringMatching(/answered HTTP 502 with an HTML page/),
    });
    expect(code).toBe(0);
  });
});

describe('the RDS instance behind database.host', () => {
  it("reads it by the endpoint's first label, and the engine version with deprecated ones included", async () => {
    const { byId } = await doctor();

    expect(mocks.rds.commandCalls(DescribeDBInstancesCommand).map((c) => c.args[0].input)).toEqual([
      { DBInstanceIdentifier: 'chatbot' },
    ]);
    expect(mocks.rds.commandCalls(DescribeDBEngineVersionsCommand).map((c) => c.args[0].input)).toEqual([
      { Engine: 'mariadb', EngineVersion: '10.11.9', IncludeAll: true },
    ]);
    // A default parameter group keeps the default formula: no parameters are read.
    expect(mocks.rds.commandCalls(DescribeDBParametersCommand)).toHaveLength(0);
    expect(byId['rds.instance']?.evidence).toBe('chatbot (db.t3.micro, mariadb 10.11.9, available)');
    expect(byId['rds.connections']?.evidence).toBe(
      "reserved concurrency 20 × 3 connections each = 60; max_connections 85 (the default formula over db.t3.micro's 1 GiB (an upper bound))",
    );
  });

  const findings: [string, (w: World) => void, string, 'warn' | 'fail', RegExp][] = [
    [
      'not available',
      (w) => (w.dbInstance.DBInstanceStatus = 'stopped'),
      'rds.instance',
      'warn',
      /stopped\): not available/,
    ],
    [
      'publicly accessible',
      (w) => (w.dbInstance.PubliclyAccessible = true),
      'rds.public',
      'fail',
      /--no-publicly-accessible/,
    ],
    [
      'storage not encrypted',
      (w) => (w.dbInstance.StorageEncrypted = false),
      'rds.encryption',
      'warn',
      /copy the snapshot with encryption/,
    ],
    [
      'no automated backups',
      (w) => (w.dbInstance.BackupRetentionPeriod = 0),
      'rds.backups',
      'fail',
      /--backup-retention-period 7/,
    ],
    [
      'no deletion protection',
      (w) => (w.dbInstance.DeletionProtection = false),
      'rds.deletion-protection',
      'warn',
      /--deletion-protection/,
    ],
    ['single-AZ', (w) => (w.dbInstance.MultiAZ = false), 'rds.multi-az', 'warn', /--multi-az/],
    [
      'a deprecated engine version',
      (w) => (w.dbInstance.EngineVersion = '10.4.34'),
      'rds.engine',
      'fail',
      /10.4.34 is deprecated/,
    ],
    [
      'an engine version RDS no longer lists',
      (w) => (w.dbInstance.EngineVersion = '10.2.44'),
      'rds.engine',
      'fail',
      /RDS no longer lists mariadb 10.2.44/,
    ],
    [
      'another engine',
      (w) => (w.dbInstance.Engine = 'postgres'),
      'rds.engine',
      'fail',
      /speaks MariaDB or MySQL/,
    ],
    [
      "without the config's RDS security group",
      (w) => (w.dbInstance.VpcSecurityGroups = [{ VpcSecurityGroupId: 'sg-0other', Status: 'active' }]),
      'rds.security-groups',
      'fail',
      new RegExp(`uses sg-0other, not ${RDS_SG}`),
    ],
    [
      'in another VPC',
      (w) => (w.dbInstance.DBSubnetGroup = { VpcId: 'vpc-0elsewhere' }),
      'rds.vpc',
      'fail',
      new RegExp(`in vpc-0elsewhere, the function in ${VPC_ID}`),
    ],
    [
      "no reserved concurrency: the account's 1000 × 3 can exceed 85",
      (w) => {
        const f = w.fake.functions.get('chatbot-backend');
        if (f) f.reservedConcurrency = undefined;
      },
      'rds.connections',
      'warn',
      /up to 1000 instances.*= 3000; max_connections 85.*Set function.reservedConcurrency to 22 or less/,
    ],
    [
      'reserved concurrency 40 × 3 over 85',
      (w) => {
        const f = w.fake.functions.get('chatbot-backend');
        if (f) f.reservedConcurrency = 40;
      },
      'rds.connections',
      'warn',
      /reserved concurrency 40 × 3 connections each = 120; max_connections 85/,
    ],
  ];

  it.each(findings)('%s', async (_what, change, id, status, text) => {
    change(world);

    const { code, report, byId } = await doctor();

    expect(byId[id]?.status).toBe(status);
    expect(`${byId[id]?.evidence} ${byId[id]?.fix}`).toMatch(text);
    expect(failing(report)).toEqual(status === 'fail' ? [id] : []);
    expect(code).toBe(status === 'fail' ? 1 : 0);
  });

  it('max_connections from a custom parameter group where it sets one', async () => {
    world.dbInstance.DBParameterGroups = [{ DBParameterGroupName: 'chatbot-params' }];
    world.fake.dbParameters['chatbot-params'] = [
      { ParameterName: 'max_connections', ParameterValue: '40', Source: 'user' },
    ];

    const { byId } = await doctor();

    expect(mocks.rds.commandCalls(DescribeDBParametersCommand).map((c) => c.args[0].input)).toEqual([
      { DBParameterGroupName: 'chatbot-params', Source: 'user' },
    ]);
    expect(byId['rds.connections']).toMatchObject({
      status: 'warn',
      evidence: expect.stringMatching(/= 60; max_connections 40 \(parameter group chatbot-params\)/),
      fix: expect.stringMatching(/reservedConcurrency to 10 or less/),
    });
  });

  it('no instance has the endpoint: rds.instance warns, the other RDS checks skip with the reason', async () => {
    world.fake.dbInstances = [];

    const { code, byId } = await doctor();

    expect(byId['rds.instance']).toMatchObject({
      status: 'warn',
      evidence: expect.stringMatching(
        /no RDS instance in this account and region has the endpoint chatbot.abc123/,
      ),
    });
    expect(byId['rds.public']).toMatchObject({ status: 'skip' });
    // The first label named no instance: every instance was looked at.
    expect(mocks.rds.commandCalls(DescribeDBInstancesCommand).map((c) => c.args[0].input)).toEqual([
      { DBInstanceIdentifier: 'chatbot' },
      {},
    ]);
    expect(code).toBe(0);
  });

  it('RDS reads refused: the RDS checks could not run (unknown), none fails', async () => {
    world.fake.failAll(
      'RDS',
      Object.assign(new Error('not authorized to perform: rds:DescribeDBInstances'), {
        name: 'AccessDenied',
      }),
    );

    const { code, report, byId } = await doctor();

    expect(byId['rds.instance']?.status).toBe('unknown');
    expect(byId['rds.public']?.status).toBe('unknown');
    expect(failing(report)).toEqual([]);
    expect(code).toBe(0);
  });
});

describe('Secrets Manager: what the role may read', () => {
  const SECRET = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:chatbot-db-AbCdEf`;
  const withSecret = (w: World, policy?: unknown) => {
    const vars = w.fn?.Environment?.Variables ?? {};
    for (const k of ['DB_HOST', 'DB_USER', 'DB_PASSWORD']) delete vars[k];
    vars.DB_SECRET_ARN = SECRET;
    if (policy) w.role.inline = { ...w.role.inline, SecretsManagerReadPolicy: policy };
  };
  const readPolicy = (resource: unknown) => ({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: resource }],
  });

  it.each([
    ['only that secret', readPolicy(SECRET), 'pass', /^only arn:aws:secretsmanager/],
    [
      'the secret by its name without the suffix, with -??????',
      readPolicy(SECRET.replace('-AbCdEf', '-??????')),
      'pass',
      /only/,
    ],
    [
      'no policy: the function cannot read its credentials',
      undefined,
      'fail',
      /no policy of role ChatbotLambdaRole allows secretsmanager:GetSecretValue/,
    ],
    ['every secret', readPolicy('*'), 'warn', /may read other secrets too: SecretsManagerReadPolicy \(\*\)/],
    [
      'that one and another',
      readPolicy([SECRET, `${SECRET.replace('chatbot-db', 'payroll')}`]),
      'warn',
      /payroll/,
    ],
  ])('%s', async (_what, policy, status, text) => {
    withSecret(world, policy);

    const { byId } = await doctor();

    expect(byId['secrets.role']?.status).toBe(status);
    expect(`${byId['secrets.role']?.evidence} ${byId['secrets.role']?.fix}`).toMatch(text);
  });
});

describe('the Next Steps the config switches on', () => {
  const stageKey = `${API_ID}/prod`;
  const on = {
    tracing: { enabled: true },
    dashboard: { enabled: true },
    waf: { enabled: true },
    accessLogs: { enabled: true },
  };
  const LOG_GROUP = '/aws/apigateway/chatbot-api/prod/access';
  const LOG_GROUP_ARN = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${LOG_GROUP}`;

  /** What deploy leaves when all four are on. */
  function everythingOn(w: World): void {
    const fn = w.fake.functions.get('chatbot-backend');
    if (fn) fn.config.TracingConfig = { Mode: 'Active' };
    w.role.attached.push('arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess');
    w.fake.stageSettings.set(stageKey, {
      tracingEnabled: true,
      accessLogSettings: { destinationArn: LOG_GROUP_ARN, format: ACCESS_LOG_FORMAT },
    });
    w.fake.apiGatewayAccount.cloudwatchRoleArn = `arn:aws:iam::${ACCOUNT}:role/chatbot-ops-apigateway-cloudwatch`;
    w.fake.logGroups.set(LOG_GROUP, { retentionInDays: 30 });
    w.fake.dashboards.set('chatbot-backend', dashboardBody(parseConfig({}), REGION));
    const aclArn = `arn:aws:wafv2:${REGION}:${ACCOUNT}:regional/webacl/chatbot-api-prod/acl-1`;
    w.fake.webAcls.set('acl-1', {
      Name: 'chatbot-api-prod',
      Id: 'acl-1',
      ARN: aclArn,
      LockToken: 'lock-1',
      DefaultAction: { Allow: {} },
      Rules: [
        {
          Name: 'rate-limit-per-ip',
          Priority: 0,
          Statement: { RateBasedStatement: { Limit: 2000, AggregateKeyType: 'IP' } },
        },
        {
          Name: 'AWSManagedRulesCommonRuleSet',
          Priority: 1,
          Statement: {
            ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesCommonRuleSet' },
          },
        },
      ],
    });
    w.fake.webAclAssociations.set(w.fake.stageArn(API_ID, 'prod'), aclArn);
  }

  it('with everything deploy makes: all four pass', async () => {
    everythingOn(world);

    const { code, byId } = await doctor(on);

    expect(['tracing', 'dashboard', 'waf', 'access-logs'].map((id) => [id, byId[id]?.status])).toEqual([
      ['tracing', 'pass'],
      ['dashboard', 'pass'],
      ['waf', 'pass'],
      ['access-logs', 'pass'],
    ]);
    expect(byId.waf?.evidence).toBe(
      'chatbot-api-prod: at most 2000 requests per 5 minutes per address, AWSManagedRulesCommonRuleSet',
    );
    expect(code).toBe(0);
  });

  const broken: [string, (w: World) => void, string, 'warn' | 'fail', RegExp][] = [
    [
      'the function not traced',
      (w) => {
        const fn = w.fake.functions.get('chatbot-backend');
        if (fn) fn.config.TracingConfig = { Mode: 'PassThrough' };
      },
      'tracing',
      'warn',
      /tracing mode is PassThrough.*chatbot-ops tracing/,
    ],
    [
      'the role without the X-Ray policy',
      (w) => w.role.attached.pop(),
      'tracing',
      'warn',
      /lacks AWSXRayDaemonWriteAccess/,
    ],
    [
      'no dashboard',
      (w) => w.fake.dashboards.clear(),
      'dashboard',
      'warn',
      /no dashboard named chatbot-backend/,
    ],
    [
      'a dashboard without the API',
      (w) => w.fake.dashboards.set('chatbot-backend', JSON.stringify({ widgets: [] })),
      'dashboard',
      'warn',
      /shows no metrics of the function chatbot-backend or the API chatbot-api\/prod/,
    ],
    [
      'no web ACL',
      (w) => {
        w.fake.webAclAssociations.clear();
        w.fake.webAcls.clear();
      },
      'waf',
      'fail',
      /no web ACL named chatbot-api-prod/,
    ],
    [
      'a web ACL not on the stage',
      (w) => w.fake.webAclAssociations.clear(),
      'waf',
      'fail',
      /is not in front of chatbot-api\/prod/,
    ],
    [
      'a web ACL without the common rule set',
      (w) => {
        const acl = w.fake.webAcls.get('acl-1');
        if (acl) acl.Rules = acl.Rules.slice(0, 1);
      },
      'waf',
      'warn',
      /has no AWSManagedRulesCommonRuleSet/,
    ],
    [
      'no account CloudWatch role',
      (w) => {
        w.fake.apiGatewayAccount = {};
      },
      'access-logs',
      'warn',
      /API Gateway has no CloudWatch role in this account and region/,
    ],
    [
      'no access logs on the stage',
      (w) => w.fake.stageSettings.set(stageKey, { tracingEnabled: true }),
      'access-logs',
      'warn',
      /writes no access logs/,
    ],
    [
      'the log group gone',
      (w) => w.fake.logGroups.delete(LOG_GROUP),
      'access-logs',
      'warn',
      /does not exist: the access logs go nowhere/,
    ],
  ];

  it.each(broken)('%s', async (_what, breakIt, id, status, text) => {
    everythingOn(world);
    breakIt(world);

    const { code, report, byId } = await doctor(on);

    expect(byId[id]?.status).toBe(status);
    expect(`${byId[id]?.evidence} ${byId[id]?.fix}`).toMatch(text);
    expect(failing(report)).toEqual(status === 'fail' ? [id] : []);
    expect(code).toBe(status === 'fail' ? 1 : 0);
  });
});
