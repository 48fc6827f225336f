/**
 * deploy through the real CLI parser against the fake account: fresh account, no-op re-run, one
 * field changed, role propagation, a function still updating, fault injection with re-runs,
 * --dry-run, secrets never shown, --json rules.
 */
import * as apigw from '@aws-sdk/client-api-gateway';
import * as lambda from '@aws-sdk/client-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { listResources } from '../../src/aws/apigateway.js';
import { createAwsClients } from '../../src/aws/clients.js';
import { resolveAwsSession } from '../../src/aws/sts.js';
import { loadConfig } from '../../src/config.js';
import { currentDefinition, definitionFingerprint } from '../../src/deploy/api.js';
import { loadFunctionCode } from '../../src/deploy/code.js';
import { applyPlan, readAndPlan } from '../../src/deploy/deploy.js';
import { generateApiKeyValue, hashApiKey } from '../../src/lambda/api-keys.js';
import {
  ACCOUNT,
  invokeAnswer,
  OTHER_VPC_SUBNET,
  PRIVATE_SUBNETS,
  PUBLIC_SUBNET,
  RDS_SG,
  REGION,
  VPC,
} from '../support/fake-account.js';
import { BASE_CONFIG, createWorld, DB_PASSWORD, type World } from './harness.js';

let world: World;
beforeEach(async () => {
  world = await createWorld();
});
afterEach(() => world.close());

const deploy = (...extra: string[]) => world.run(['deploy', '--yes', '--zip', world.zipPath, ...extra]);
const inputsOf = (command: string) =>
  world.fake.calls.filter((c) => c.command === command).map((c) => c.input);
const mutating = () => world.fake.commandNames(world.fake.mutatingCalls());
const variablesOf = (input: Record<string, unknown> | undefined) =>
  (input?.Environment as { Variables: Record<string, string> } | undefined)?.Variables;

/** The description deploy gives a deployment: the fingerprint of the definition it froze (src/deploy/api.ts). */
const DEPLOYED_DEFINITION = /^chatbot-ops deploy \(definition [0-9a-f]{16}\)$/;

