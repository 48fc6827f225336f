/** The pure planning functions, without mocks: what each step would change, given what AWS has. */
import { describe, expect, it } from 'vitest';
import type { ResourceInfo } from '../../src/aws/apigateway.js';
import type { AwsSession } from '../../src/aws/sts.js';
import { defaultConfig } from '../../src/config.js';
import { alarmChanges, desiredAlarms, planAlarms } from '../../src/deploy/alarms.js';
import {
  currentDefinition,
  definitionFingerprint,
  deploymentDescription,
  desiredApi,
  desiredDefinition,
  fingerprintIn,
  planApi,
} from '../../src/deploy/api.js';
import {
  acceptedKeyValues,
  desiredFunction,
  environmentChanges,
  planFunction,
} from '../../src/deploy/function.js';
import { checkNetwork, desiredNetwork, egressDelta, planNetwork } from '../../src/deploy/network.js';
import { formatPlan, pending, summarizePlan } from '../../src/deploy/plan.js';
import { desiredRole, planRole } from '../../src/deploy/role.js';
import { desiredUsagePlan, planUsagePlan } from '../../src/deploy/usage-plan.js';
import { generateApiKeyValue, hashApiKey } from '../../src/lambda/api-keys.js';
import { environmentFor as functionEnvironment } from '../../src/lambda/settings.js';

const session: AwsSession = {
  region: 'eu-west-1',
  account: '111122223333',
  partition: 'aws',
  callerArn: 'arn:aws:iam::111122223333:user/x',
};
const cnSession: AwsSession = {
  region: 'cn-north-1',
  account: '111122223333',
  partition: 'aws-cn',
  callerArn: 'arn:aws-cn:iam::111122223333:user/x',
};

function config(patch: (c: ReturnType<typeof defaultConfig>) => void = () => {}) {
  const c = defaultConfig();
  c.vpc = { ...c.vpc, vpcId: 'vpc-1', subnetIds: ['subnet-b', 'subnet-a'], rdsSecurityGroupId: 'sg-rds' };
  c.database.host = 'db.internal';
  patch(c);
  return c;
}

describe('role', () => {
  it('takes partition, region and account from the session for every ARN', () => {
    const d = desiredRole(config(), cnSession);

    expect(d.arn).toBe('arn:aws-cn:iam::111122223333:role/ChatbotLambdaRole');
    expect(d.managedPolicyArns).toEqual([
      'arn:aws-cn:iam::aws:policy/service-role/AWSLambdaENIManagementAccess',
    ]);
    expect(JSON.stringify(d.logsPolicy)).toContain(
      'arn:aws-cn:logs:cn-north-1:111122223333:log-group:/aws/lambda/chatbot-backend:*',
    );
  });

  it('adds the secret read policy only when a secret is configured, and removes it when it no longer is', () => {
    const withSecret = desiredRole(
      config((c) => (c.database.secretArn = 'arn:aws:secretsmanager:eu-west-1:1:secret:db')),
      session,
    );
    const without = desiredRole(config(), session);
    const current = {
      role: {
        name: 'ChatbotLambdaRole',
        arn: without.arn,
        trustPolicy: without.trustPolicy,
        tags: without.tags,
      },
      managedPolicyArns: without.managedPolicyArns,
      logsPolicy: without.logsPolicy,
      secretPolicy: withSecret.secretPolicy,
    };

    expect(JSON.stringify(withSecret.secretPolicy)).toContain(
      '"Resource":"arn:aws:secretsmanager:eu-west-1:1:secret:db"',
    );
    expect(planRole(current, without).filter((i) => i.action !== 'unchanged')).toEqual([
      {
        step: 'role',
        kind: 'inline policy',
        resource: 'SecretsManagerReadPolicy',
        action: 'delete',
        changes: [],
      },
    ]);
  });

  it('reports a missing tag and a different trust policy as updates of the role', () => {
    const d = desiredRole(config(), session);
    const current = {
      role: { name: d.name, arn: d.arn, trustPolicy: { Version: '2012-10-17', Statement: [] }, tags: {} },
      managedPolicyArns: d.managedPolicyArns,
      logsPolicy: d.logsPolicy,
      secretPolicy: undefined,
    };

    const [role] = planRole(current, d);

    expect(role?.action).toBe('update');
    expect(role?.changes.map((c) => c.field)).toEqual(['trust policy', 'tags']);
  });
});

