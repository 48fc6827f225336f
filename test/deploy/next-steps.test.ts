/**
 * The guide's Next Steps as opt-in deploy steps, through the real CLI against the fake account:
 * every new resource with its exact inputs, a no-op re-deploy making no mutating call (as AWS and as
 * an emulator answer), status showing them, each switched off removing what it made, destroy
 * removing each, the account's API Gateway CloudWatch role, and the retries for AWS's delays.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { ACCESS_LOG_FORMAT } from '../../src/deploy/access-logs.js';
import { dashboardBody } from '../../src/deploy/dashboard.js';
import { ACCOUNT, PRIVATE_SUBNETS, RDS_SG, REGION, VPC } from '../support/fake-account.js';
import {
  API_PATH_REMOVAL,
  BASE_CONFIG,
  createWorld,
  INGEST_CREATION,
  INGEST_REMOVAL,
  type World,
} from './harness.js';

let world: World;
beforeEach(async () => {
  world = await createWorld();
});
afterEach(() => world.close());

const SECRET = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:chatbot-db-AbCdEf`;
/** Every opt-in on (the endpoint with the secret it serves). */
const ALL_ON = {
  ...BASE_CONFIG,
  database: { ...BASE_CONFIG.database, secretArn: SECRET },
  function: { reservedConcurrency: 20 },
  vpc: { ...BASE_CONFIG.vpc, secretsManagerEndpoint: true },
  tracing: { enabled: true },
  dashboard: { enabled: true },
  waf: { enabled: true, rateLimit: 500 },
  accessLogs: { enabled: true, retentionDays: 14 },
};
const LOG_GROUP = '/aws/apigateway/chatbot-api/prod/access';

/** The Next Steps' mutating calls on a fresh deploy with every one on, after the guide's steps (and the ingest path's). */
const NEXT_STEPS_CREATION = [
  'EC2.CreateSecurityGroup',
  'EC2.RevokeSecurityGroupEgress',
  'EC2.AuthorizeSecurityGroupIngress',
  'EC2.CreateVpcEndpoint',
  'Lambda.PutFunctionConcurrency',
  'IAM.AttachRolePolicy',
  'Lambda.UpdateFunctionConfiguration',
  'APIGateway.UpdateStage',
  'IAM.CreateRole',
  'IAM.AttachRolePolicy',
  'APIGateway.UpdateAccount',
  'CloudWatchLogs.CreateLogGroup',
  'CloudWatchLogs.PutRetentionPolicy',
  'APIGateway.UpdateStage',
  'WAFV2.CreateWebACL',
  'WAFV2.AssociateWebACL',
  'CloudWatch.PutDashboard',
];
/** destroy's first calls with every Next Step on: the dashboard, the web ACL, the access log group, the endpoint and its group. */
const NEXT_STEPS_REMOVAL = [
  'CloudWatch.DeleteDashboards',
  'WAFV2.DisassociateWebACL',
  'WAFV2.DeleteWebACL',
  'CloudWatchLogs.DeleteLogGroup',
  'EC2.DeleteVpcEndpoints',
  'EC2.DeleteSecurityGroup',
];
/** The API path's removal with every Next Step on: the role has the tracing policy and the secret's too. */
const API_PATH_REMOVAL_ALL_ON = [
  ...API_PATH_REMOVAL.slice(0, 9),
  // Every rule naming the Lambda group is found when destroy reads the account: beside the RDS
  // group's, the Secrets Manager endpoint group's (gone by then: its revoke answers NotFound).
  'EC2.RevokeSecurityGroupIngress',
  ...API_PATH_REMOVAL.slice(9, -3),
  'IAM.DetachRolePolicy',
  'IAM.DetachRolePolicy',
  'IAM.DeleteRolePolicy',
  'IAM.DeleteRolePolicy',
  'IAM.DeleteRole',
];
/**
 * With database.secretArn and no ingest login of its own, the ingest function reads the API
 * function's secret: its role gets a fourth inline policy, made after the other three and deleted
 * with them.
 */
