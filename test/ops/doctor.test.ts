import { GetUsageCommand } from '@aws-sdk/client-api-gateway';
import { FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetFunctionConfigurationCommand, InvokeCommand } from '@aws-sdk/client-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { recordingUi } from '../../src/cli/ui.js';
import type { CheckResult } from '../../src/doctor/engine.js';
import {
  DB_PASSWORD,
  freshWorld,
  HEALTHY_RESPONSE,
  invokeAnswer,
  KEY_ID,
  KEY_VALUE,
  LAMBDA_SG,
  mocks,
  NOW,
  PLAN_ID,
  RDS_SG,
  startApiStandIn,
  VPC_ID,
  type World,
  writeConfig,
} from './fixtures/deployment.js';

let world: World;
let api: { url: string; close: () => Promise<void> };

beforeAll(async () => {
  api = await startApiStandIn(() => world);
});
afterAll(() => api.close());

beforeEach(() => {
  world = freshWorld();
});
afterEach(() => vi.useRealTimers());

interface Report {
  ok: boolean;
  summary: { pass: number; warn: number; fail: number; skip: number };
  checks: CheckResult[];
}

async function doctor(extra: string[] = []): Promise<{ code: number; report: Report; text: string }> {
  const ui = recordingUi({ json: true });
  const code = await main(
    ['node', 'chatbot-ops', '--json', '--config', writeConfig(), 'doctor', '--api-url', api.url, ...extra],
    { ui },
  );
  return { code, report: ui.results[0] as Report, text: [...ui.out, ...ui.err].join('\n') };
}

const byId = (r: Report) => Object.fromEntries(r.checks.map((c) => [c.id, c]));
const failing = (r: Report) => r.checks.filter((c) => c.status === 'fail').map((c) => c.id);