describe('deploy on a fresh account', () => {
  it('creates every resource in the guide order, with the exact inputs', async () => {
    const r = await deploy();

    expect(r.code).toBe(0);
    expect(mutating()).toEqual([
      'IAM.CreateRole',
      'IAM.AttachRolePolicy',
      'IAM.PutRolePolicy',
      'EC2.CreateSecurityGroup',
      'EC2.RevokeSecurityGroupEgress',
      'EC2.AuthorizeSecurityGroupEgress',
      'EC2.AuthorizeSecurityGroupIngress',
      'CloudWatchLogs.CreateLogGroup',
      'CloudWatchLogs.PutRetentionPolicy',
      'Lambda.CreateFunction',
      'APIGateway.CreateRestApi',
      'APIGateway.CreateResource',
      'APIGateway.PutMethod',
      'APIGateway.PutIntegration',
      'Lambda.AddPermission',
      'APIGateway.CreateDeployment',
      'APIGateway.TagResource',
      'APIGateway.CreateApiKey',
      'APIGateway.CreateUsagePlan',
      'APIGateway.CreateUsagePlanKey',
      'CloudWatch.PutMetricAlarm',
      'CloudWatch.PutMetricAlarm',
      'CloudWatch.PutMetricAlarm',
    ]);
    const [role] = inputsOf('CreateRole');
    expect(JSON.parse(String(role?.AssumeRolePolicyDocument))).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
      ],
    });
    // Every resource that takes tags gets the config's and the owner tags (which deployment made it).
    const tagList = [
      { Key: 'managed-by', Value: 'chatbot-ops' },
      { Key: 'chatbot-ops:function', Value: 'chatbot-backend' },
      { Key: 'chatbot-ops:api', Value: 'chatbot-api' },
    ];
    expect(role?.Tags).toEqual(tagList);
    expect(inputsOf('CreateSecurityGroup')[0]?.TagSpecifications).toEqual([
      { ResourceType: 'security-group', Tags: tagList },
    ]);
    expect(inputsOf('AttachRolePolicy')).toEqual([
      {
        RoleName: 'ChatbotLambdaRole',
        PolicyArn: 'arn:aws:iam::aws:policy/service-role/AWSLambdaENIManagementAccess',
      },
    ]);
    const [logsPolicy] = inputsOf('PutRolePolicy');
    expect(logsPolicy?.PolicyName).toBe('CloudWatchLogsPolicy');
    expect(JSON.parse(String(logsPolicy?.PolicyDocument)).Statement[0].Resource).toBe(
      `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/chatbot-backend:*`,
    );

    const sgId = String(
      world.fake.calls.find((c) => c.command === 'CreateSecurityGroup') &&
        [...world.fake.groups.keys()].find((k) => k !== RDS_SG),
    );
    expect(inputsOf('CreateSecurityGroup')[0]).toMatchObject({ VpcId: VPC, GroupName: 'lambda-chatbot-sg' });
    expect(inputsOf('RevokeSecurityGroupEgress')).toEqual([
      { GroupId: sgId, IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] },
    ]);
    expect(inputsOf('AuthorizeSecurityGroupEgress')).toEqual([
      {
        GroupId: sgId,
        IpPermissions: [
          {
            IpProtocol: 'tcp',
            FromPort: 3306,
            ToPort: 3306,
            UserIdGroupPairs: [{ GroupId: RDS_SG, Description: 'chatbot Lambda to its database' }],
          },
        ],
      },
    ]);
    expect(inputsOf('AuthorizeSecurityGroupIngress')).toEqual([
      {
        GroupId: RDS_SG,
        IpPermissions: [
          {
            IpProtocol: 'tcp',
            FromPort: 3306,
            ToPort: 3306,
            UserIdGroupPairs: [{ GroupId: sgId, Description: 'chatbot Lambda (chatbot-ops)' }],
          },
        ],
      },
    ]);

    const keyValue = String(inputsOf('CreateApiKey')[0]?.value);
    expect(keyValue.length).toBeGreaterThanOrEqual(30);
    const [fn] = inputsOf('CreateFunction');
    expect(fn).toMatchObject({
      FunctionName: 'chatbot-backend',
      Runtime: 'nodejs22.x',
      Handler: 'lambda_function.lambda_handler',
      Role: `arn:aws:iam::${ACCOUNT}:role/ChatbotLambdaRole`,
      MemorySize: 256,
      Timeout: 30,
      Architectures: ['x86_64'],
      VpcConfig: { SubnetIds: [...PRIVATE_SUBNETS].sort(), SecurityGroupIds: [sgId] },
    });
    expect(variablesOf(fn)).toEqual({
      DB_HOST: BASE_CONFIG.database.host,
      DB_PORT: '3306',
      DB_NAME: 'chatbot_db',
      DB_USER: 'app_user',
      DB_PASSWORD,
      API_KEYS: hashApiKey(keyValue),
      MAX_PAYLOAD_SIZE: '1048576',
      MAX_QUERY_LIMIT: '1000',
      QUERY_TIMEOUT_MS: '25000',
      LOG_LEVEL: 'INFO',
    });
    expect(inputsOf('PutRetentionPolicy')).toEqual([
      { logGroupName: '/aws/lambda/chatbot-backend', retentionInDays: 30 },
    ]);

    const apiId = [...world.fake.apis.keys()][0];
    expect(inputsOf('CreateRestApi')[0]).toMatchObject({
      name: 'chatbot-api',
      endpointConfiguration: { types: ['REGIONAL'] },
    });
    expect(inputsOf('PutMethod')[0]).toMatchObject({
      httpMethod: 'POST',
      authorizationType: 'NONE',
      apiKeyRequired: true,
    });
    expect(inputsOf('PutIntegration')[0]).toMatchObject({
      type: 'AWS_PROXY',
      integrationHttpMethod: 'POST',
      uri: `arn:aws:apigateway:${REGION}:lambda:path/2015-03-31/functions/arn:aws:lambda:${REGION}:${ACCOUNT}:function:chatbot-backend/invocations`,
    });
    expect(inputsOf('AddPermission')).toEqual([
      {
        FunctionName: 'chatbot-backend',
        StatementId: 'chatbot-ops-apigateway-invoke',
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
        SourceArn: `arn:aws:execute-api:${REGION}:${ACCOUNT}:${apiId}/*/POST/chatbot`,
      },
    ]);
    // The deployment records the definition it froze, so a later run (or doctor) knows what the stage serves.
    const route = currentDefinition(
      await listResources(createAwsClients({ region: REGION }).apigateway, apiId ?? ''),
      'chatbot',
    );
    const fingerprint = route && definitionFingerprint(route);
    expect(inputsOf('CreateDeployment')).toEqual([
      { restApiId: apiId, stageName: 'prod', description: `chatbot-ops deploy (definition ${fingerprint})` },
    ]);
    const ownerTags = {
      'managed-by': 'chatbot-ops',
      'chatbot-ops:function': 'chatbot-backend',
      'chatbot-ops:api': 'chatbot-api',
    };
    expect(inputsOf('TagResource')).toEqual([
      { resourceArn: `arn:aws:apigateway:${REGION}::/restapis/${apiId}/stages/prod`, tags: ownerTags },
    ]);
    expect(inputsOf('CreateUsagePlan')[0]).toMatchObject({
      name: 'chatbot-usage-plan',
      throttle: { rateLimit: 100, burstLimit: 200 },
      quota: { limit: 100000, period: 'MONTH' },
      apiStages: [{ apiId, stage: 'prod' }],
    });
    expect(
      inputsOf('PutMetricAlarm').map((a) => [
        a.AlarmName,
        a.MetricName,
        a.Threshold,
        a.Period,
        a.TreatMissingData,
        a.Dimensions,
      ]),
    ).toEqual([
      [
        'chatbot-backend-errors',
        'Errors',
        10,
        300,
        'notBreaching',
        [{ Name: 'FunctionName', Value: 'chatbot-backend' }],
      ],
      [
        'chatbot-api-prod-4xx',
        '4XXError',
        50,
        300,
        'notBreaching',
        [
          { Name: 'ApiName', Value: 'chatbot-api' },
          { Name: 'Stage', Value: 'prod' },
        ],
      ],
      [
        'chatbot-api-prod-5xx',
        '5XXError',
        0,
        300,
        'notBreaching',
        [
          { Name: 'ApiName', Value: 'chatbot-api' },
          { Name: 'Stage', Value: 'prod' },
        ],
      ],
    ]);
    for (const alarm of inputsOf('PutMetricAlarm'))
      expect(alarm.Tags).toEqual(Object.entries(ownerTags).map(([Key, Value]) => ({ Key, Value })));
    expect(r.out).toContain('        watches: AWS/ApiGateway 5XXError ApiName=chatbot-api Stage=prod');
    expect(r.out).toContain(`Invoke URL: ${world.endpoint}/restapis/${apiId}/prod/_user_request_/chatbot`);
    expect(r.err.some((l) => l.startsWith('✔ Smoke test passed'))).toBe(true);
  });

  it('a function that echoes its event and an HTML error page: the smoke test says so, in one line each', async () => {
    world.fake.directAnswers.health = invokeAnswer({ intent: 'health' });
    world.fake.httpAnswers.withKey = {
      status: 502,
      body: '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>',
    };

    const r = await deploy();

    // Neither answer came from the backend's code, as when an emulator runs none: not a failed check.
    expect(r.code).toBe(0);
    const line = r.err.find((l) => l.includes('Smoke test could not reach the backend')) ?? '';
    expect(line).toContain(
      `direct: the answer is not the backend's ({"intent":"health"}): the code did not run`,
    );
    expect(line).toContain('API: HTTP 502 with an HTML page, not an answer of API Gateway or the backend');
    expect(r.text).not.toContain('<!DOCTYPE');
    expect(r.text).not.toContain('undefined');
  });
});

describe('deploy when everything is in place', () => {
  it.each([
    ['AWS', false],
    ['an AWS API emulator, whose GetDeployment has no API summary', true],
  ])(
    'makes no mutating call and fewer than 30 calls in all, as %s answers',
    async (_shape, omitApiSummary) => {
      world.fake.options.omitApiSummary = omitApiSummary;
      await deploy();
      world.fake.clearCalls();

      const r = await deploy();

      expect(r.code).toBe(0);
      expect(mutating()).toEqual([]);
      expect(world.fake.calls.length).toBeLessThan(30);
      expect(r.text).toMatch(/0 to create, 0 to change, 19 unchanged/);
      // The shape really was the one named: the summary was asked for and given, or asked for and left out.
      const asked = world.fake.calls.find((c) => c.command === 'GetDeployment');
      expect(asked?.input).toMatchObject({ embed: ['apisummary'] });
    },
  );

  it('an emulator deployment made by hand (no fingerprint, no API summary) is not redeployed: unknown is not drift', async () => {
    world.fake.options.omitApiSummary = true;
    await deploy();
    const api = [...world.fake.apis.values()][0];
    world.fake.deploymentDescriptions.set(api?.stages.get('prod') ?? '', 'deployed by hand');
    world.fake.clearCalls();

    const r = await deploy();

    expect(r.code).toBe(0);
    expect(mutating()).toEqual([]);
  });

  it.each([
    ['AWS', false],
    ['an emulator', true],
  ])(
    'on %s, a stage serving a deployment made from another definition is redeployed, and status says so',
    async (_shape, omitApiSummary) => {
      world.fake.options.omitApiSummary = omitApiSummary;
      await deploy();
      const api = [...world.fake.apis.values()][0];
      world.fake.deploymentDescriptions.set(
        api?.stages.get('prod') ?? '',
        'chatbot-ops deploy (definition 0123456789abcdef)',
      );

      const status = await world.run(['status', '--zip', world.zipPath]);
      world.fake.clearCalls();
      const r = await deploy();

      expect(status.text).toMatch(/drifted\s+stage prod/);
      expect(status.text).toMatch(/definition: "0123456789abcdef" \(config: "[0-9a-f]{16}"\)/);
      expect(r.code).toBe(0);
      expect(mutating()).toEqual(['APIGateway.CreateDeployment']);
    },
  );

  it('does not ask for confirmation when nothing would change', async () => {
    await deploy();

    const r = await world.run(['deploy', '--zip', world.zipPath]);

    expect(r.code).toBe(0);
  });
});