describe('role policies', () => {
  const d = () => desiredRole(config(), session);
  const vpcAccess = 'arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole';
  const eni = 'arn:aws:iam::aws:policy/service-role/AWSLambdaENIManagementAccess';

  it('a new role: the attachment and the logs policy read as what they grant, whole', () => {
    const lines = formatPlan(
      planRole(
        { role: undefined, managedPolicyArns: [], logsPolicy: undefined, secretPolicy: undefined },
        d(),
      ),
    );

    expect(lines).toEqual([
      '  + create    IAM role ChatbotLambdaRole',
      '  + create    policy attachment AWSLambdaENIManagementAccess → ChatbotLambdaRole',
      '        grants: EC2 network interfaces for the VPC (no logs)',
      '  + create    inline policy CloudWatchLogsPolicy',
      '        document: Allow logs:CreateLogGroup, logs:CreateLogStream, logs:PutLogEvents on arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/chatbot-backend:*',
    ]);
  });

  it("a role with the guide's AWSLambdaVPCAccessExecutionRole: attach the narrower policy, detach the old one", () => {
    const desired = d();
    const current = {
      role: { name: desired.name, arn: desired.arn, trustPolicy: desired.trustPolicy, tags: desired.tags },
      managedPolicyArns: [vpcAccess],
      logsPolicy: desired.logsPolicy,
      secretPolicy: undefined,
    };

    const changed = planRole(current, desired).filter((i) => i.action !== 'unchanged');

    expect(changed.map((i) => `${i.action} ${i.kind} ${i.resource}`)).toEqual([
      'create policy attachment AWSLambdaENIManagementAccess → ChatbotLambdaRole',
      'delete policy attachment AWSLambdaVPCAccessExecutionRole → ChatbotLambdaRole',
    ]);
    expect(formatPlan(changed)).toContain(
      '        why: it also lets the function write to every log group; AWSLambdaENIManagementAccess and CloudWatchLogsPolicy replace it',
    );
    expect(
      planRole({ ...current, managedPolicyArns: [eni] }, desired).every((i) => i.action === 'unchanged'),
    ).toBe(true);
  });
});

describe('network', () => {
  const subnets = [
    { id: 'subnet-a', vpcId: 'vpc-1', az: 'eu-west-1a', cidr: '', name: undefined, availableIps: 250 },
    { id: 'subnet-b', vpcId: 'vpc-1', az: 'eu-west-1b', cidr: '', name: undefined, availableIps: 250 },
  ];
  const rdsGroup = { id: 'sg-rds', name: 'rds', vpcId: 'vpc-1', ingress: [], egress: [], tags: {} };

  it('refuses subnets of another VPC or unknown ones, naming them', () => {
    const d = desiredNetwork(config((c) => (c.vpc.subnetIds = ['subnet-a', 'subnet-x', 'subnet-z'])));
    const current = {
      subnets: [subnets[0]!, { ...subnets[1]!, id: 'subnet-x', vpcId: 'vpc-2' }],
      publicSubnetIds: [],
      lambdaGroup: undefined,
      rdsGroup,
    };

    expect(checkNetwork(current, d).errors).toEqual([
      'subnet(s) subnet-z not found in this region',
      'subnet(s) subnet-x (in vpc-2) are not in vpc-1',
    ]);
    expect(() => planNetwork(current, d)).toThrow(/subnet-x \(in vpc-2\)/);
  });

  it('warns about public subnets and a single availability zone', () => {
    const d = desiredNetwork(config());
    const oneZone = subnets.map((s) => ({ ...s, az: 'eu-west-1a' }));

    const { warnings } = checkNetwork(
      { subnets: oneZone, publicSubnetIds: ['subnet-b'], lambdaGroup: undefined, rdsGroup },
      d,
    );

    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/subnet-b route to an internet gateway/);
    expect(warnings[1]).toMatch(/one availability zone \(eu-west-1a\)/);
  });

  it('replaces the default allow-all egress by MySQL to the RDS group (and HTTPS with Secrets Manager)', () => {
    const allowAll = [{ protocol: '-1', cidr: '0.0.0.0/0' }];
    const plain = desiredNetwork(config());
    const secret = desiredNetwork(
      config((c) => (c.database.secretArn = 'arn:aws:secretsmanager:eu-west-1:1:secret:db')),
    );

    expect(
      egressDelta(allowAll, [{ protocol: 'tcp', fromPort: 3306, toPort: 3306, groupId: 'sg-rds' }]),
    ).toEqual({
      revoke: allowAll,
      authorize: [{ protocol: 'tcp', fromPort: 3306, toPort: 3306, groupId: 'sg-rds' }],
    });
    const lambdaGroup = {
      id: 'sg-l',
      name: 'lambda-chatbot-sg',
      vpcId: 'vpc-1',
      ingress: [],
      egress: allowAll,
      tags: {},
    };
    const items = planNetwork({ subnets, publicSubnetIds: [], lambdaGroup, rdsGroup }, secret);
    expect(items[0]?.changes).toEqual([
      { field: 'egress', from: ['all traffic 0.0.0.0/0'], to: ['TCP 3306 sg-rds', 'TCP 443 0.0.0.0/0'] },
    ]);
    expect(
      planNetwork({ subnets, publicSubnetIds: [], lambdaGroup, rdsGroup }, plain)[0]?.changes[0]?.to,
    ).toEqual(['TCP 3306 sg-rds']);
  });

  it('says which config fields are missing', () => {
    expect(() => desiredNetwork(defaultConfig())).toThrow(
      /vpc\.vpcId, vpc\.subnetIds, vpc\.rdsSecurityGroupId missing/,
    );
  });
});