describe('doctor on a healthy deployment', () => {
  it('passes every check and exits 0', async () => {
    const { code, report } = await doctor();

    // Only the checks of what this deployment does not use are skipped, each saying why.
    expect(report.checks.filter((c) => c.status !== 'pass').map((c) => [c.id, c.status, c.evidence])).toEqual(
      [
        ['secrets.role', 'skip', 'the function does not read a secret (no DB_SECRET_ARN)'],
        ['tracing', 'skip', 'tracing.enabled is false in the config'],
        ['dashboard', 'skip', 'dashboard.enabled is false in the config'],
        ['waf', 'skip', 'waf.enabled is false in the config'],
        ['access-logs', 'skip', 'accessLogs.enabled is false in the config'],
      ],
    );
    expect(report.checks.map((c) => c.id)).toEqual([
      'aws.credentials',
      'function.exists',
      'function.state',
      'function.runtime',
      'function.handler',
      'function.timeout',
      'function.environment',
      'iam.least-privilege',
      'vpc.attached',
      'vpc.private-subnets',
      'vpc.availability-zones',
      'vpc.free-addresses',
      'vpc.security-groups',
      'vpc.secrets-route',
      'api.rest-api',
      'api.method',
      'api.integration',
      'api.permission',
      'api.stage',
      'plan.exists',
      'plan.stage',
      'plan.key',
      'plan.throttle',
      'plan.quota',
      'plan.key-hash',
      'alarms',
      'logs.group',
      'logs.recent-errors',
      'live.health',
      'live.errors',
      'live.api',
      'ingest.function',
      'ingest.notification',
      'ingest.s3-endpoint',
      'ingest.s3-egress',
      'ingest.failure-destination',
      'ingest.recent-failures',
      'ingest.database-login',
      'ingest.freshness',
      'rds.instance',
      'rds.public',
      'rds.encryption',
      'rds.backups',
      'rds.deletion-protection',
      'rds.multi-az',
      'rds.engine',
      'rds.security-groups',
      'rds.vpc',
      'rds.connections',
      'secrets.role',
      'tracing',
      'dashboard',
      'waf',
      'access-logs',
    ]);
    expect(report.ok).toBe(true);
    expect(code).toBe(0);
  });

  it('shows the password as present and never a secret value', async () => {
    const { report, text } = await doctor();

    expect(byId(report)['function.environment']?.evidence).toContain(
      'DB_HOST chatbot.abc123.us-east-1.rds.amazonaws.com, DB_PORT 3306, DB_NAME chatbot_db, DB_USER, DB_PASSWORD set (value hidden)',
    );
    expect(text).not.toContain(KEY_VALUE);
    expect(text).not.toContain(DB_PASSWORD);
  });

  it('reads each fact once however many checks use it', async () => {
    await doctor();

    const reads = mocks.lambda
      .commandCalls(GetFunctionConfigurationCommand)
      .map((c) => c.args[0].input.FunctionName);
    expect(reads.sort()).toEqual(['chatbot-backend', 'chatbot-ingest']);
  });

  it('invokes health directly with the log tail and asks for this month of quota usage', async () => {
    const { report } = await doctor();

    const invokes = mocks.lambda.commandCalls(InvokeCommand).map((c) => ({
      ...c.args[0].input,
      Payload: new TextDecoder().decode(c.args[0].input.Payload as Uint8Array),
    }));
    expect(invokes).toContainEqual({
      FunctionName: 'chatbot-backend',
      InvocationType: 'RequestResponse',
      LogType: 'Tail',
      Payload: '{"intent":"health"}',
    });
    expect(invokes).toContainEqual({
      FunctionName: 'chatbot-backend',
      InvocationType: 'RequestResponse',
      Payload: '{"intent":"get_access_logs","params":{"ip_address":"10.0.0.1\' OR \'1\'=\'1","limit":-1}}',
    });
    expect(mocks.apigateway.commandCalls(GetUsageCommand)[0]?.args[0].input).toEqual({
      usagePlanId: PLAN_ID,
      keyId: KEY_ID,
      startDate: '2026-11-01',
      endDate: '2026-11-30',
    });
    expect(byId(report)['plan.quota']?.evidence).toBe('420 used, 99580 of 100000 left until 2026-12-01');
    const queries = mocks.logs.commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input);
    expect(queries.find((q) => q.logGroupName === '/aws/lambda/chatbot-backend')).toEqual({
      logGroupName: '/aws/lambda/chatbot-backend',
      startTime: NOW.getTime() - 15 * 60_000,
      endTime: NOW.getTime(),
      filterPattern: '?"Task timed out" ?ERROR ?"Runtime."',
    });
  });

  it('prints a readable report for people', async () => {
    const ui = recordingUi();

    const code = await main(
      ['node', 'chatbot-ops', '--config', writeConfig(), 'doctor', '--api-url', api.url],
      { ui },
    );

    expect(code).toBe(0);
    expect(ui.out).toContain('Network');
    expect(
      ui.out.some((l) =>
        /✔ pass\s+security groups Lambda → RDS on 3306\s+egress sg-0aaa111 → sg-0bbb222:3306/.test(l),
      ),
    ).toBe(true);
    expect(ui.out.at(-1)).toBe('49 passed, 0 warnings, 0 failed, 0 could not run, 5 skipped');
  });
});

const ACCESS_DENIED_LOG =
  '{"level":"ERROR","message":"request failed","request_id":"5e1f","error":"Access denied for user","error_driver_code":"ER_ACCESS_DENIED_ERROR","errno":1045}';
const UNAVAILABLE = {
  statusCode: 503,
  headers: {},
  body: JSON.stringify({
    success: false,
    error: 'the database is unavailable',
    error_code: 'DATABASE_UNAVAILABLE',
  }),
};