describe('deploy after one setting changed', () => {
  it.each([
    {
      what: 'memory',
      change: () => world.writeConfig({ ...BASE_CONFIG, function: { memory: 512 } }),
      expected: [
        ['Lambda.UpdateFunctionConfiguration', { FunctionName: 'chatbot-backend', MemorySize: 512 }],
      ],
    },
    {
      what: 'a new code hash',
      change: () => world.writeZip('code v2'),
      expected: [
        ['Lambda.UpdateFunctionCode', { FunctionName: 'chatbot-backend', Architectures: ['x86_64'] }],
      ],
    },
    {
      what: 'a throttle value',
      change: () => world.writeConfig({ ...BASE_CONFIG, usagePlan: { rateLimit: 50 } }),
      expected: [
        [
          'APIGateway.UpdateUsagePlan',
          { patchOperations: [{ op: 'replace', path: '/throttle/rateLimit', value: '50' }] },
        ],
      ],
    },
  ])('$what: only that update', async ({ change, expected }) => {
    await deploy();
    change();
    world.fake.clearCalls();

    const r = await deploy();

    expect(r.code).toBe(0);
    const calls = world.fake.mutatingCalls();
    expect(calls.map((c) => `${c.service}.${c.command}`)).toEqual(expected.map((e) => e[0]));
    expect(calls[0]?.input).toMatchObject(expected[0]?.[1] as object);
  });

  it('changes the environment when the password variable changes, without showing either value', async () => {
    await deploy();
    world.fake.clearCalls();
    vi.stubEnv('CHATBOT_TEST_DB_PASSWORD', 'another-secret-value');

    const r = await deploy();

    expect(mutating()).toEqual(['Lambda.UpdateFunctionConfiguration']);
    const vars = variablesOf(inputsOf('UpdateFunctionConfiguration')[0]);
    expect(vars?.DB_PASSWORD).toBe('another-secret-value');
    expect(r.text).toMatch(/environment\.DB_PASSWORD: \(hidden\) → \(hidden\)/);
    expect(r.text).not.toContain('another-secret-value');
    expect(r.text).not.toContain(DB_PASSWORD);
  });
});

describe('waiting on AWS', () => {
  it('retries creation while the new role cannot be assumed yet, then succeeds', async () => {
    world.fake.rolePropagation.set('ChatbotLambdaRole', 2);

    const r = await deploy();

    expect(r.code).toBe(0);
    expect(inputsOf('CreateFunction')).toHaveLength(3);
    expect(world.fake.functions.size).toBe(1);
    expect(world.clock.slept).toBeGreaterThan(0);
  });

  it('retries creation while the new network-interface policy reaches Lambda, then succeeds', async () => {
    world.fake.networkPermissionPropagation.set('ChatbotLambdaRole', 2);

    const r = await deploy();

    expect(r.code).toBe(0);
    expect(inputsOf('CreateFunction')).toHaveLength(3);
    expect(world.fake.functions.size).toBe(1);
  });

  it("tells the step's spinner what it waits for, attempt by attempt", async () => {
    world.fake.rolePropagation.set('ChatbotLambdaRole', 2);
    world.fake.networkPermissionPropagation.set('ChatbotLambdaRole', 1);
    const aws = createAwsClients({ region: REGION });
    const session = await resolveAwsSession(aws);
    const { config } = loadConfig(world.configPath);
    const inputs = {
      config,
      code: await loadFunctionCode(world.zipPath),
      dbPassword: DB_PASSWORD,
      newKeyValue: generateApiKeyValue(),
    };
    const plan = await readAndPlan({ aws, session }, inputs, ['role', 'network', 'function']);
    const progress: string[] = [];

    await applyPlan(aws, session, world.timing, inputs, plan, {
      onStep: (step) => ({
        progress: (text) => progress.push(`${step.command}: ${text}`),
        done: () => undefined,
      }),
    });

    expect(progress.filter((p) => /role/.test(p))).toEqual([
      expect.stringMatching(
        /^create-function: waiting for the new role to be usable by Lambda \(attempt 2, \d+ s\)$/,
      ),
      expect.stringMatching(
        /^create-function: waiting for the new role to be usable by Lambda \(attempt 3, \d+ s\)$/,
      ),
      expect.stringMatching(
        /^create-function: waiting for the role's network-interface permissions to reach Lambda \(attempt 4, \d+ s\)$/,
      ),
    ]);
    expect(world.fake.functions.size).toBe(1);
  });

  it('gives up after about two minutes with a message about the role', async () => {
    world.fake.rolePropagation.set('ChatbotLambdaRole', 1000);

    const r = await deploy();

    expect(r.code).toBe(1);
    expect(r.text).toMatch(/step "create-function".*Lambda still cannot assume the role/);
    expect(world.clock.slept).toBeGreaterThanOrEqual(120_000);
    expect(world.clock.slept).toBeLessThan(200_000);
  });

  it('waits while the function is Pending or updating before each next change', async () => {
    world.close();
    world = await createWorld({ pollsUntilReady: 2 });
    await deploy();
    world.writeConfig({ ...BASE_CONFIG, function: { memory: 1024, timeout: 40 } });
    world.writeZip('code v3');
    world.fake.clearCalls();

    const r = await deploy();

    // The fake refuses an update while one is in progress (ResourceConflictException), as Lambda does.
    expect(r.code).toBe(0);
    expect(mutating()).toEqual(['Lambda.UpdateFunctionConfiguration', 'Lambda.UpdateFunctionCode']);
    const fn = world.fake.functions.get('chatbot-backend')?.config;
    expect([fn?.MemorySize, fn?.Timeout, fn?.LastUpdateStatus]).toEqual([1024, 40, 'Successful']);
    expect(inputsOf('GetFunction').length).toBeGreaterThanOrEqual(4);
  });

  it('retries an update refused with ResourceConflictException', async () => {
    await deploy();
    world.writeConfig({ ...BASE_CONFIG, function: { memory: 512 } });
    world.fake.failOnce(
      'UpdateFunctionConfiguration',
      new lambda.ResourceConflictException({ message: 'An update is in progress', $metadata: {} }),
    );
    world.fake.clearCalls();

    const r = await deploy();

    expect(r.code).toBe(0);
    expect(inputsOf('UpdateFunctionConfiguration')).toHaveLength(2);
    expect(world.fake.functions.get('chatbot-backend')?.config.MemorySize).toBe(512);
  });
});