describe('function', () => {
  it('environment: hashes of the keys, never a key; the secret ARN replaces the DB_* settings', () => {
    const env = functionEnvironment(config(), { dbPassword: 'pw', apiKeyValues: ['k2', 'k1', 'k1'] });
    const secret = functionEnvironment(
      config((c) => (c.database.secretArn = 'arn:aws:secretsmanager:eu-west-1:1:secret:db')),
      {
        dbPassword: undefined,
        apiKeyValues: [],
      },
    );

    expect(env.API_KEYS?.split(',')).toEqual([hashApiKey('k1'), hashApiKey('k2')].sort());
    expect(env).toMatchObject({
      DB_HOST: 'db.internal',
      DB_PORT: '3306',
      DB_PASSWORD: 'pw',
      QUERY_TIMEOUT_MS: '25000',
    });
    expect(Object.keys(secret).filter((k) => k.startsWith('DB_'))).toEqual(['DB_SECRET_ARN']);
  });

  it('shows environment changes with secrets hidden', () => {
    expect(
      environmentChanges(
        { DB_PASSWORD: 'old', LOG_LEVEL: 'INFO', API_KEYS: 'a' },
        { DB_PASSWORD: 'new', LOG_LEVEL: 'DEBUG', API_KEYS: 'a,b' },
      ),
    ).toEqual([
      { field: 'environment.API_KEYS', from: '(1 key hash(es))', to: '(2 key hash(es))' },
      { field: 'environment.DB_PASSWORD', from: '(hidden)', to: '(hidden)' },
      { field: 'environment.LOG_LEVEL', from: 'INFO', to: 'DEBUG' },
    ]);
  });

  it('compares field by field: only what differs, code by its SHA-256', () => {
    const d = desiredFunction(
      config(),
      { roleArn: 'arn:aws:iam::1:role/r', lambdaSecurityGroupId: 'sg-l' },
      { environment: { A: '1' }, code: { zip: Buffer.from('z'), sha256Base64: 'NEW' } },
    );
    const fn = {
      name: d.name,
      arn: 'arn',
      ...d.settings,
      subnetIds: ['subnet-a', 'subnet-b'],
      memory: 128,
      codeSha256: 'OLD',
      state: 'Active',
      lastUpdateStatus: 'Successful',
      tracingMode: 'PassThrough',
    };

    const [logGroup, item] = planFunction({ fn, logGroup: { name: d.logGroup.name, retentionDays: 7 } }, d);

    expect(logGroup?.changes).toEqual([{ field: 'retention days', from: 7, to: 30 }]);
    expect(item?.changes).toEqual([
      { field: 'memory', from: 128, to: 256 },
      { field: 'code', from: 'OLD', to: 'NEW' },
    ]);
  });
});