/** One scenario per Troubleshooting item docs/operate.md maps to a check: what breaks, which checks fail, what the fix says. */
const scenarios: [string, (w: World) => void, string[], RegExp][] = [
  [
    'function not in the VPC',
    (w) => {
      if (w.fn) w.fn.VpcConfig = { SubnetIds: [], SecurityGroupIds: [], VpcId: '' };
    },
    ['vpc.attached'],
    /chatbot-ops configure-vpc/,
  ],
  [
    'security-group path missing (no egress to RDS)',
    (w) => {
      const g = w.securityGroups.find((s) => s.GroupId === LAMBDA_SG);
      if (g) g.IpPermissionsEgress = [];
    },
    ['vpc.security-groups'],
    /egress TCP 3306 to the RDS group/,
  ],
  [
    'security-group path missing (RDS does not admit Lambda)',
    (w) => {
      const g = w.securityGroups.find((s) => s.GroupId === RDS_SG);
      if (g) g.IpPermissions = [];
    },
    ['vpc.security-groups'],
    /ingress TCP 3306 from the Lambda group/,
  ],
  [
    'key not in the usage plan',
    (w) => {
      w.usagePlanKeys = [];
    },
    ['plan.key'],
    /Add API Key to Usage Plan/,
  ],
  [
    'usage plan not on the stage',
    (w) => {
      const plan = w.usagePlans[0];
      if (plan) plan.apiStages = [];
    },
    ['plan.stage'],
    /Add API Stage/,
  ],
  [
    'stage not deployed (no stage)',
    (w) => {
      w.stage = undefined;
    },
    ['api.stage'],
    /deploys the API to the prod stage/,
  ],
  [
    'stage not deployed (method added after the last deployment)',
    (w) => {
      w.deployment.apiSummary = {};
    },
    ['api.stage'],
    /Deploy the API again/,
  ],
  [
    'apiKeyRequired off',
    (w) => {
      const post = w.resources[1]?.resourceMethods?.POST as { apiKeyRequired: boolean };
      post.apiKeyRequired = false;
      w.deployment.apiSummary = {
        '/chatbot': { POST: { authorizationType: 'NONE', apiKeyRequired: false } },
      };
      w.api.withoutKey = { status: 200, body: HEALTHY_RESPONSE.body };
    },
    ['api.method', 'live.api'],
    /sets API Key Required/,
  ],
  [
    'throttle burst below rate',
    (w) => {
      const plan = w.usagePlans[0];
      if (plan) plan.throttle = { rateLimit: 100, burstLimit: 50 };
    },
    ['plan.throttle'],
    /burstLimit to at least usagePlan.rateLimit/,
  ],
  [
    'wrong DB credentials reported by the health invocation',
    (w) => {
      w.invoke = invokeAnswer(UNAVAILABLE, { log: ACCESS_DENIED_LOG });
    },
    ['live.health'],
    /Verify the DB credentials in the environment variables/,
  ],
  [
    'timeout over 29 s',
    (w) => {
      if (w.fn?.Environment?.Variables) w.fn.Environment.Variables.QUERY_TIMEOUT_MS = '30000';
    },
    ['function.timeout'],
    /limits.queryTimeoutMs under 29000/,
  ],
  [
    'health invocation timed out (network path)',
    (w) => {
      w.invoke = invokeAnswer(
        { errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 30.00 seconds' },
        { FunctionError: 'Unhandled' },
      );
    },
    ['live.health'],
    /Lambda group allows egress TCP 3306 to the RDS group/,
  ],
  [
    'unknown database',
    (w) => {
      w.invoke = invokeAnswer(UNAVAILABLE, {
        log: '{"level":"ERROR","error_driver_code":"ER_BAD_DB_ERROR","errno":1049}',
      });
    },
    ['live.health'],
    /Check DB_NAME/,
  ],
  [
    "key's hash not in API_KEYS (401)",
    (w) => {
      if (w.fn?.Environment?.Variables) w.fn.Environment.Variables.API_KEYS = `sha256:${'0'.repeat(64)}`;
      w.api.withKey = { status: 401, body: '{"success":false,"error_code":"UNAUTHORIZED"}' };
    },
    ['plan.key-hash', 'live.api'],
    /writes the hashes of the plan's keys into API_KEYS/,
  ],
  [
    'no invoke permission for API Gateway',
    (w) => {
      w.policyStatements = [];
    },
    ['api.permission'],
    /adds the invoke permission/,
  ],
  [
    'quota used up (429)',
    (w) => {
      w.usage = { [KEY_ID]: [[100000, 0]] };
    },
    ['plan.quota'],
    /Raise usagePlan.quotaLimit/,
  ],
];

describe('doctor on a broken deployment', () => {
  it.each(scenarios)(
    '%s: fails exactly the checks that name it, with the fix',
    async (_name, breakIt, expectedFails, fix) => {
      breakIt(world);

      const { code, report } = await doctor();

      expect(failing(report)).toEqual(expectedFails);
      expect(byId(report)[expectedFails[0] ?? '']?.fix).toMatch(fix);
      expect(code).toBe(1);
    },
  );

  it('skips what depends on a missing function instead of failing it', async () => {
    world.fn = undefined;

    const { report } = await doctor();

    const checks = byId(report);
    expect(checks['function.exists']?.status).toBe('fail');
    expect(checks['vpc.security-groups']).toMatchObject({
      status: 'skip',
      evidence: 'the function chatbot-backend does not exist',
    });
    expect(failing(report)).toEqual(['function.exists']);
  });

  it('reports missing credentials once and skips the rest', async () => {
    world.identity = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });

    const { code, report } = await doctor();

    expect(failing(report)).toEqual(['aws.credentials']);
    expect(byId(report)['aws.credentials']?.fix).toMatch(/AWS_PROFILE/);
    expect(report.summary.skip).toBe(report.checks.length - 1);
    expect(code).toBe(1);
  });

  it('a check whose read is refused could not run: unknown, not fail, with the reason; the others still run', async () => {
    world.fake.failAll(
      'EC2',
      Object.assign(new Error('User is not authorized to perform: ec2:DescribeSubnets'), {
        name: 'UnauthorizedOperation',
      }),
    );

    const { code, report } = await doctor();

    const checks = byId(report);
    expect(checks['vpc.free-addresses']).toMatchObject({
      status: 'unknown',
      evidence:
        'your credentials may not make an AWS call: UnauthorizedOperation: User is not authorized to perform: ec2:DescribeSubnets',
      fix: expect.stringMatching(/Allow the action the message names/),
    });
    expect(checks['api.method']?.status).toBe('pass');
    expect(checks['live.health']?.status).toBe('pass');
    expect(failing(report)).toEqual([]);
    expect(code).toBe(0);
  });

  it('--offline skips the live calls', async () => {
    const { report } = await doctor(['--offline']);

    expect(byId(report)['live.health']?.status).toBe('skip');
    expect(byId(report)['live.api']?.status).toBe('skip');
    expect(mocks.lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });
});

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:chatbot-db-AbCdEf';
/** The function reads its credentials from a secret, and its role may read that secret (as create-role writes it). */
const useSecret = (w: World) => {
  if (!w.fn?.Environment) return;
  w.fn.Environment.Variables = {
    ...Object.fromEntries(
      Object.entries(w.fn.Environment.Variables ?? {}).filter(
        ([k]) => !['DB_HOST', 'DB_USER', 'DB_PASSWORD'].includes(k),
      ),
    ),
    DB_SECRET_ARN: SECRET_ARN,
  };
  w.role.inline = {
    ...w.role.inline,
    SecretsManagerReadPolicy: {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: SECRET_ARN }],
    },
  };
};