describe('a step that fails, then a re-run', () => {
  const steps: [string, string][] = [
    ['CreateRole', 'create-role'],
    ['AttachRolePolicy', 'create-role'],
    ['PutRolePolicy', 'create-role'],
    ['CreateSecurityGroup', 'configure-vpc'],
    ['RevokeSecurityGroupEgress', 'configure-vpc'],
    ['AuthorizeSecurityGroupEgress', 'configure-vpc'],
    ['AuthorizeSecurityGroupIngress', 'configure-vpc'],
    ['CreateLogGroup', 'create-function'],
    ['PutRetentionPolicy', 'create-function'],
    ['CreateFunction', 'create-function'],
    ['CreateRestApi', 'create-api'],
    ['CreateResource', 'create-api'],
    ['PutMethod', 'create-api'],
    ['PutIntegration', 'create-api'],
    ['AddPermission', 'create-api'],
    ['CreateDeployment', 'create-api'],
    ['TagResource', 'create-api'],
    ['CreateApiKey', 'create-usage-plan'],
    ['CreateUsagePlan', 'create-usage-plan'],
    ['CreateUsagePlanKey', 'create-usage-plan'],
    ['PutMetricAlarm', 'alarms'],
  ];
  it.each(steps)(
    '%s fails once: the error names step %s, the re-run completes and creates nothing twice',
    async (command, step) => {
      world.fake.failOnce(command);

      const first = await deploy();
      const second = await deploy();

      expect(first.code).toBe(1);
      expect(first.text).toContain(`step "${step}"`);
      expect(first.text).toMatch(/re-run/);
      expect(second.code).toBe(0);
      const f = world.fake;
      expect([
        f.roles.size,
        f.groups.size,
        f.functions.size,
        f.logGroups.size,
        f.apis.size,
        f.apiKeys.size,
        f.usagePlans.size,
        f.alarms.size,
      ]).toEqual([1, 2, 1, 1, 1, 1, 1, 3]);
      const api = [...f.apis.values()][0];
      expect(api?.resources.size).toBe(2);
      expect(f.roles.get('ChatbotLambdaRole')?.attached).toHaveLength(1);
      expect(f.groups.get(RDS_SG)?.IpPermissions).toHaveLength(1);
      // Every create-like call but the injected failure happened once.
      for (const c of [
        'CreateRole',
        'CreateSecurityGroup',
        'CreateFunction',
        'CreateRestApi',
        'CreateResource',
        'CreateApiKey',
        'CreateUsagePlan',
      ]) {
        expect(inputsOf(c).length, c).toBe(c === command ? 2 : 1);
      }
      // A third run finds nothing to do.
      world.fake.clearCalls();
      await deploy();
      expect(mutating()).toEqual([]);
    },
  );
});

describe('an update that fails, then a re-run', () => {
  const postMethod = () => {
    const api = [...world.fake.apis.values()][0];
    return [...(api?.resources.values() ?? [])].find((r) => r.path === '/chatbot')?.methods.POST;
  };
  const cases: { command: string; step: string; drift: () => void; rerun: string[] }[] = [
    {
      command: 'UpdateAssumeRolePolicy',
      step: 'create-role',
      drift: () => {
        const role = world.fake.roles.get('ChatbotLambdaRole');
        if (role) role.trust = JSON.stringify({ Version: '2012-10-17', Statement: [] });
      },
      rerun: ['IAM.UpdateAssumeRolePolicy'],
    },
    {
      command: 'TagRole',
      step: 'create-role',
      drift: () => {
        const role = world.fake.roles.get('ChatbotLambdaRole');
        if (role) role.tags = {};
      },
      rerun: ['IAM.TagRole'],
    },
    {
      command: 'UpdateFunctionConfiguration',
      step: 'create-function',
      drift: () => world.writeConfig({ ...BASE_CONFIG, function: { memory: 512 } }),
      rerun: ['Lambda.UpdateFunctionConfiguration'],
    },
    {
      command: 'UpdateFunctionCode',
      step: 'create-function',
      drift: () => world.writeZip('code v2'),
      rerun: ['Lambda.UpdateFunctionCode'],
    },
    {
      command: 'PutRetentionPolicy',
      step: 'create-function',
      drift: () => world.fake.logGroups.set('/aws/lambda/chatbot-backend', { retentionInDays: 1 }),
      rerun: ['CloudWatchLogs.PutRetentionPolicy'],
    },
    {
      command: 'UpdateMethod',
      step: 'create-api',
      drift: () => {
        const post = postMethod();
        if (post) post.apiKeyRequired = false;
      },
      rerun: ['APIGateway.UpdateMethod', 'APIGateway.CreateDeployment'],
    },
    {
      command: 'PutIntegration',
      step: 'create-api',
      drift: () => {
        const post = postMethod();
        if (post) post.methodIntegration = { ...post.methodIntegration, uri: 'arn:aws:lambda:other' };
      },
      rerun: ['APIGateway.PutIntegration', 'APIGateway.CreateDeployment'],
    },
    {
      command: 'UpdateUsagePlan',
      step: 'create-usage-plan',
      drift: () => world.writeConfig({ ...BASE_CONFIG, usagePlan: { burstLimit: 150 } }),
      rerun: ['APIGateway.UpdateUsagePlan'],
    },
    {
      command: 'PutMetricAlarm',
      step: 'alarms',
      drift: () => {
        const alarm = world.fake.alarms.get('chatbot-backend-errors');
        if (alarm) alarm.Threshold = 99;
      },
      rerun: ['CloudWatch.PutMetricAlarm'],
    },
  ];
  it.each(cases)(
    '$command fails once: the error names step $step, the re-run makes only that change',
    async ({ command, step, drift, rerun }) => {
      await deploy();
      drift();
      world.fake.failOnce(command);
      world.fake.clearCalls();

      const first = await deploy();
      world.fake.clearCalls();
      const second = await deploy();
      const afterSecond = mutating();
      world.fake.clearCalls();
      await deploy();

      expect(first.code).toBe(1);
      expect(first.text).toContain(`step "${step}"`);
      expect(first.text).toContain(`${command} failed (injected)`);
      expect(second.code).toBe(0);
      expect(afterSecond).toEqual(rerun);
      expect(mutating()).toEqual([]);
    },
  );

  it('a stage deployment that fails after a method change: the re-run deploys the stage', async () => {
    await deploy();
    const api = [...world.fake.apis.values()][0];
    const post = postMethod();
    // The key requirement was switched off and deployed: the live API is open.
    if (post) post.apiKeyRequired = false;
    world.fake.deployments.set('dep-open', {
      '/chatbot': { POST: { apiKeyRequired: false, authorizationType: 'NONE' } },
    });
    api?.stages.set('prod', 'dep-open');
    world.fake.failOnce('CreateDeployment');

    const first = await deploy();
    world.fake.clearCalls();
    const second = await deploy();

    expect(first.code).toBe(1);
    expect(first.text).toContain('step "create-api"');
    expect(post?.apiKeyRequired).toBe(true);
    // The API is right now, but the stage still serves the open deployment: its summary says so.
    expect(second.code).toBe(0);
    expect(second.text).toMatch(/serves POST \/chatbot apiKeyRequired: false → true/);
    expect(mutating()).toEqual(['APIGateway.CreateDeployment']);
    const live = world.fake.deployments.get(api?.stages.get('prod') ?? '');
    expect(live?.['/chatbot']?.POST?.apiKeyRequired).toBe(true);
  });
});