const INGEST_CREATION_ALL_ON = [
  ...INGEST_CREATION.slice(0, 5),
  'IAM.PutRolePolicy',
  ...INGEST_CREATION.slice(5),
];
const INGEST_REMOVAL_ALL_ON = [
  ...INGEST_REMOVAL.slice(0, 12),
  'IAM.DeleteRolePolicy',
  ...INGEST_REMOVAL.slice(12),
];

const ACCOUNT_ROLE = 'chatbot-ops-apigateway-cloudwatch';

const deploy = (...extra: string[]) => world.run(['deploy', '--yes', '--zip', world.zipPath, ...extra]);
const mutating = () => world.fake.commandNames(world.fake.mutatingCalls());
const inputsOf = (command: string) =>
  world.fake.calls.filter((c) => c.command === command).map((c) => c.input);
const apiId = () => [...world.fake.apis.keys()][0] ?? '';
const lambdaGroup = () =>
  [...world.fake.groups.values()].find((g) => g.GroupName === 'lambda-chatbot-sg')?.GroupId;
const endpointGroup = () =>
  [...world.fake.groups.values()].find((g) => g.GroupName === 'chatbot-backend-secrets-endpoint')?.GroupId;

describe('deploy with every Next Step switched on', () => {
  it('creates each after the guide steps, with the exact inputs', async () => {
    world.writeConfig(ALL_ON);

    const r = await deploy();

    expect(r.code).toBe(0);
    expect(mutating().slice(24)).toEqual(NEXT_STEPS_CREATION);

    // Secrets Manager endpoint: its own group, HTTPS from the Lambda group only, one subnet per zone.
    expect(inputsOf('CreateSecurityGroup')[1]).toEqual({
      VpcId: VPC,
      GroupName: 'chatbot-backend-secrets-endpoint',
      Description: 'Secrets Manager endpoint: HTTPS from the chatbot Lambda only (managed by chatbot-ops)',
      TagSpecifications: [
        { ResourceType: 'security-group', Tags: [{ Key: 'managed-by', Value: 'chatbot-ops' }] },
      ],
    });
    expect(inputsOf('RevokeSecurityGroupEgress')[1]).toEqual({
      GroupId: endpointGroup(),
      IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
    });
    expect(inputsOf('AuthorizeSecurityGroupIngress')[1]).toEqual({
      GroupId: endpointGroup(),
      IpPermissions: [
        {
          IpProtocol: 'tcp',
          FromPort: 443,
          ToPort: 443,
          UserIdGroupPairs: [{ GroupId: lambdaGroup(), Description: 'chatbot Lambda to Secrets Manager' }],
        },
      ],
    });
    expect(inputsOf('CreateVpcEndpoint')).toEqual([
      {
        VpcId: VPC,
        ServiceName: `com.amazonaws.${REGION}.secretsmanager`,
        VpcEndpointType: 'Interface',
        SubnetIds: PRIVATE_SUBNETS,
        SecurityGroupIds: [endpointGroup()],
        PrivateDnsEnabled: true,
        TagSpecifications: [
          {
            ResourceType: 'vpc-endpoint',
            Tags: [
              { Key: 'Name', Value: 'chatbot-backend-secretsmanager' },
              { Key: 'managed-by', Value: 'chatbot-ops' },
            ],
          },
        ],
      },
    ]);

    expect(inputsOf('PutFunctionConcurrency')).toEqual([
      { FunctionName: 'chatbot-backend', ReservedConcurrentExecutions: 20 },
    ]);

    // Tracing: the role's permission, the function, the stage.
    expect(inputsOf('AttachRolePolicy')[1]).toEqual({
      RoleName: 'ChatbotLambdaRole',
      PolicyArn: 'arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess',
    });
    expect(inputsOf('UpdateFunctionConfiguration')).toEqual([
      { FunctionName: 'chatbot-backend', TracingConfig: { Mode: 'Active' } },
    ]);
    expect(inputsOf('UpdateStage')[0]).toEqual({
      restApiId: apiId(),
      stageName: 'prod',
      patchOperations: [{ op: 'replace', path: '/tracingEnabled', value: 'true' }],
    });

    // Access logs: the account's CloudWatch role (none yet), the group, the stage's JSON logs.
    const [, accountRole] = inputsOf('CreateRole');
    expect(accountRole).toMatchObject({
      RoleName: ACCOUNT_ROLE,
      Tags: [{ Key: 'managed-by', Value: 'chatbot-ops' }],
    });
    expect(JSON.parse(String(accountRole?.AssumeRolePolicyDocument))).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { Service: 'apigateway.amazonaws.com' }, Action: 'sts:AssumeRole' },
      ],
    });
    expect(inputsOf('AttachRolePolicy')[2]).toEqual({
      RoleName: ACCOUNT_ROLE,
      PolicyArn: 'arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs',
    });
    expect(inputsOf('UpdateAccount')).toEqual([
      {
        patchOperations: [
          {
            op: 'replace',
            path: '/cloudwatchRoleArn',
            value: `arn:aws:iam::${ACCOUNT}:role/${ACCOUNT_ROLE}`,
          },
        ],
      },
    ]);
    expect(inputsOf('CreateLogGroup')[1]).toEqual({
      logGroupName: LOG_GROUP,
      tags: { 'managed-by': 'chatbot-ops' },
    });
    expect(inputsOf('PutRetentionPolicy')[1]).toEqual({ logGroupName: LOG_GROUP, retentionInDays: 14 });
    expect(inputsOf('UpdateStage')[1]).toEqual({
      restApiId: apiId(),
      stageName: 'prod',
      patchOperations: [
        {
          op: 'replace',
          path: '/accessLogSettings/destinationArn',
          value: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${LOG_GROUP}`,
        },
        { op: 'replace', path: '/accessLogSettings/format', value: ACCESS_LOG_FORMAT },
      ],
    });
    expect(JSON.parse(ACCESS_LOG_FORMAT)).toMatchObject({
      requestId: '$context.requestId',
      apiKeyId: '$context.identity.apiKeyId',
      status: '$context.status',
      responseLatency: '$context.responseLatency',
    });
    expect(ACCESS_LOG_FORMAT).not.toContain('$context.identity.apiKey"');

    // WAF: the rate-based rule first, then AWS's common rule set; then on the stage.
    const visibility = (MetricName: string) => ({
      SampledRequestsEnabled: true,
      CloudWatchMetricsEnabled: true,
      MetricName,
    });
    expect(inputsOf('CreateWebACL')).toEqual([
      {
        Name: 'chatbot-api-prod',
        Scope: 'REGIONAL',
        Description: "Rate limit per address and AWS's common rule set for chatbot-api/prod (chatbot-ops)",
        DefaultAction: { Allow: {} },
        Rules: [
          {
            Name: 'rate-limit-per-ip',
            Priority: 0,
            Statement: { RateBasedStatement: { Limit: 500, AggregateKeyType: 'IP' } },
            Action: { Block: {} },
            VisibilityConfig: visibility('chatbot-api-prod-rate-limit'),
          },
          {
            Name: 'AWSManagedRulesCommonRuleSet',
            Priority: 1,
            Statement: {
              ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesCommonRuleSet' },
            },
            OverrideAction: { None: {} },
            VisibilityConfig: visibility('chatbot-api-prod-AWSManagedRulesCommonRuleSet'),
          },
        ],
        VisibilityConfig: visibility('chatbot-api-prod'),
        Tags: [{ Key: 'managed-by', Value: 'chatbot-ops' }],
      },
    ]);
    const acl = [...world.fake.webAcls.values()][0];
    expect(inputsOf('AssociateWebACL')).toEqual([
      { WebACLArn: acl?.ARN, ResourceArn: `arn:aws:apigateway:${REGION}::/restapis/${apiId()}/stages/prod` },
    ]);

    // The dashboard: the function's and the API's graphs.
    expect(inputsOf('PutDashboard')).toEqual([
      { DashboardName: 'chatbot-backend', DashboardBody: dashboardBody(parseConfig(ALL_ON), REGION) },
    ]);
    const graphs = (
      JSON.parse(dashboardBody(parseConfig(ALL_ON), REGION)) as {
        widgets: { properties: { title?: string; metrics?: unknown[] } }[];
      }
    ).widgets;
    expect(graphs.map((w) => w.properties.title).filter(Boolean)).toEqual([
      'Invocations and errors',
      'Duration (ms)',
      'Throttles',
      'Concurrent executions',
      'Requests',
      '4XX and 5XX answers',
      'Latency (ms)',
    ]);
    expect(JSON.stringify(graphs)).toContain(
      '["AWS/Lambda","Duration","FunctionName","chatbot-backend",{"stat":"p99","label":"p99"}]',
    );
    expect(JSON.stringify(graphs)).toContain(
      '["AWS/ApiGateway","5XXError","ApiName","chatbot-api","Stage","prod"]',
    );
  });

  it.each([
    ['AWS', false],
    ['an emulator (no API summary)', true],
  ])('a re-deploy makes no mutating call, as %s answers', async (_shape, omitApiSummary) => {
    world.fake.options.omitApiSummary = omitApiSummary;
    world.writeConfig(ALL_ON);
    await deploy();
    world.fake.clearCalls();

    const r = await deploy();

    expect(r.code).toBe(0);
    expect(mutating()).toEqual([]);
    expect(r.text).toMatch(/0 to create, 0 to change, 32 unchanged/);
  });

  it('status shows each, ok after deploy and missing when removed by hand', async () => {
    world.writeConfig(ALL_ON);
    await deploy();
    world.fake.dashboards.clear();
    world.fake.webAclAssociations.clear();
    world.fake.clearCalls();

    const r = await world.run(['status', '--zip', world.zipPath]);

    expect(r.text).toMatch(/ok\s+VPC endpoint chatbot-backend-secretsmanager/);
    expect(r.text).toMatch(/ok\s+reserved concurrency chatbot-backend/);
    expect(r.text).toMatch(/ok\s+X-Ray tracing stage chatbot-api\/prod/);
    expect(r.text).toMatch(/ok\s+access logging stage chatbot-api\/prod/);
    expect(r.text).toMatch(/ok\s+web ACL chatbot-api-prod/);
    expect(r.text).toMatch(/missing\s+web ACL association chatbot-api-prod → chatbot-api\/prod/);
    expect(r.text).toMatch(/missing\s+dashboard chatbot-backend/);
    expect(world.fake.mutatingCalls()).toEqual([]);
  });

  it('a changed setting is an update of that one thing (the WAF rate limit)', async () => {
    world.writeConfig(ALL_ON);
    await deploy();
    world.writeConfig({ ...ALL_ON, waf: { enabled: true, rateLimit: 800 } });
    world.fake.clearCalls();

    const r = await deploy();

    expect(r.code).toBe(0);
    expect(mutating()).toEqual(['WAFV2.UpdateWebACL']);
    expect(r.text).toMatch(/rate limit per 5 min: 500 → 800/);
    const [update] = inputsOf('UpdateWebACL');
    expect(update).toMatchObject({
      Name: 'chatbot-api-prod',
      Scope: 'REGIONAL',
      LockToken: expect.stringMatching(/^lock-/),
    });
    expect(((update?.Rules ?? []) as { Statement: unknown }[])[0]?.Statement).toEqual({
      RateBasedStatement: { Limit: 800, AggregateKeyType: 'IP' },
    });
  });
});

describe('switching a Next Step off removes what it made, on the next deploy', () => {
  const cases: {
    what: string;
    off: Record<string, unknown>;
    removes: string[];
    gone: (w: World) => unknown;
  }[] = [
    {
      what: 'the dashboard',
      off: { dashboard: { enabled: false } },
      removes: ['CloudWatch.DeleteDashboards'],
      gone: (w) => w.fake.dashboards.size,
    },
    {
      what: 'the WAF',
      off: { waf: { enabled: false } },
      removes: ['WAFV2.DisassociateWebACL', 'WAFV2.DeleteWebACL'],
      gone: (w) => w.fake.webAcls.size + w.fake.webAclAssociations.size,
    },
    {
      what: 'tracing',
      off: { tracing: { enabled: false } },
      removes: ['IAM.DetachRolePolicy', 'Lambda.UpdateFunctionConfiguration', 'APIGateway.UpdateStage'],
      gone: (w) =>
        (w.fake.functions.get('chatbot-backend')?.config.TracingConfig.Mode === 'Active' ? 1 : 0) +
        (w.fake.stageSettings.get(`${apiId()}/prod`)?.tracingEnabled ? 1 : 0) +
        (w.fake.roles
          .get('ChatbotLambdaRole')
          ?.attached.filter((a) => a.endsWith('/AWSXRayDaemonWriteAccess')).length ?? 0),
    },
    {
      what: 'reserved concurrency',
      off: { function: {} },
      removes: ['Lambda.DeleteFunctionConcurrency'],
      gone: (w) => w.fake.functions.get('chatbot-backend')?.reservedConcurrency ?? 0,
    },
    {
      what: 'access logging (the log group stays until destroy)',
      off: { accessLogs: { enabled: false } },
      removes: ['APIGateway.UpdateStage'],
      gone: (w) => (w.fake.stageSettings.get(`${apiId()}/prod`)?.accessLogSettings ? 1 : 0),
    },
    {
      what: 'the Secrets Manager endpoint',
      off: { vpc: BASE_CONFIG.vpc },
      removes: ['EC2.DeleteVpcEndpoints', 'EC2.DeleteSecurityGroup'],
      gone: (w) => w.fake.vpcEndpoints.length + (endpointGroup() ? 1 : 0),
    },
  ];

  it.each(cases)('$what', async ({ off, removes, gone }) => {
    world.writeConfig(ALL_ON);
    await deploy();
    world.writeConfig({ ...ALL_ON, ...off });
    world.fake.clearCalls();

    const r = await deploy();
    const afterOff = mutating();
    world.fake.clearCalls();
    const again = await deploy();

    expect(r.code).toBe(0);
    expect(afterOff).toEqual(removes);
    expect(gone(world)).toBe(0);
    expect(again.code).toBe(0);
    expect(mutating()).toEqual([]);
  });

  it('with every opt-in off from the start, the plan shows none of them and reads little', async () => {
    await deploy();
    world.fake.clearCalls();

    const r = await deploy();

    expect(r.text).not.toMatch(/dashboard|web ACL|X-Ray|access logging|reserved concurrency|VPC endpoint/);
    // Off, each costs at most one read, to find what a switch-off must remove.
    expect(
      world.fake
        .commandNames()
        .filter((c) => /WAFV2|GetAccount$|GetDashboard|DescribeVpcEndpoints|GetFunctionConcurrency/.test(c))
        .sort(),
    ).toEqual([
      'CloudWatch.GetDashboard',
      'EC2.DescribeVpcEndpoints',
      'Lambda.GetFunctionConcurrency',
      'WAFV2.ListWebACLs',
    ]);
  });
});

describe('every Next Step on with the ingest path', () => {
  const WITH_INGEST = { ...ALL_ON, ingest: {} };
  it('deploys the ingest path after the API path and before the Next Steps; the dashboard gets its section', async () => {
    world.writeConfig(WITH_INGEST);

    const r = await deploy();

    expect(r.code).toBe(0);
    // 22 calls for the API path (as with the ingest path off), then the ingest path's, then the Next Steps'.
    expect(mutating().slice(24, 24 + INGEST_CREATION_ALL_ON.length)).toEqual(INGEST_CREATION_ALL_ON);
    expect(mutating().slice(24 + INGEST_CREATION_ALL_ON.length)).toEqual(NEXT_STEPS_CREATION);
    const [put] = inputsOf('PutDashboard') as { DashboardBody: string }[];
    const widgets = (
      JSON.parse(put?.DashboardBody ?? '{}') as {
        widgets: {
          type: string;
          y: number;
          properties: { title?: string; markdown?: string; metrics?: unknown[] };
        }[];
      }
    ).widgets;
    expect(widgets.filter((w) => w.type === 'text').map((w) => w.properties.markdown)).toEqual([
      '## Function',
      '## API',
      '## Ingest',
    ]);
    // The ingest section comes last, under the API's graphs (the function's header and 2 rows of 6,
    // y 0-12; the API's, 13-25), with the ingest function's and the failure queue's metrics.
    expect(widgets.slice(-3).map((w) => [w.type, w.y, w.properties.title ?? w.properties.markdown])).toEqual([
      ['text', 26, '## Ingest'],
      ['metric', 27, 'Ingest invocations and errors'],
      ['metric', 27, 'Failure queue depth'],
    ]);
    expect(widgets.slice(-2).map((w) => w.properties.metrics)).toEqual([
      [
        ['AWS/Lambda', 'Invocations', 'FunctionName', 'chatbot-ingest'],
        ['AWS/Lambda', 'Errors', 'FunctionName', 'chatbot-ingest'],
      ],
      [['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', 'chatbot-ingest-failures']],
    ]);
  });

  it('switching the ingest path off takes its section off the dashboard (one PutDashboard)', async () => {
    world.writeConfig(WITH_INGEST);
    await deploy();
    world.writeConfig(ALL_ON);
    world.fake.clearCalls();

    const r = await deploy();

    expect(r.code).toBe(0);
    expect(mutating()).toEqual(['CloudWatch.PutDashboard']);
    expect(inputsOf('PutDashboard')).toEqual([
      { DashboardName: 'chatbot-backend', DashboardBody: dashboardBody(parseConfig(ALL_ON), REGION) },
    ]);
  });

  it('destroy removes the Next Steps first, then the ingest path, then the API path', async () => {
    world.writeConfig(WITH_INGEST);
    await deploy();
    world.fake.clearCalls();

    const r = await world.run(['destroy', '--yes']);

    expect(r.code).toBe(0);
    // The Next Steps, in the reverse of their deploy order; then the ingest path (its role with a
    // fourth policy); then the API path.
    expect(mutating()).toEqual([...NEXT_STEPS_REMOVAL, ...INGEST_REMOVAL_ALL_ON, ...API_PATH_REMOVAL_ALL_ON]);
    const f = world.fake;
    expect([f.dashboards.size, f.webAcls.size, f.vpcEndpoints.length, f.buckets.size, f.queues.size]).toEqual(
      [0, 0, 0, 0, 0],
    );
    expect([...f.functions.keys()]).toEqual([]);
    expect([...f.groups.keys()]).toEqual([RDS_SG]);
    expect([...f.roles.keys()]).toEqual([ACCOUNT_ROLE]);
  });
});

describe('destroy with every Next Step on', () => {
  it('removes each opt-in resource, keeps the account-wide CloudWatch role, and never the database', async () => {
    world.writeConfig(ALL_ON);
    await deploy();
    world.fake.clearCalls();

    const r = await world.run(['destroy', '--yes']);

    expect(r.code).toBe(0);
    expect(mutating()).toEqual([...NEXT_STEPS_REMOVAL, ...API_PATH_REMOVAL_ALL_ON]);
    const f = world.fake;
    expect([
      f.dashboards.size,
      f.webAcls.size,
      f.webAclAssociations.size,
      f.vpcEndpoints.length,
      f.functions.size,
      f.apis.size,
    ]).toEqual([0, 0, 0, 0, 0, 0]);
    expect([...f.logGroups.keys()]).toEqual([]);
    expect([...f.groups.keys()]).toEqual([RDS_SG]);
    // API Gateway's CloudWatch role is one setting for every API in the region: it stays.
    expect([...f.roles.keys()]).toEqual([ACCOUNT_ROLE]);
    expect(f.apiGatewayAccount.cloudwatchRoleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/${ACCOUNT_ROLE}`);
  });

  it('destroy --keep-logs keeps the access log group too', async () => {
    world.writeConfig(ALL_ON);
    await deploy();

    await world.run(['destroy', '--yes', '--keep-logs']);

    expect([...world.fake.logGroups.keys()].sort()).toEqual([LOG_GROUP, '/aws/lambda/chatbot-backend']);
  });

  it('finds them even after the config switched them off', async () => {
    world.writeConfig(ALL_ON);
    await deploy('--no-smoke-test');
    world.writeConfig(BASE_CONFIG);

    const r = await world.run(['destroy', '--yes']);

    expect(r.code).toBe(0);
    expect([world.fake.dashboards.size, world.fake.webAcls.size, world.fake.vpcEndpoints.length]).toEqual([
      0, 0, 0,
    ]);
  });
});

