/**
 * doctor's ingest checks on the healthy deployment of test/ops/fixtures/deployment.ts, each finding
 * made by changing the one fact it is about: the function, the notification and its permission, the
 * S3 endpoint on every route table, HTTPS to S3, the failure destination and alarm, recent failures,
 * the login's grants, the data's freshness.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { recordingUi } from '../../src/cli/ui.js';
import type { CheckResult } from '../../src/doctor/engine.js';
import {
  FAILURE_QUEUE,
  freshWorld,
  INGEST_DB_PASSWORD,
  INGEST_FUNCTION,
  INGEST_SG,
  invokeAnswer,
  LOGS_BUCKET,
  NOW,
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
  checks: CheckResult[];
}

async function doctor(config: Record<string, unknown> = {}, extra: string[] = []) {
  const ui = recordingUi({ json: true });
  const code = await main(
    [
      'node',
      'chatbot-ops',
      '--json',
      '--config',
      writeConfig(config),
      'doctor',
      '--api-url',
      api.url,
      ...extra,
    ],
    { ui },
  );
  const report = ui.results[0] as Report;
  return {
    code,
    checks: Object.fromEntries(report.checks.map((c) => [c.id, c])),
    ingest: report.checks.filter((c) => c.id.startsWith('ingest.')),
    failing: report.checks.filter((c) => c.status === 'fail').map((c) => c.id),
    text: [...ui.out, ...ui.err].join('\n'),
  };
}

const fake = () => world.fake;
const ingestFn = () => fake().functions.get(INGEST_FUNCTION);
const bucket = () => fake().buckets.get(LOGS_BUCKET);
const ingestGroup = () => fake().groups.get(INGEST_SG);
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString();
const failedLoad = (object: string, error: string, minutesAgo: number) => ({
  logGroupName: `/aws/lambda/${INGEST_FUNCTION}`,
  eventId: `e-${object}-${minutesAgo}`,
  timestamp: NOW.getTime() - minutesAgo * 60_000,
  message: `2026-11-29T10:00:00.000Z\t5e1f\tERROR\t${JSON.stringify({ level: 'ERROR', message: 'load failed', request_id: '5e1f', object, error })}\n`,
});

/** The ingest function's `grants` answer for ingest_writer on chatbot_db with these tables' privileges. */
function answerGrants(tables: { access_logs: string[]; load_history: string[]; rollups?: string[] }): void {
  fake().actionAnswers.grants = invokeAnswer({
    ok: true,
    action: 'grants',
    result: { user: 'ingest_writer@%', database: 'chatbot_db', tables },
  });
}

describe('doctor: the ingest path when all is well', () => {
  it('passes each ingest check with its evidence', async () => {
    const { code, ingest, text } = await doctor();

    expect(ingest.filter((c) => c.status !== 'pass')).toEqual([]);
    expect(Object.fromEntries(ingest.map((c) => [c.id, c.evidence]))).toEqual({
      'ingest.function': `arn:aws:lambda:us-east-1:123456789012:function:${INGEST_FUNCTION}: State Active, LastUpdateStatus Successful`,
      'ingest.notification': `${LOGS_BUCKET} → ${INGEST_FUNCTION} on ObjectCreated (prefix logs/); S3 may invoke it for this bucket and account only`,
      'ingest.s3-endpoint': 'subnet-0aa1 (rtb-main) → vpce-0s3gw, subnet-0bb2 (rtb-main) → vpce-0s3gw',
      'ingest.s3-egress': `${INGEST_SG}: TCP 443 to pl-63a5400a (S3's prefix list)`,
      'ingest.failure-destination': `2 retries, then ${FAILURE_QUEUE}; alarm ${INGEST_FUNCTION}-errors OK`,
      'ingest.recent-failures': `no failed event in ${FAILURE_QUEUE}, no failed load in the last 24 h`,
      'ingest.database-login':
        'ingest_writer@% may INSERT, SELECT on access_logs; the API function logs in as another user',
      'ingest.freshness': '1,200 rows, the newest from 2026-11-29T11:30:00.000Z (30 min ago)',
    });
    expect(code).toBe(0);
    expect(text).not.toContain(INGEST_DB_PASSWORD);
  });

  it('asks the ingest function for its grants and stats, and nothing live with --offline', async () => {
    await doctor();
    const payloads = world.fake.calls
      .filter((c) => c.command === 'Invoke' && c.input.FunctionName === INGEST_FUNCTION)
      .map((c) => new TextDecoder().decode(c.input.Payload as Uint8Array))
      .sort();
    world.fake.clearCalls();
    const offline = await doctor({}, ['--offline']);

    expect(payloads).toEqual(['{"action":"grants"}', '{"action":"stats"}']);
    expect(offline.checks['ingest.database-login']?.status).toBe('skip');
    expect(offline.checks['ingest.freshness']?.status).toBe('skip');
    expect(world.fake.calls.filter((c) => c.command === 'Invoke')).toEqual([]);
  });

  it('skips every ingest check when the ingest path is off', async () => {
    const { ingest } = await doctor({ ingest: { enabled: false } });

    expect(ingest.map((c) => c.status)).toEqual(Array(8).fill('skip'));
    expect(ingest[0]?.evidence).toBe('the ingest path is off (ingest.enabled is false)');
  });
});