describe('the live stage', () => {
  it('a stage deployed while the key was not required is redeployed, and status calls it drifted', async () => {
    await deploy();
    const api = [...world.fake.apis.values()][0];
    const post = [...(api?.resources.values() ?? [])].find((r) => r.path === '/chatbot')?.methods.POST;
    // Someone switched the key off and deployed, then switched it back on without deploying.
    if (post) post.apiKeyRequired = false;
    const id = `dep-open`;
    world.fake.deployments.set(id, {
      '/chatbot': { POST: { apiKeyRequired: false, authorizationType: 'NONE' } },
    });
    api?.stages.set('prod', id);
    if (post) post.apiKeyRequired = true;

    const status = await world.run(['status', '--zip', world.zipPath]);
    world.fake.clearCalls();
    const r = await deploy();

    expect(status.text).toMatch(/drifted\s+stage prod/);
    expect(status.text).toMatch(/serves POST \/chatbot apiKeyRequired: false \(config: true\)/);
    expect(r.code).toBe(0);
    expect(mutating()).toEqual(['APIGateway.CreateDeployment']);
    const live = world.fake.deployments.get(api?.stages.get('prod') ?? '');
    expect(live?.['/chatbot']?.POST?.apiKeyRequired).toBe(true);
  });
});

describe("API Gateway's per-account limits on deploy", () => {
  it('UpdateUsagePlan and CreateDeployment refused as too many requests are retried after the wait asked', async () => {
    await deploy();
    world.writeConfig({ ...BASE_CONFIG, usagePlan: { rateLimit: 50 } });
    const tooMany = () =>
      new apigw.TooManyRequestsException({
        message: 'Too Many Requests',
        $metadata: {},
        retryAfterSeconds: '20',
      });
    world.fake.failOnce('UpdateUsagePlan', tooMany());
    world.fake.failOnce('UpdateUsagePlan', tooMany());
    world.fake.failOnce('CreateDeployment', tooMany());
    world.fake.clearCalls();
    const slept = world.clock.slept;

    const r = await deploy('--redeploy');

    expect(r.code).toBe(0);
    expect(inputsOf('UpdateUsagePlan')).toHaveLength(3);
    expect(inputsOf('CreateDeployment')).toHaveLength(2);
    expect([...world.fake.usagePlans.values()][0]?.throttle.rateLimit).toBe(50);
    expect(world.clock.slept - slept).toBeGreaterThanOrEqual(60_000);
  });
});

describe('usage plan read back', () => {
  it('fails, naming the field, when API Gateway did not keep a throttle setting', async () => {
    world.fake.accountThrottleLimit = { rateLimit: 10_000, burstLimit: 150 };

    const r = await deploy();

    expect(r.code).toBe(1);
    expect(r.text).toContain('step "create-usage-plan"');
    expect(r.text).toMatch(
      /API Gateway did not keep the usage plan settings: throttle\.burstLimit is 150, wanted 200/,
    );
    expect(r.text).toMatch(/lower usagePlan\.rateLimit\/burstLimit or request a quota increase/);
  });

  it('checks again after an update, and passes once the config asks for what AWS allows', async () => {
    await deploy();
    world.fake.accountThrottleLimit = { rateLimit: 120, burstLimit: 10_000 };
    world.writeConfig({ ...BASE_CONFIG, usagePlan: { rateLimit: 150 } });

    const refused = await deploy();
    world.writeConfig({ ...BASE_CONFIG, usagePlan: { rateLimit: 120 } });
    world.fake.clearCalls();
    const accepted = await deploy();

    expect(refused.code).toBe(1);
    expect(refused.text).toMatch(/throttle\.rateLimit is 120, wanted 150/);
    expect(accepted.code).toBe(0);
    expect(mutating()).toEqual([]);
  });
});

describe('the subnets, through deploy', () => {
  it('subnets of another VPC: refused with their ids, before any change', async () => {
    world.writeConfig({
      ...BASE_CONFIG,
      vpc: { ...BASE_CONFIG.vpc, subnetIds: [PRIVATE_SUBNETS[0], OTHER_VPC_SUBNET] },
    });

    const r = await deploy();

    expect(r.code).not.toBe(0);
    expect(r.text).toContain(OTHER_VPC_SUBNET);
    expect(r.text).toContain(VPC);
    expect(mutating()).toEqual([]);
  });

  it('a public subnet and a single availability zone: deployed, with both warnings in text and --json', async () => {
    world.writeConfig({
      ...BASE_CONFIG,
      vpc: { ...BASE_CONFIG.vpc, subnetIds: [PRIVATE_SUBNETS[0], PUBLIC_SUBNET] },
    });

    const text = await world.run(['deploy', '--dry-run', '--zip', world.zipPath]);
    const json = await world.run(['deploy', '--yes', '--zip', world.zipPath], { json: true });

    expect(text.code).toBe(0);
    expect(text.err.join('\n')).toMatch(new RegExp(`${PUBLIC_SUBNET}.*(public|internet gateway)`, 'i'));
    expect(text.err.join('\n')).toMatch(/availability zone/i);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.out.join('\n')) as { warnings: string[]; applied: boolean };
    expect(doc.applied).toBe(true);
    expect(doc.warnings.some((w) => w.includes(PUBLIC_SUBNET))).toBe(true);
    expect(doc.warnings.some((w) => /availability zone/i.test(w))).toBe(true);
  });
});