describe('AWS delays and shared settings', () => {
  it('an account that already has a CloudWatch role keeps it: no IAM call, no account change', async () => {
    world.fake.apiGatewayAccount.cloudwatchRoleArn = `arn:aws:iam::${ACCOUNT}:role/their-own`;
    world.writeConfig({ ...BASE_CONFIG, accessLogs: { enabled: true } });

    const r = await deploy();

    expect(r.code).toBe(0);
    expect(mutating().filter((c) => c.startsWith('IAM.') && c !== 'IAM.CreateRole')).toEqual([
      'IAM.AttachRolePolicy',
      'IAM.PutRolePolicy',
    ]);
    expect(inputsOf('CreateRole').map((i) => i.RoleName)).toEqual(['ChatbotLambdaRole']);
    expect(inputsOf('UpdateAccount')).toEqual([]);
    expect(r.text).toMatch(
      /unchanged API Gateway account CloudWatch role arn:aws:iam::123456789012:role\/their-own/,
    );
  });

  it('retries setting the account role while API Gateway cannot use the new role yet', async () => {
    world.fake.rolePropagation.set(ACCOUNT_ROLE, 2);
    world.writeConfig({ ...BASE_CONFIG, accessLogs: { enabled: true } });

    const r = await deploy();

    expect(r.code).toBe(0);
    expect(inputsOf('UpdateAccount')).toHaveLength(3);
    expect(world.fake.apiGatewayAccount.cloudwatchRoleArn).toBe(
      `arn:aws:iam::${ACCOUNT}:role/${ACCOUNT_ROLE}`,
    );
  });

  it('retries the WAF association while WAF does not see the new stage yet', async () => {
    await world.close();
    world = await createWorld({ wafUnavailableAttempts: 2 });
    world.writeConfig({ ...BASE_CONFIG, waf: { enabled: true } });

    const r = await deploy();

    expect(r.code).toBe(0);
    expect(inputsOf('AssociateWebACL')).toHaveLength(3);
    expect(world.fake.webAclAssociations.size).toBe(1);
  });

  it('a Secrets Manager endpoint someone else made is used as it is', async () => {
    world.fake.vpcEndpoints.push({
      VpcEndpointId: 'vpce-0theirs',
      VpcEndpointType: 'Interface',
      VpcId: VPC,
      ServiceName: `com.amazonaws.${REGION}.secretsmanager`,
      State: 'available',
      PrivateDnsEnabled: true,
      Tags: [{ Key: 'Name', Value: 'shared-endpoints' }],
    });
    world.writeConfig({
      ...BASE_CONFIG,
      database: { ...BASE_CONFIG.database, secretArn: SECRET },
      vpc: { ...BASE_CONFIG.vpc, secretsManagerEndpoint: true },
    });

    const r = await deploy();

    expect(r.code).toBe(0);
    expect(inputsOf('CreateVpcEndpoint')).toEqual([]);
    expect(r.text).toMatch(
      /unchanged VPC endpoint com.amazonaws.us-east-1.secretsmanager \(vpce-0theirs, not made by chatbot-ops\)/,
    );
  });

  it('the endpoint without a secret to serve: deployed, with a warning that says so', async () => {
    world.writeConfig({ ...BASE_CONFIG, vpc: { ...BASE_CONFIG.vpc, secretsManagerEndpoint: true } });

    const r = await deploy();

    expect(r.code).toBe(0);
    expect(r.err.join('\n')).toMatch(/vpc.secretsManagerEndpoint is on but database.secretArn is not set/);
  });

  it('each step runs alone as its own command', async () => {
    await deploy();
    world.writeConfig({ ...BASE_CONFIG, dashboard: { enabled: true }, waf: { enabled: true } });
    world.fake.clearCalls();

    const dash = await world.run(['dashboard', '--yes']);
    const waf = await world.run(['waf', '--yes']);

    expect([dash.code, waf.code]).toEqual([0, 0]);
    expect(mutating()).toEqual(['CloudWatch.PutDashboard', 'WAFV2.CreateWebACL', 'WAFV2.AssociateWebACL']);
  });
});