/** An interface endpoint for Secrets Manager (private DNS on), added to the VPC's endpoints, whose security group has these ingress rules. */
const secretsEndpoint = (w: World, ingress: unknown[]) => {
  w.fake.groups.set('sg-0endpoint', {
    GroupId: 'sg-0endpoint',
    GroupName: 'endpoints',
    VpcId: VPC_ID,
    Description: 'endpoints',
    IpPermissions: ingress as never,
    IpPermissionsEgress: [],
    Tags: [],
  });
  // Beside the ingest path's S3 gateway endpoint the healthy deployment has.
  w.vpcEndpoints = [
    ...w.vpcEndpoints,
    {
      VpcEndpointId: 'vpce-0s3c',
      VpcEndpointType: 'Interface',
      State: 'available',
      PrivateDnsEnabled: true,
      Groups: [{ GroupId: 'sg-0endpoint' }],
    } as never,
  ];
};

/** Every other finding a check can make: [what, change, check id, status, evidence or fix]. */
const findings: [string, (w: World) => void, string, 'warn' | 'fail' | 'pass' | 'unknown', RegExp][] = [
  [
    'a subnet with a route to an internet gateway',
    (w) => {
      w.routeTables.push({
        RouteTableId: 'rtb-igw',
        VpcId: VPC_ID,
        Associations: [{ SubnetId: 'subnet-0aa1' }],
        Routes: [{ DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'igw-9', State: 'active' }],
      });
      // The S3 endpoint is on that table too: only the public route is the finding here.
      w.vpcEndpoints[0]?.RouteTableIds.push('rtb-igw');
    },
    'vpc.private-subnets',
    'warn',
    /subnet-0aa1 routes to an internet gateway/,
  ],
  [
    'one availability zone',
    (w) => {
      for (const s of w.subnets) s.AvailabilityZone = 'us-east-1a';
    },
    'vpc.availability-zones',
    'warn',
    /all subnets are in us-east-1a/,
  ],
  [
    'few free addresses',
    (w) => {
      const s = w.subnets[0];
      if (s) s.AvailableIpAddressCount = 3;
    },
    'vpc.free-addresses',
    'warn',
    /few free addresses \(subnet-0aa1 3, subnet-0bb2 248\)/,
  ],
  [
    'no free addresses at all',
    (w) => {
      for (const s of w.subnets) s.AvailableIpAddressCount = 0;
    },
    'vpc.free-addresses',
    'fail',
    /Lambda cannot create network interfaces/,
  ],
  [
    'RDS open to the world as well',
    (w) =>
      w.securityGroups[1]?.IpPermissions?.push({
        IpProtocol: 'tcp',
        FromPort: 3306,
        ToPort: 3306,
        IpRanges: [{ CidrIp: '0.0.0.0/0' }],
      }),
    'vpc.security-groups',
    'warn',
    /also admits 3306 from anywhere/,
  ],
  [
    'a deprecated runtime',
    (w) => {
      if (w.fn) w.fn.Runtime = 'nodejs18.x';
    },
    'function.runtime',
    'fail',
    /nodejs18.x is deprecated since 2025-09-01/,
  ],
  [
    'a wrong handler',
    (w) => {
      if (w.fn) w.fn.Handler = 'index.handler';
    },
    'function.handler',
    'fail',
    /Runtime.HandlerNotFound/,
  ],
  [
    'a function still updating',
    (w) => {
      if (w.fn) w.fn.LastUpdateStatus = 'InProgress';
    },
    'function.state',
    'warn',
    /still being applied/,
  ],
  [
    'a missing DB_HOST',
    (w) => {
      if (w.fn?.Environment?.Variables) delete w.fn.Environment.Variables.DB_HOST;
    },
    'function.environment',
    'fail',
    /DB_HOST is not set/,
  ],
  [
    'a function that echoes its event (an emulator stand-in, not the backend)',
    (w) => {
      w.invoke = invokeAnswer({ intent: 'health' });
    },
    'live.health',
    'unknown',
    /not the backend's answer \(\{"intent":"health"\}\).*its code did not run/,
  ],
  [
    'an HTML error page from the API',
    (w) => {
      w.api.withKey = {
        status: 502,
        body: '<html><head><title>502 Bad Gateway</title></head><body><h1>502</h1></body></html>',
      };
    },
    'live.api',
    'unknown',
    /HTTP 502 with an HTML page, not an answer of API Gateway or the backend/,
  ],
  [
    'a database URL as DB_HOST',
    (w) => {
      if (w.fn?.Environment?.Variables)
        w.fn.Environment.Variables.DB_HOST = 'mysql://chatbot.abc123.us-east-1.rds.amazonaws.com:3306';
    },
    'function.environment',
    'fail',
    /DB_HOST is a URL: give the host name alone/,
  ],
  [
    'a DB_HOST other than the config names',
    (w) => {
      if (w.fn?.Environment?.Variables)
        w.fn.Environment.Variables.DB_HOST = 'old-db.abc123.rds.amazonaws.com';
    },
    'function.environment',
    'warn',
    /DB_HOST old-db\.abc123\.rds\.amazonaws\.com:3306 differs from the config's chatbot\.abc123/,
  ],
  [
    'a plain key in API_KEYS',
    (w) => {
      if (w.fn?.Environment?.Variables) w.fn.Environment.Variables.API_KEYS = KEY_VALUE;
    },
    'function.environment',
    'warn',
    /1 API_KEYS entry is a usable key in plain text/,
  ],
  [
    "the guide's logs policy on every log group",
    (w) => {
      w.role.inline = {
        CloudWatchLogsPolicy: {
          Statement: [
            {
              Effect: 'Allow',
              Action: ['logs:CreateLogGroup', 'logs:PutLogEvents'],
              Resource: 'arn:aws:logs:*:*:*',
            },
          ],
        },
      };
    },
    'iam.least-privilege',
    'warn',
    /inline CloudWatchLogsPolicy .* on arn:aws:logs:\*:\*:\*/,
  ],
  [
    "the guide's AWSLambdaVPCAccessExecutionRole beside the scoped logs policy",
    (w) => {
      w.role.attached = ['arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole'];
    },
    'iam.least-privilege',
    'warn',
    /AWSLambdaVPCAccessExecutionRole \(writes to every log group, so the scoped logs policy restricts nothing\)/,
  ],
  [
    'no network-interface policy at all',
    (w) => {
      w.role.attached = [];
    },
    'iam.least-privilege',
    'warn',
    /has neither AWSLambdaENIManagementAccess nor AWSLambdaVPCAccessExecutionRole/,
  ],
  [
    'an integration pointing at another function',
    (w) => {
      const post = w.resources[1]?.resourceMethods?.POST as { methodIntegration: { uri: string } };
      post.methodIntegration.uri = post.methodIntegration.uri.replace('chatbot-backend', 'old-backend');
    },
    'api.integration',
    'fail',
    /calls arn:aws:lambda:us-east-1:123456789012:function:old-backend, not/,
  ],
  [
    'a permission for any API',
    (w) => {
      const s = w.policyStatements[0];
      if (s) delete s.Condition;
    },
    'api.permission',
    'warn',
    /any API Gateway API in any account/,
  ],
  ['no log group', (w) => (w.logGroups = []), 'logs.group', 'fail', /never run or cannot write logs/],
  [
    'an alarm firing',
    (w) => {
      const a = w.alarms['AWS/Lambda']?.[0];
      if (a) Object.assign(a, { StateValue: 'ALARM', StateReason: 'Threshold Crossed: 12 errors' });
    },
    'alarms',
    'warn',
    /chatbot-backend-errors: Threshold Crossed: 12 errors/,
  ],
  ['no alarms', (w) => (w.alarms = {}), 'alarms', 'warn', /no Lambda Errors alarm; no API 4XXError alarm/],
  [
    'no 5XXError alarm',
    (w) => {
      const alarms = w.alarms;
      alarms['AWS/ApiGateway'] = (alarms['AWS/ApiGateway'] ?? []).filter((a) => a.MetricName !== '5XXError');
      w.alarms = alarms;
    },
    'alarms',
    'warn',
    /no API 5XXError alarm: a database outage answers 503 without raising Lambda Errors/,
  ],
  [
    'timeouts in the last 15 minutes',
    (w) => {
      w.problemEvents = [
        {
          eventId: 'e1',
          timestamp: NOW.getTime() - 60_000,
          message: '2026-11-29T11:59:00.000Z 5e1f Task timed out after 30.03 seconds\n',
        },
      ];
    },
    'logs.recent-errors',
    'warn',
    /0 error lines, 1 timeout; last: Task timed out after 30.03 seconds/,
  ],
  [
    'a quota used up, seen by the live call',
    (w) => {
      w.api.withKey = { status: 429, body: '{"message":"Limit Exceeded"}' };
    },
    'live.api',
    'fail',
    /with the key the API answered 429: the quota is used up/,
  ],
  [
    'an error answer showing internals',
    (w) => {
      w.invokeOther = invokeAnswer({
        statusCode: 500,
        body: JSON.stringify({
          success: false,
          error: "ER_PARSE_ERROR near 'OR' in SELECT * FROM access_logs",
          error_code: 'INTERNAL_ERROR',
        }),
      });
    },
    'live.errors',
    'fail',
    /the error answer shows SQL text, a driver error code/,
  ],
  [
    'an error answer showing the database host',
    (w) => {
      w.invokeOther = invokeAnswer({
        statusCode: 503,
        body: JSON.stringify({
          success: false,
          error: 'cannot reach chatbot.abc123.us-east-1.rds.amazonaws.com',
          error_code: 'DATABASE_UNAVAILABLE',
        }),
      });
    },
    'live.errors',
    'fail',
    /shows the value of DB_HOST/,
  ],
  [
    'hostile input accepted',
    (w) => {
      w.invokeOther = invokeAnswer(HEALTHY_RESPONSE);
    },
    'live.errors',
    'fail',
    /answered 200 , not 400 INVALID_PARAMS: input validation is off/,
  ],
  [
    'Secrets Manager without a route',
    useSecret,
    'vpc.secrets-route',
    'fail',
    /no subnet has a NAT route and the VPC has no secretsmanager endpoint/,
  ],
  [
    'Secrets Manager through a VPC endpoint',
    (w) => {
      useSecret(w);
      secretsEndpoint(w, [
        { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, UserIdGroupPairs: [{ GroupId: LAMBDA_SG }] },
      ]);
    },
    'vpc.secrets-route',
    'pass',
    /VPC endpoint vpce-0s3c \(private DNS, HTTPS from the function's group\)/,
  ],
  [
    'Secrets Manager through a VPC endpoint whose group admits no HTTPS from the function',
    (w) => {
      useSecret(w);
      secretsEndpoint(w, []);
    },
    'vpc.secrets-route',
    'fail',
    /vpce-0s3c admits no HTTPS \(TCP 443\) from the function's security groups sg-0aaa111/,
  ],
  [
    'Secrets Manager through NAT',
    (w) => {
      useSecret(w);
      w.routeTables[0]?.Routes?.push({
        DestinationCidrBlock: '0.0.0.0/0',
        NatGatewayId: 'nat-0abc',
        State: 'active',
      });
    },
    'vpc.secrets-route',
    'pass',
    /every subnet routes through a NAT gateway/,
  ],
];

describe('doctor findings', () => {
  it.each(findings)('%s', async (_what, change, id, status, text) => {
    change(world);

    const { code, report } = await doctor();

    const check = byId(report)[id];
    expect(check?.status).toBe(status);
    expect(`${check?.evidence} ${check?.fix ?? ''}`).toMatch(text);
    expect(failing(report)).toEqual(status === 'fail' ? [id] : []);
    expect(code).toBe(status === 'fail' ? 1 : 0);
  });
});

describe('doctor reads the deployment model: one duplicate policy, one current key', () => {
  it('two REST APIs with the name: api.rest-api fails naming both, the checks that need the API skip', async () => {
    world.fake.apis.set('a9other', {
      id: 'a9other',
      name: 'chatbot-api',
      types: ['REGIONAL'],
      resources: new Map(),
      stages: new Map(),
    });

    const { code, report } = await doctor();

    const checks = byId(report);
    expect(checks['api.rest-api']).toMatchObject({
      status: 'fail',
      evidence: expect.stringMatching(
        /2 REST APIs are named chatbot-api \((a1b2c3d4e5, a9other|a9other, a1b2c3d4e5)\)/,
      ),
      fix: expect.stringMatching(/api\.name/),
    });
    expect(checks['api.method']).toMatchObject({
      status: 'skip',
      evidence: expect.stringMatching(/2 REST APIs/),
    });
    expect(failing(report)).toEqual(['api.rest-api']);
    expect(code).toBe(1);
  });

  it('two usage plans with the name: plan.exists fails naming both, the plan checks skip', async () => {
    world.fake.usagePlans.set('pl4n99', {
      id: 'pl4n99',
      name: 'chatbot-usage-plan',
      throttle: {},
      quota: {},
      apiStages: [],
      keys: [],
    });

    const { report } = await doctor();

    const checks = byId(report);
    expect(checks['plan.exists']?.status).toBe('fail');
    expect(checks['plan.exists']?.evidence).toMatch(
      /2 usage plans are named chatbot-usage-plan \(.*pl4n01.*\)/,
    );
    expect(checks['plan.exists']?.evidence).toContain('pl4n99');
    expect(checks['plan.stage']?.status).toBe('skip');
    expect(failing(report)).toEqual(['plan.exists']);
  });

  it('in the middle of a rotation, the live call sends the newest key on the plan', async () => {
    const next = 'N3wK3yN3wK3yN3wK3yN3wK3yN3wK3yN3wK3yN3wK';
    world.fake.apiKeys.set('k3y002', {
      id: 'k3y002',
      name: 'chatbot-api-key',
      enabled: true,
      value: next,
      createdDate: new Date('2026-11-28T08:00:00Z'),
      tags: {},
    });
    world.usagePlanKeys = [...world.usagePlanKeys, { id: 'k3y002' }];
    world.fake.requests.length = 0;

    await doctor();

    expect(world.fake.requests.map((r) => r.apiKey).filter(Boolean)).toEqual([next]);
  });
});