describe('plan only and output rules', () => {
  it('--dry-run prints the plan and makes no mutating call', async () => {
    const r = await world.run(['deploy', '--dry-run', '--zip', world.zipPath], { json: true });

    expect(r.code).toBe(0);
    expect(mutating()).toEqual([]);
    const doc = JSON.parse(r.out.join('\n')) as { dryRun: boolean; plan: { action: string }[] };
    expect(doc.dryRun).toBe(true);
    expect(doc.plan.filter((i) => i.action === 'create')).toHaveLength(19);
  });

  it('--json without --yes is a usage error before any AWS call', async () => {
    const r = await world.run(['deploy', '--zip', world.zipPath], { json: true });

    expect(r.code).toBe(2);
    expect(world.fake.calls).toEqual([]);
  });

  it('asks before applying, and a "no" changes nothing', async () => {
    const prompt = { confirm: async () => false } as never;

    const r = await world.run(['deploy', '--zip', world.zipPath], { prompt });

    expect(r.code).toBe(1);
    expect(mutating()).toEqual([]);
  });

  it.each([
    ['text', false],
    ['--json', true],
  ])('never shows the database password or the API key (%s)', async (_name, json) => {
    const r = await world.run(['deploy', '--yes', '--zip', world.zipPath], { json });
    const keyValue = String(inputsOf('CreateApiKey')[0]?.value);
    const again = await world.run(['status', '--zip', world.zipPath], { json });

    expect(r.code).toBe(0);
    expect(keyValue.length).toBeGreaterThanOrEqual(30);
    for (const text of [r.text, again.text]) {
      expect(text).not.toContain(DB_PASSWORD);
      expect(text).not.toContain(keyValue);
    }
  });

  it.each([
    ['text', false],
    ['--json', true],
  ])('--dry-run never shows the database password, new or changed (%s)', async (_name, json) => {
    await deploy();
    vi.stubEnv('CHATBOT_TEST_DB_PASSWORD', 'a-changed-secret-value');

    const r = await world.run(['deploy', '--dry-run', '--zip', world.zipPath], { json });

    expect(r.code).toBe(0);
    expect(r.text).toMatch(/DB_PASSWORD/);
    expect(r.text).not.toContain('a-changed-secret-value');
    expect(r.text).not.toContain(DB_PASSWORD);
  });

  it('--show-key prints the key value, and only then', async () => {
    const r = await deploy('--show-key');

    const keyValue = String(inputsOf('CreateApiKey')[0]?.value);
    expect(r.out).toContain(`API key (chatbot-api-key): ${keyValue}`);
    expect(r.text).not.toContain(DB_PASSWORD);
  });

  it('--dry-run without the password shows the plan, then says deploy would stop for it (exit 2)', async () => {
    vi.stubEnv('CHATBOT_TEST_DB_PASSWORD', undefined);

    const r = await world.run(['deploy', '--dry-run', '--zip', world.zipPath]);

    expect(r.code).toBe(2);
    expect(r.out.join('\n')).toMatch(/\+ create {4}Lambda function chatbot-backend/);
    expect(r.text).toContain(
      'the database password is not set: CHATBOT_TEST_DB_PASSWORD is empty (the plan above compares everything else; `deploy` stops here)',
    );
    expect(mutating()).toEqual([]);
  });

  it('the plan shows where the database is (host, port, name), never the user or password', async () => {
    const r = await world.run(['deploy', '--dry-run', '--zip', world.zipPath]);

    expect(r.out).toContain(`        database: ${BASE_CONFIG.database.host}:3306/chatbot_db`);
  });

  it('--dry-run --show-key prints the current key and changes nothing; before a deploy, says there is none', async () => {
    const before = await world.run(['deploy', '--dry-run', '--show-key', '--zip', world.zipPath]);
    await deploy();
    const keyValue = String(inputsOf('CreateApiKey')[0]?.value);
    world.fake.clearCalls();

    const r = await world.run(['deploy', '--dry-run', '--show-key', '--zip', world.zipPath]);

    expect(before.out.join('\n')).toContain('No API key named chatbot-api-key is on the usage plan yet');
    expect(r.code).toBe(0);
    expect(r.out.join('\n')).toContain(`: ${keyValue}`);
    expect(mutating()).toEqual([]);
  });

  it('stops with the missing password variable named, before any change', async () => {
    vi.stubEnv('CHATBOT_TEST_DB_PASSWORD', undefined);

    const r = await deploy();

    expect(r.code).toBe(2);
    expect(r.text).toMatch(/CHATBOT_TEST_DB_PASSWORD/);
    expect(mutating()).toEqual([]);
  });
});

describe('credentials and region', () => {
  it('no credentials: a clear error after the one STS call, nothing else', async () => {
    world.fake.failOnce(
      'GetCallerIdentity',
      Object.assign(new Error('Could not load credentials from any providers'), {
        name: 'CredentialsProviderError',
      }),
    );

    const r = await deploy();

    expect(r.code).toBe(1);
    expect(r.text).toMatch(/no usable AWS credentials/);
    expect(r.text).toMatch(/AWS_PROFILE|--profile/);
    expect(r.text).toMatch(/aws sso login/);
    expect(world.fake.commandNames()).toEqual(['STS.GetCallerIdentity']);
  });

  it('no region anywhere: a clear error before any call', async () => {
    const { region: _r, ...noRegion } = BASE_CONFIG;
    world.writeConfig(noRegion);
    for (const v of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE']) vi.stubEnv(v, undefined);
    vi.stubEnv('AWS_CONFIG_FILE', `${world.dir}/no-such-aws-config`);
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', `${world.dir}/no-such-aws-credentials`);

    const r = await deploy();

    expect(r.code).toBe(2);
    expect(r.text).toMatch(/no AWS region/);
    expect(r.text).toMatch(/--region/);
    expect(world.fake.calls).toEqual([]);
  });
});

describe('against an emulator', () => {
  it('AWS_ENDPOINT_URL alone: the invoke URL takes the emulator form and the smoke test reaches it', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL', world.endpoint);

    const r = await world.run(['deploy', '--yes', '--zip', world.zipPath], {
      global: ['--config', world.configPath],
    });

    expect(r.code).toBe(0);
    const apiId = [...world.fake.apis.keys()][0];
    expect(r.out).toContain(`Invoke URL: ${world.endpoint}/restapis/${apiId}/prod/_user_request_/chatbot`);
    expect(r.err.some((l) => l.startsWith('✔ Smoke test passed') && l.includes('API: HTTP 200'))).toBe(true);
  });

  it('--endpoint-url wins over AWS_ENDPOINT_URL for the invoke URL too', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL', 'http://127.0.0.1:9/unused');

    const r = await deploy();

    expect(r.code).toBe(0);
    expect(r.out.find((l) => l.startsWith('Invoke URL:'))).toMatch(
      new RegExp(`^Invoke URL: ${world.endpoint}/restapis/[^/]+/prod/_user_request_/chatbot$`),
    );
  });
});