describe('api', () => {
  const d = desiredApi(config(), session, {
    functionArn: 'arn:aws:lambda:eu-west-1:111122223333:function:chatbot-backend',
  });
  const resources = (integrationUri: string, apiKeyRequired = true): ResourceInfo[] => [
    { id: 'root', parentId: undefined, path: '/', pathPart: undefined, methods: {} },
    {
      id: 'r1',
      parentId: 'root',
      path: '/chatbot',
      pathPart: 'chatbot',
      methods: {
        POST: {
          apiKeyRequired,
          authorizationType: 'NONE',
          integration: { type: 'AWS_PROXY', httpMethod: 'POST', uri: integrationUri },
        },
      },
    },
  ];
  const keyRequired = { '/chatbot': { POST: { apiKeyRequired: true, authorizationType: 'NONE' } } };
  const permission = {
    Sid: 'chatbot-ops-apigateway-invoke',
    Condition: { ArnLike: { 'AWS:SourceArn': d.sourceArn('a1') } },
  };
  const tagged = [{ name: 'prod', deploymentId: 'd1', tags: d.stageTags }];

  it('tags an untagged stage without redeploying it, and removes a stage of ours the config no longer names', () => {
    const api = { id: 'a1', name: 'chatbot-api', endpointTypes: ['REGIONAL'], createdDate: undefined };
    const plan = planApi(
      {
        api,
        resources: resources(d.integrationUri),
        stage: { deploymentId: 'd1', deployed: keyRequired, description: 'chatbot-ops deploy' },
        stages: [
          { name: 'prod', deploymentId: 'd1', tags: {} },
          { name: 'beta', deploymentId: 'd0', tags: d.stageTags },
          { name: 'mine', deploymentId: 'd9', tags: { team: 'web' } },
        ],
        permissions: [permission],
      },
      d,
    );

    expect(plan.filter((i) => i.action !== 'unchanged')).toEqual([
      {
        step: 'api',
        kind: 'stage',
        resource: 'prod',
        action: 'update',
        changes: [{ field: 'tags', from: {}, to: d.stageTags }],
      },
      {
        step: 'api',
        kind: 'stage',
        resource: 'beta',
        action: 'delete',
        changes: [{ field: 'serves', from: 'deployment d0 (api.stage is now prod)', to: null }],
      },
    ]);
    expect(d.stageTags).toEqual({
      'managed-by': 'chatbot-ops',
      'chatbot-ops:function': 'chatbot-backend',
      'chatbot-ops:api': 'chatbot-api',
    });
    expect(d.stageArn('a1', 'prod')).toBe('arn:aws:apigateway:eu-west-1::/restapis/a1/stages/prod');
  });

  it('scopes the invoke permission to this API, POST and the resource', () => {
    expect(d.sourceArn('a1')).toBe('arn:aws:execute-api:eu-west-1:111122223333:a1/*/POST/chatbot');
    expect(d.integrationUri).toBe(
      'arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:chatbot-backend/invocations',
    );
  });

  it('deploys the stage only when something in the API changed', () => {
    const api = { id: 'a1', name: 'chatbot-api', endpointTypes: ['REGIONAL'], createdDate: undefined };
    const same = planApi(
      {
        api,
        resources: resources(d.integrationUri),
        stage: { deploymentId: 'd1', deployed: keyRequired, description: 'chatbot-ops deploy' },
        stages: tagged,
        permissions: [permission],
      },
      d,
    );
    const keyOff = planApi(
      {
        api,
        resources: resources(d.integrationUri, false),
        stage: { deploymentId: 'd1', deployed: keyRequired, description: 'chatbot-ops deploy' },
        stages: tagged,
        permissions: [permission],
      },
      d,
    );

    expect(same.every((i) => i.action === 'unchanged')).toBe(true);
    expect(keyOff.filter((i) => i.action !== 'unchanged').map((i) => [i.kind, i.action])).toEqual([
      ['method', 'update'],
      ['stage', 'update'],
    ]);
  });

  it.each([
    [
      'without the key requirement',
      { '/chatbot': { POST: { apiKeyRequired: false, authorizationType: 'NONE' } } },
      'serves POST /chatbot apiKeyRequired',
      false,
    ],
    ['without the method at all', { '/': {} }, 'serves POST /chatbot', null],
  ])(
    'redeploys a stage that serves the method %s, though the API itself is right',
    (_what, deployed, field, from) => {
      const api = { id: 'a1', name: 'chatbot-api', endpointTypes: ['REGIONAL'], createdDate: undefined };

      const plan = planApi(
        {
          api,
          resources: resources(d.integrationUri),
          stage: { deploymentId: 'd1', deployed, description: 'chatbot-ops deploy' },
          stages: tagged,
          permissions: [permission],
        },
        d,
      );

      expect(plan.filter((i) => i.action !== 'unchanged').map((i) => [i.kind, i.changes])).toEqual([
        [
          'stage',
          [
            { field, from, to: field.endsWith('apiKeyRequired') ? true : 'apiKeyRequired' },
            { field: 'deployment', from: 'd1', to: 'new' },
          ],
        ],
      ]);
    },
  );
});