/** [what, change, config, check, status, evidence or fix]. */
const findings: [string, () => void, Record<string, unknown>, string, 'pass' | 'warn' | 'fail', RegExp][] = [
  [
    'the ingest function missing',
    () => fake().functions.delete(INGEST_FUNCTION),
    {},
    'ingest.function',
    'fail',
    /no function named chatbot-ingest: logs that reach the bucket are not loaded.*create-ingest/,
  ],
  [
    'the ingest function still updating',
    () => {
      const c = ingestFn()?.config;
      if (c) c.LastUpdateStatus = 'InProgress';
    },
    {},
    'ingest.function',
    'warn',
    /an update is still being applied/,
  ],
  [
    'the ingest function running the API handler',
    () => {
      const c = ingestFn()?.config;
      if (c) c.Handler = 'lambda_function.lambda_handler';
    },
    {},
    'ingest.function',
    'fail',
    /runs handler lambda_function.lambda_handler, not ingest_function.handler/,
  ],
  [
    'no bucket notification',
    () => {
      const b = bucket();
      if (b) b.notifications = {};
    },
    {},
    'ingest.notification',
    'fail',
    /does not notify chatbot-ingest of new objects/,
  ],
  [
    'no permission for S3',
    () => {
      const f = ingestFn();
      if (f) f.policy = [];
    },
    {},
    'ingest.notification',
    'fail',
    /no permission for S3 to invoke it/,
  ],
  [
    'a permission without SourceAccount',
    () => {
      const statement = ingestFn()?.policy[0] as { Condition: object } | undefined;
      if (statement) statement.Condition = { ArnLike: { 'AWS:SourceArn': `arn:aws:s3:::${LOGS_BUCKET}` } };
    },
    {},
    'ingest.notification',
    'warn',
    /not scoped to arn:aws:s3:::chatbot-logs-.* in account 123456789012/,
  ],
  [
    'the logs bucket gone',
    () => fake().buckets.delete(LOGS_BUCKET),
    {},
    'ingest.notification',
    'fail',
    /the logs bucket chatbot-logs-\S+ does not exist/,
  ],
  [
    'a subnet whose route table lacks the S3 endpoint, no NAT',
    () =>
      fake().routeTables.push({
        RouteTableId: 'rtb-b',
        VpcId: VPC_ID,
        Associations: [{ SubnetId: 'subnet-0bb2' }],
        Routes: [{ DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local' }],
      }),
    {},
    'ingest.s3-endpoint',
    'fail',
    /subnet-0bb2 \(rtb-b\): no S3 gateway endpoint and no NAT route/,
  ],
  [
    'a subnet without the endpoint that has a NAT route',
    () =>
      fake().routeTables.push({
        RouteTableId: 'rtb-nat',
        VpcId: VPC_ID,
        Associations: [{ SubnetId: 'subnet-0bb2' }],
        Routes: [{ DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: 'nat-0a', State: 'active' }],
      }),
    {},
    'ingest.s3-endpoint',
    'warn',
    /S3 is reached through the NAT gateway/,
  ],
  [
    'no HTTPS egress',
    () => {
      const g = ingestGroup();
      if (g) g.IpPermissionsEgress = g.IpPermissionsEgress.filter((r) => r.FromPort !== 443);
    },
    {},
    'ingest.s3-egress',
    'fail',
    /no egress rule of sg-0ccc333 allows TCP 443 to S3 \(pl-63a5400a\)/,
  ],
  [
    'HTTPS egress anywhere',
    () => {
      const g = ingestGroup();
      if (g)
        g.IpPermissionsEgress = [
          { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
        ];
    },
    {},
    'ingest.s3-egress',
    'pass',
    /TCP 443 to 0.0.0.0\/0, which includes S3/,
  ],
  [
    'no on-failure destination',
    () => {
      const f = ingestFn();
      if (f) f.asyncConfig = undefined;
    },
    {},
    'ingest.failure-destination',
    'fail',
    /no on-failure destination: an event that fails three times is dropped/,
  ],
  [
    'no alarm on the ingest errors',
    () => fake().alarms.delete(`${INGEST_FUNCTION}-errors`),
    {},
    'ingest.failure-destination',
    'warn',
    /no alarm watches the Errors of chatbot-ingest/,
  ],
  [
    'failed events in the queue',
    () => {
      const q = fake().queues.get(FAILURE_QUEUE);
      if (q) q.messages = 3;
    },
    {},
    'ingest.recent-failures',
    'warn',
    /3 failed events wait in chatbot-ingest-failures/,
  ],
  [
    'failed loads in the log (each object named once)',
    () => {
      fake().logEvents = [
        failedLoad('s3://b/logs/a.gz', 'not valid gzip', 50),
        failedLoad('s3://b/logs/a.gz', 'not valid gzip', 40),
        failedLoad('s3://b/logs/b.log', 'the database is unreachable (ECONNREFUSED)', 30),
      ];
    },
    {},
    'ingest.recent-failures',
    'warn',
    /2 objects failed to load in the last 24 h \(s3:\/\/b\/logs\/a.gz: not valid gzip; s3:\/\/b\/logs\/b.log: the database is unreachable/,
  ],
  [
    'a login that cannot write',
    () => {
      answerGrants({ access_logs: ['SELECT'], load_history: [] });
    },
    {},
    'ingest.database-login',
    'fail',
    /ingest_writer@% may not SELECT and INSERT on access_logs and load_history in chatbot_db: loads fail/,
  ],
  [
    'a login that cannot update rollup rows',
    () => {
      answerGrants({
        access_logs: ['INSERT', 'SELECT'],
        load_history: ['INSERT', 'SELECT'],
        rollups: ['INSERT', 'SELECT'],
      });
    },
    {},
    'ingest.database-login',
    'fail',
    /ingest_writer@% may not UPDATE on the rollup tables in chatbot_db: a load fails once it adds to a rollup row/,
  ],
  [
    'an ingest function built before rollups (its answer says nothing of them)',
    () => {
      answerGrants({ access_logs: ['INSERT', 'SELECT'], load_history: ['INSERT', 'SELECT'] });
    },
    {},
    'ingest.database-login',
    'pass',
    /ingest_writer@% may INSERT, SELECT on access_logs; the API function logs in as another user/,
  ],
  [
    "the API function's login (no ingest.dbUser)",
    () => {
      const vars = ingestFn()?.config.Environment.Variables;
      if (vars) vars.DB_USER = 'app_user';
    },
    { ingest: {} },
    'ingest.database-login',
    'warn',
    /the API function logs in the same way: the internet-facing function can write too/,
  ],
  [
    'a database the ingest function cannot reach',
    () => {
      fake().actionAnswers.grants = invokeAnswer({
        ok: false,
        action: 'grants',
        error: { message: 'the database is unreachable (ETIMEDOUT); nothing was loaded' },
      });
    },
    {},
    'ingest.database-login',
    'fail',
    /could not read its grants: the database is unreachable \(ETIMEDOUT\)/,
  ],
  [
    'rows older than the lag',
    () => {
      fake().actionAnswers.stats = invokeAnswer({
        ok: true,
        action: 'stats',
        result: { rows: 10, last: hoursAgo(5) },
      });
    },
    {},
    'ingest.freshness',
    'warn',
    /the newest row is from 2026-11-29T07:00:00.000Z \(5.0 h ago\), older than ingest.maxLagMinutes \(120 min\)/,
  ],
  [
    'rows within a longer configured lag',
    () => {
      fake().actionAnswers.stats = invokeAnswer({
        ok: true,
        action: 'stats',
        result: { rows: 10, last: hoursAgo(5) },
      });
    },
    { ingest: { dbUser: 'ingest_writer', maxLagMinutes: 360 } },
    'ingest.freshness',
    'pass',
    /the newest from 2026-11-29T07:00:00.000Z \(5.0 h ago\)/,
  ],
  [
    'an empty table',
    () => {
      fake().actionAnswers.stats = invokeAnswer({
        ok: true,
        action: 'stats',
        result: { rows: 0, last: null },
      });
    },
    {},
    'ingest.freshness',
    'warn',
    /access_logs is empty.*db load --remote FILE/,
  ],
];

describe('doctor: ingest findings', () => {
  it.each(findings)('%s', async (_what, change, config, id, status, text) => {
    change();

    const { code, checks, failing } = await doctor(config);

    const check = checks[id];
    expect(check?.status).toBe(status);
    expect(`${check?.evidence} ${check?.fix ?? ''}`).toMatch(text);
    if (status === 'fail') expect(failing).toContain(id);
    expect(code).toBe(failing.length > 0 ? 1 : 0);
  });

  it("never shows the ingest login's password, even when an answer carries it", async () => {
    vi.stubEnv('INGEST_DB_PASSWORD', INGEST_DB_PASSWORD);
    fake().actionAnswers.grants = invokeAnswer({
      ok: false,
      action: 'grants',
      error: { message: `login refused for ingest_writer with ${INGEST_DB_PASSWORD}` },
    });

    try {
      const { checks, text } = await doctor();

      expect(checks['ingest.database-login']?.evidence).toMatch(
        /login refused for ingest_writer with \*\*\*\*/,
      );
      expect(text).not.toContain(INGEST_DB_PASSWORD);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('a missing ingest function: the checks that need it skip', async () => {
    fake().functions.delete(INGEST_FUNCTION);

    const { checks } = await doctor();

    expect(checks['ingest.s3-egress']).toMatchObject({
      status: 'skip',
      evidence: 'the ingest function chatbot-ingest does not exist',
    });
    expect(checks['ingest.freshness']?.status).toBe('skip');
  });
});