describe('single steps', () => {
  it('create-function before the role exists says which command to run first', async () => {
    const r = await world.run(['create-function', '--yes', '--zip', world.zipPath]);

    expect(r.code).toBe(1);
    expect(r.text).toMatch(/IAM role ChatbotLambdaRole does not exist yet/);
    expect(r.text).toMatch(/chatbot-ops create-role/);
    expect(mutating()).toEqual([]);
  });

  it('the step commands one after the other build the same account as deploy', async () => {
    for (const cmd of ['create-role', 'configure-vpc'])
      expect((await world.run([cmd, '--yes'])).code).toBe(0);
    // The function's API_KEYS needs the key, the key's plan needs the API: the function is created
    // first with the keys that exist (none), and create-usage-plan is followed by a function update.
    expect((await world.run(['create-function', '--yes', '--zip', world.zipPath])).code).toBe(0);
    expect((await world.run(['create-api', '--yes'])).code).toBe(0);
    const keyStep = await world.run(['create-usage-plan', '--yes']);
    expect(keyStep.code).toBe(0);
    expect(keyStep.text).toMatch(/run `chatbot-ops create-function`/);
    expect(world.fake.functions.get('chatbot-backend')?.config.Environment.Variables.API_KEYS).toBe('');
    expect((await world.run(['alarms', '--yes'])).code).toBe(0);
    world.fake.clearCalls();

    const r = await deploy();

    expect(r.code).toBe(0);
    expect(mutating()).toEqual(['Lambda.UpdateFunctionConfiguration']);
    expect(r.text).toMatch(/environment\.API_KEYS/);
  });
});

describe('IAM documents', () => {
  it("moves a role off the guide's AWSLambdaVPCAccessExecutionRole: attaches the narrower policy first, then detaches", async () => {
    await deploy();
    const role = world.fake.roles.get('ChatbotLambdaRole');
    const guidePolicy = 'arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole';
    if (role) role.attached = [guidePolicy];
    world.fake.clearCalls();

    const r = await deploy();
    const calls = world.fake.mutatingCalls();
    world.fake.clearCalls();
    const again = await deploy();

    expect(r.code).toBe(0);
    expect(r.out.join('\n')).toContain(
      '  - delete    policy attachment AWSLambdaVPCAccessExecutionRole → ChatbotLambdaRole',
    );
    expect(calls.map((c) => [c.command, c.input])).toEqual([
      [
        'AttachRolePolicy',
        {
          RoleName: 'ChatbotLambdaRole',
          PolicyArn: 'arn:aws:iam::aws:policy/service-role/AWSLambdaENIManagementAccess',
        },
      ],
      ['DetachRolePolicy', { RoleName: 'ChatbotLambdaRole', PolicyArn: guidePolicy }],
    ]);
    expect(again.code).toBe(0);
    expect(mutating()).toEqual([]);
  });

  it('compares the role trust policy semantically (URL-encoded, string or list)', async () => {
    await deploy();
    // Same meaning, other spelling: lists instead of single values.
    const role = world.fake.roles.get('ChatbotLambdaRole');
    if (role)
      role.trust = JSON.stringify({
        Statement: [
          { Action: ['sts:AssumeRole'], Principal: { Service: ['lambda.amazonaws.com'] }, Effect: 'Allow' },
        ],
        Version: '2012-10-17',
      });
    world.fake.clearCalls();

    await deploy();

    expect(mutating()).toEqual([]);
  });

  it('puts the trust policy back when it was changed to something else', async () => {
    await deploy();
    const role = world.fake.roles.get('ChatbotLambdaRole');
    if (role)
      role.trust = JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
        ],
      });
    world.fake.clearCalls();

    await deploy();

    expect(mutating()).toEqual(['IAM.UpdateAssumeRolePolicy']);
  });
});

describe('the endpoint type', () => {
  it('EDGE after REGIONAL: planned as a change of the API, made in place, the stage redeployed, then ok', async () => {
    await deploy();
    world.writeConfig({ ...BASE_CONFIG, api: { endpointType: 'EDGE' } });
    world.fake.clearCalls();

    const dry = await world.run(['deploy', '--dry-run', '--zip', world.zipPath]);
    const status = await world.run(['status', '--zip', world.zipPath]);
    const r = await deploy();
    const calls = world.fake.mutatingCalls();
    world.fake.clearCalls();
    const after = await world.run(['status', '--zip', world.zipPath]);

    const apiId = [...world.fake.apis.keys()][0];
    expect(dry.out).toContain(`  ~ update    REST API chatbot-api (${apiId})`);
    expect(dry.out).toContain('        endpoint type: REGIONAL → EDGE');
    expect(status.code).toBe(1);
    expect(status.out.join('\n')).toMatch(/drifted\s+REST API chatbot-api/);
    expect(r.code).toBe(0);
    expect(calls.map((c) => [c.command, c.input])).toEqual([
      [
        'UpdateRestApi',
        {
          restApiId: apiId,
          patchOperations: [{ op: 'replace', path: '/endpointConfiguration/types/REGIONAL', value: 'EDGE' }],
        },
      ],
      [
        'CreateDeployment',
        { restApiId: apiId, stageName: 'prod', description: expect.stringMatching(DEPLOYED_DEFINITION) },
      ],
    ]);
    expect(world.fake.apis.get(apiId ?? '')?.types).toEqual(['EDGE']);
    expect(after.code).toBe(0);
  });

  it('an API someone made PRIVATE is refused with what to do, before any change', async () => {
    await deploy();
    const api = [...world.fake.apis.values()][0];
    if (api) api.types = ['PRIVATE'];
    world.fake.clearCalls();

    const r = await deploy();

    expect(r.code).toBe(1);
    expect(r.text).toContain(
      `the REST API chatbot-api (${api?.id}) is PRIVATE: chatbot-ops manages REGIONAL and EDGE APIs only`,
    );
    expect(r.text).toContain('Set api.name to a new name');
    expect(mutating()).toEqual([]);
  });

  it('PRIVATE in the config is refused as bad usage, naming what it would need', async () => {
    world.writeConfig({ ...BASE_CONFIG, api: { endpointType: 'PRIVATE' } });

    const r = await world.run(['deploy', '--dry-run', '--zip', world.zipPath]);

    expect(r.code).toBe(2);
    expect(r.text).toContain('execute-api VPC endpoint and a resource policy');
    expect(world.fake.calls).toEqual([]);
  });
});