describe('api: what the stage serves, by fingerprint', () => {
  const d = desiredApi(config(), session, {
    functionArn: 'arn:aws:lambda:eu-west-1:111122223333:function:chatbot-backend',
  });
  const api = { id: 'a1', name: 'chatbot-api', endpointTypes: ['REGIONAL'], createdDate: undefined };
  const route = (uri: string): ResourceInfo[] => [
    { id: 'root', parentId: undefined, path: '/', pathPart: undefined, methods: {} },
    {
      id: 'r1',
      parentId: 'root',
      path: '/chatbot',
      pathPart: 'chatbot',
      methods: {
        POST: {
          apiKeyRequired: true,
          authorizationType: 'NONE',
          integration: { type: 'AWS_PROXY', httpMethod: 'POST', uri },
        },
      },
    },
  ];
  const permission = {
    Sid: 'chatbot-ops-apigateway-invoke',
    Condition: { ArnLike: { 'AWS:SourceArn': d.sourceArn('a1') } },
  };
  const summary = { '/chatbot': { POST: { apiKeyRequired: true, authorizationType: 'NONE' } } };
  const wanted = definitionFingerprint(desiredDefinition(d));
  const stageOf = (description: string, deployed: typeof summary | undefined) =>
    planApi(
      {
        api,
        resources: route(d.integrationUri),
        stage: { deploymentId: 'd1', deployed, description },
        stages: [{ name: 'prod', deploymentId: 'd1', tags: d.stageTags }],
        permissions: [permission],
      },
      d,
    ).find((i) => i.kind === 'stage');

  it('writes the fingerprint into the description and reads it back', () => {
    expect(wanted).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprintIn(deploymentDescription(wanted))).toBe(wanted);
    expect(fingerprintIn('chatbot-ops deploy')).toBeUndefined();
    expect(currentDefinition(route(d.integrationUri), 'chatbot')).toEqual(desiredDefinition(d));
    expect(definitionFingerprint({ ...desiredDefinition(d), apiKeyRequired: false })).not.toBe(wanted);
  });

  it.each([
    ['no API summary (an emulator), the same fingerprint', deploymentDescription(wanted), undefined],
    ['no API summary and no fingerprint: unknown is not drift', 'deployed by hand', undefined],
    ['an agreeing API summary and no fingerprint (made before fingerprints)', 'chatbot-ops deploy', summary],
    ['an agreeing API summary and the same fingerprint', deploymentDescription(wanted), summary],
  ])('leaves the stage alone with %s', (_what, description, deployed) => {
    expect(stageOf(description, deployed)).toMatchObject({ action: 'unchanged', changes: [] });
  });

  it.each([
    ['without an API summary', undefined],
    ['though the API summary agrees', summary],
  ])('redeploys when the deployment was made from another definition, %s', (_what, deployed) => {
    expect(stageOf(deploymentDescription('0123456789abcdef'), deployed)).toMatchObject({
      action: 'update',
      changes: [
        { field: 'definition', from: '0123456789abcdef', to: wanted },
        { field: 'deployment', from: 'd1', to: 'new' },
      ],
    });
  });
});