describe('a dual-stack VPC', () => {
  it("the new group's IPv6 allow-all egress goes too: only MySQL to the RDS group is left", async () => {
    world.fake.dualStackVpcs.add(VPC);

    const r = await deploy();

    const sgId = [...world.fake.groups.keys()].find((k) => k !== RDS_SG) ?? '';
    expect(r.code).toBe(0);
    expect(inputsOf('RevokeSecurityGroupEgress')).toEqual([
      {
        GroupId: sgId,
        IpPermissions: [
          { IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
          { IpProtocol: '-1', Ipv6Ranges: [{ CidrIpv6: '::/0' }] },
        ],
      },
    ]);
    expect(world.fake.groups.get(sgId)?.IpPermissionsEgress).toEqual([
      { IpProtocol: 'tcp', FromPort: 3306, ToPort: 3306, UserIdGroupPairs: [{ GroupId: RDS_SG }] },
    ]);
  });
});

describe('a renamed stage, found by its tags', () => {
  it('the old stage and its alarms are planned for removal, removed, and the new ones made', async () => {
    await deploy();
    const apiId = [...world.fake.apis.keys()][0] ?? '';
    const planId = [...world.fake.usagePlans.keys()][0] ?? '';
    world.writeConfig({ ...BASE_CONFIG, api: { stage: 'v1' } });
    world.fake.clearCalls();

    const dry = await world.run(['deploy', '--dry-run', '--zip', world.zipPath]);
    const before = await world.run(['status', '--zip', world.zipPath]);
    const r = await deploy();
    const calls = world.fake.mutatingCalls().map((c) => [c.command, c.input]);
    world.fake.clearCalls();
    const after = await world.run(['status', '--zip', world.zipPath]);

    for (const line of [
      '  - delete    stage prod',
      '  - delete    alarm chatbot-api-prod-4xx',
      '  - delete    alarm chatbot-api-prod-5xx',
      '  + create    stage v1',
    ])
      expect(dry.out).toContain(line);
    expect(before.code).toBe(1);
    expect(before.out.join('\n')).toMatch(/extra\s+stage prod/);
    expect(r.code).toBe(0);
    expect(calls).toEqual([
      [
        'CreateDeployment',
        { restApiId: apiId, stageName: 'v1', description: expect.stringMatching(DEPLOYED_DEFINITION) },
      ],
      [
        'TagResource',
        {
          resourceArn: `arn:aws:apigateway:${REGION}::/restapis/${apiId}/stages/v1`,
          tags: {
            'managed-by': 'chatbot-ops',
            'chatbot-ops:function': 'chatbot-backend',
            'chatbot-ops:api': 'chatbot-api',
          },
        },
      ],
      [
        'UpdateUsagePlan',
        {
          usagePlanId: planId,
          patchOperations: [{ op: 'remove', path: '/apiStages', value: `${apiId}:prod` }],
        },
      ],
      ['DeleteStage', { restApiId: apiId, stageName: 'prod' }],
      [
        'UpdateUsagePlan',
        { usagePlanId: planId, patchOperations: [{ op: 'add', path: '/apiStages', value: `${apiId}:v1` }] },
      ],
      ['PutMetricAlarm', expect.objectContaining({ AlarmName: 'chatbot-api-v1-4xx' })],
      ['PutMetricAlarm', expect.objectContaining({ AlarmName: 'chatbot-api-v1-5xx' })],
      ['DeleteAlarms', { AlarmNames: ['chatbot-api-prod-4xx', 'chatbot-api-prod-5xx'] }],
    ]);
    expect([...(world.fake.apis.get(apiId)?.stages.keys() ?? [])]).toEqual(['v1']);
    expect(after.code).toBe(0);
  });

  it('a stage and alarms someone else made beside ours are left alone', async () => {
    await deploy();
    const api = [...world.fake.apis.values()][0];
    api?.stages.set('manual', api.stages.get('prod') ?? '');
    const theirs = { ...world.fake.alarms.get('chatbot-api-prod-4xx'), AlarmName: 'their-own-4xx' };
    world.fake.alarms.set('their-own-4xx', theirs);
    world.fake.clearCalls();

    const r = await deploy();

    expect(r.code).toBe(0);
    expect(mutating()).toEqual([]);
    expect([...(api?.stages.keys() ?? [])].sort()).toEqual(['manual', 'prod']);
  });

  it('alarms an earlier version made without tags get them, with no other change', async () => {
    await deploy();
    world.fake.alarmTags.clear();
    world.fake.clearCalls();

    const r = await deploy();

    expect(r.code).toBe(0);
    expect(mutating()).toEqual([
      'CloudWatch.TagResource',
      'CloudWatch.TagResource',
      'CloudWatch.TagResource',
    ]);
    expect(inputsOf('TagResource')[0]).toEqual({
      ResourceARN: `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:chatbot-backend-errors`,
      Tags: [
        { Key: 'managed-by', Value: 'chatbot-ops' },
        { Key: 'chatbot-ops:function', Value: 'chatbot-backend' },
        { Key: 'chatbot-ops:api', Value: 'chatbot-api' },
      ],
    });
  });
});

describe('stage deployments', () => {
  it('--redeploy deploys the stage even when nothing in the API changed', async () => {
    await deploy();
    world.fake.clearCalls();

    const r = await world.run(['create-api', '--yes', '--redeploy']);

    expect(r.code).toBe(0);
    expect(mutating()).toEqual(['APIGateway.CreateDeployment']);
  });

  it('re-enabling the API key requirement redeploys the stage', async () => {
    await deploy();
    const api = [...world.fake.apis.values()][0];
    const post = [...(api?.resources.values() ?? [])].find((r) => r.path === '/chatbot')?.methods.POST;
    if (post) post.apiKeyRequired = false;
    world.fake.clearCalls();

    await deploy();

    expect(mutating()).toEqual(['APIGateway.UpdateMethod', 'APIGateway.CreateDeployment']);
    expect(post?.apiKeyRequired).toBe(true);
  });
});