describe('usage plan and key', () => {
  it('generates key values of at least 30 random characters', () => {
    const values = new Set(Array.from({ length: 50 }, generateApiKeyValue));

    expect(values.size).toBe(50);
    for (const v of values) expect(v).toMatch(/^[A-Za-z0-9_-]{30,}$/);
  });

  it('accepts every enabled key on the plan plus the named key (or the one about to be made)', () => {
    const planKeys = [
      { id: 'k1', name: 'chatbot-api-key', enabled: true, value: 'old-value' },
      { id: 'k2', name: 'chatbot-api-key-next', enabled: true, value: 'next-value' },
      { id: 'k3', name: 'retired', enabled: false, value: 'off' },
    ];

    const found = { fn: undefined, logGroup: undefined };
    expect(acceptedKeyValues({ ...found, deployedKey: planKeys[0], planKeys }, 'unused')).toEqual([
      'old-value',
      'next-value',
    ]);
    expect(acceptedKeyValues({ ...found, deployedKey: undefined, planKeys: [] }, 'fresh')).toEqual(['fresh']);
  });

  it('names each throttle or quota field that differs, and a missing stage', () => {
    const d = desiredUsagePlan(config(), { apiId: 'a1' });
    const plan = {
      id: 'p1',
      name: d.name,
      throttle: { rateLimit: 10, burstLimit: 200 },
      quota: { limit: 100000, period: 'WEEK', offset: 0 },
      apiStages: [],
    };

    const [, item] = planUsagePlan({ plan, key: undefined, planKeyIds: new Set() }, d);

    expect(item?.changes).toEqual([
      { field: 'throttle.rateLimit', from: 10, to: 100 },
      { field: 'quota.period', from: 'WEEK', to: 'MONTH' },
      { field: 'apiStages', from: [], to: ['a1:prod'] },
    ]);
  });

  it('the plan shows a pending API id while the API does not exist yet', () => {
    const d = desiredUsagePlan(config(), { apiId: pending('chatbot-api') });

    const lines = formatPlan(planUsagePlan({ plan: undefined, key: undefined, planKeyIds: new Set() }, d));

    expect(lines.join('\n')).toContain('stage: <new chatbot-api>:prod');
    expect(lines.join('\n')).toContain('value: (generated, hidden)');
  });
});

describe('alarms', () => {
  it("builds the guide's two alarms and the 5XX one, with the SNS action when configured", () => {
    const d = desiredAlarms(config((c) => (c.alarms.snsTopicArn = 'arn:aws:sns:eu-west-1:1:ops')));

    expect(d.alarms.map((a) => [a.name, a.namespace, a.metricName, a.threshold, a.alarmActions])).toEqual([
      ['chatbot-backend-errors', 'AWS/Lambda', 'Errors', 10, ['arn:aws:sns:eu-west-1:1:ops']],
      ['chatbot-api-prod-4xx', 'AWS/ApiGateway', '4XXError', 50, ['arn:aws:sns:eu-west-1:1:ops']],
      ['chatbot-api-prod-5xx', 'AWS/ApiGateway', '5XXError', 0, ['arn:aws:sns:eu-west-1:1:ops']],
    ]);
    expect(d.alarms[2]?.description).toMatch(/database unreachable \(503\), queries timing out \(504\)/);
    expect(desiredAlarms(config((c) => (c.alarms.enabled = false))).alarms).toEqual([]);
  });

  it('puts an alarm only when a field differs, and tags one that lacks the owner tags', () => {
    const desired = desiredAlarms(config());
    const [errors] = desired.alarms;
    if (!errors) throw new Error('no alarm');
    const tagged = { ...errors, arn: 'arn:a', tags: desired.tags };

    expect(alarmChanges({ ...errors }, errors)).toEqual([]);
    expect(alarmChanges({ ...errors, threshold: 5 }, errors)).toEqual([
      { field: 'threshold', from: 5, to: 10 },
    ]);
    expect(planAlarms(new Map([[errors.name, tagged]]), desired).map((i) => i.action)).toEqual([
      'unchanged',
      'create',
      'create',
    ]);
    expect(planAlarms(new Map([[errors.name, { ...tagged, tags: {} }]]), desired)[0]).toMatchObject({
      action: 'update',
      changes: [{ field: 'tags', from: {}, to: desired.tags }],
    });
  });

  it('removes an alarm of ours the config no longer names (a renamed stage)', () => {
    const desired = desiredAlarms(config());
    const old = { ...(desired.alarms[1] as (typeof desired.alarms)[number]), name: 'chatbot-api-beta-4xx' };
    old.dimensions = { ApiName: 'chatbot-api', Stage: 'beta' };

    const items = planAlarms(new Map([[old.name, { ...old, arn: 'arn:b', tags: desired.tags }]]), desired);

    expect(items.filter((i) => i.action === 'delete')).toEqual([
      {
        step: 'alarms',
        kind: 'alarm',
        resource: 'chatbot-api-beta-4xx',
        action: 'delete',
        changes: [
          { field: 'watches', from: 'AWS/ApiGateway 4XXError ApiName=chatbot-api Stage=beta', to: null },
        ],
      },
    ]);
  });
});

describe('plan summary', () => {
  it('counts actions', () => {
    const items = planAlarms(new Map(), desiredAlarms(config()));

    expect(summarizePlan(items)).toBe('3 to create, 0 to change, 0 unchanged');
  });
});
