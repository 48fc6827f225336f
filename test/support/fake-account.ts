// biome-ignore-all lint/suspicious/noExplicitAny: the fake handles SDK inputs and outputs of many shapes
/**
 * The one fake AWS account of the tests: a small in-memory account that answers every AWS call
 * chatbot-ops makes, behind aws-sdk-client-mock (or, for the benchmark, at the end of real clients'
 * middleware), so deploy, destroy, status, doctor, invoke, test and rotate-key tests all meet the
 * same behaviour instead of drifting mock set-ups. What it models, and what it does not:
 *
 * - State, kept in the shapes AWS returns: the IAM roles with managed and inline policies; the VPC's
 *   subnets (with free addresses), route tables, security groups and their rules, VPC endpoints
 *   (interface and gateway, created and deleted; their groups count as in use; a gateway endpoint
 *   adds its route to each of its route tables, as EC2 does) and the AWS-managed prefix lists;
 *   Lambda functions (Pending / InProgress for `pollsUntilReady` polls, a new role not assumable
 *   for `rolePropagation` attempts, a VPC function refused while its role has no network-interface
 *   policy or for `networkPermissionPropagation` attempts after it got one, updates refused while
 *   one is in progress, the resource policy, tracing mode, reserved concurrency,
 *   asynchronous-invocation settings) and the account's
 *   concurrency; log groups and their events; REST APIs with resources, methods, integrations,
 *   stages (tracing, access log settings, the associated web ACL) and the deployments they froze
 *   with their descriptions (`omitApiSummary`: GetDeployment answers without the API summary, as
 *   AWS API emulators do); API Gateway's account CloudWatch role; API keys (with creation dates and
 *   tags), usage plans with their stages and keys, the account's throttle ceiling, quota usage;
 *   metric alarms with their state; dashboards; WAF regional web ACLs with lock tokens and their
 *   associations; RDS instances, parameter groups' user-set parameters and engine versions
 *   (`dbInstances`, `dbParameters`, `engineVersions`: read-only, set by tests); S3 buckets (the
 *   account's, with their public access block, encryption, lifecycle, tags, policy, notification
 *   configuration and objects, and names other accounts own); SQS queues with their attributes and
 *   waiting messages; the STS identity.
 * - AWS's rules where chatbot-ops relies on them: duplicates refused (a role, a group, a method, a
 *   web ACL), missing things are each service's NotFound error, a group in use cannot be deleted,
 *   a plan on a stage cannot be deleted, network interfaces linger `eniPollsAfterDelete` polls
 *   after a function goes, a throttle above the account's ceiling is silently clamped, access
 *   logging refused while the account has no CloudWatch role, a web ACL changed or deleted only
 *   with its current lock token and not deleted while associated, WAF not seeing a new stage for
 *   `wafUnavailableAttempts` associations, a bucket that holds objects cannot be deleted, S3
 *   refuses a notification to a function that does not let S3 invoke it for that bucket (as it
 *   checks by sending a test event), a name another account owns answers 403.
 * - The function's answers: direct invocations answer `health` as a healthy backend and anything
 *   else 400 INVALID_PARAMS (`directAnswers` replaces either); an event with an `action` (the ingest
 *   function's direct invocations) gets `actionAnswers[action]`, else an unknown-action answer. The deployed API is served on
 *   127.0.0.1, at the emulator's path (`/restapis/<id>/<stage>/_user_request_/<resource>`) and at a
 *   custom domain's (`/<stage>/<resource>`), as API Gateway and the function would answer: 403
 *   without an enabled key on a plan of that stage (when the deployed method requires one), 401
 *   when the key's hash is not in the function's API_KEYS, else the healthy answer (`httpAnswers`
 *   replaces either answer, with its own content type: an emulator's HTML error page, say).
 * - Not modelled: pagination (every list is one page), FilterLogEvents' filter patterns (every
 *   event of the window matches), eventual consistency beyond role propagation and lingering
 *   interfaces, permissions (every call is allowed unless a test makes it fail: `failOnce`,
 *   `failAll`), and any call chatbot-ops does not make (it throws, naming the service).
 *
 * It records every call with its input (`calls`), and in mock mode the aws-sdk-client-mock stubs
 * are there too (`stubs`) for tests that assert with their helpers. Its own tests:
 * test/support/fake-account.test.ts.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import * as apigw from '@aws-sdk/client-api-gateway';
import * as cw from '@aws-sdk/client-cloudwatch';
import * as cwl from '@aws-sdk/client-cloudwatch-logs';
import * as ec2 from '@aws-sdk/client-ec2';
import * as iam from '@aws-sdk/client-iam';
import * as lambda from '@aws-sdk/client-lambda';
import * as rds from '@aws-sdk/client-rds';
import * as s3 from '@aws-sdk/client-s3';
import * as sqs from '@aws-sdk/client-sqs';
import * as sts from '@aws-sdk/client-sts';
import * as waf from '@aws-sdk/client-wafv2';
import { type AwsStub, mockClient } from 'aws-sdk-client-mock';
import { type CallCounter, createAwsClients } from '../../src/aws/clients.js';
import type { Clock, Timing } from '../../src/aws/timing.js';
import { hashApiKey } from '../../src/lambda/api-keys.js';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const VPC = 'vpc-0a1b2c3d';
export const PRIVATE_SUBNETS = ['subnet-0a1', 'subnet-0b2'];
export const PUBLIC_SUBNET = 'subnet-0c3';
export const OTHER_VPC_SUBNET = 'subnet-0d4';
export const RDS_SG = 'sg-0d5a1e';
/** S3's managed prefix list in REGION. */
export const S3_PREFIX_LIST = 'pl-63a5400a';

/** One S3 bucket: its settings as S3 returns them, and its objects. */
export interface FakeBucket {
  region: string;
  tags: Record<string, string>;
  publicAccessBlock?: Input;
  encryption?: Input;
  lifecycle?: Input[];
  policy?: string;
  notifications: Input;
  /** Key → size in bytes (one version each). */
  objects: Map<string, number>;
}

export interface Call {
  service: string;
  command: string;
  input: Record<string, unknown>;
}

type Input = Record<string, any>;
type Handler = (input: Input) => unknown;

/** Commands that only read (everything else changes the account). */
export const READ_ONLY = /^(Get|List|Describe|Head|Invoke$)/;

const meta = { $metadata: {} };
const iamError = (E: new (o: { message: string; $metadata: object }) => Error, message: string) =>
  new E({ message, ...meta });
const ec2Error = (code: string) =>
  new ec2.EC2ServiceException({ name: code, $fault: 'client', message: `${code} (fake)`, ...meta });

interface Rule {
  IpProtocol: string;
  FromPort?: number;
  ToPort?: number;
  UserIdGroupPairs?: { GroupId: string }[];
  IpRanges?: { CidrIp: string }[];
  PrefixListIds?: { PrefixListId: string }[];
  Ipv6Ranges?: { CidrIpv6: string }[];
}

interface FakeFunction {
  config: Record<string, any>;
  /** Its asynchronous-invocation settings (PutFunctionEventInvokeConfig), if any. */
  asyncConfig?: Input;
  /** The resource policy's statements (Sid, Effect, Principal, Action, Resource, Condition). */
  policy: Record<string, unknown>[];
  /** GetFunction polls left before State becomes Active / LastUpdateStatus Successful. */
  pendingPolls: number;
  /** Reserved concurrency (PutFunctionConcurrency); undefined: none. */
  reservedConcurrency?: number;
}

/** What a direct invocation answers, as Lambda returns it (or the error Invoke throws). */
export interface InvokeAnswer {
  StatusCode: number;
  FunctionError?: string;
  Payload: Uint8Array;
  LogResult?: string;
  $metadata: { requestId: string };
}

/** The request id the fake's function reports for every invocation. */
export const INVOKE_REQUEST_ID = '5e1f0a2b-0000-4000-8000-00000000c0de';

/** An Invoke answer whose payload is `payload`; `log` comes back as the log tail (LogType Tail). */
export function invokeAnswer(
  payload: unknown,
  extra: { FunctionError?: string; log?: string } = {},
): InvokeAnswer {
  return {
    StatusCode: 200,
    Payload: new TextEncoder().encode(JSON.stringify(payload)),
    ...(extra.FunctionError ? { FunctionError: extra.FunctionError } : {}),
    ...(extra.log ? { LogResult: Buffer.from(extra.log).toString('base64') } : {}),
    $metadata: { requestId: INVOKE_REQUEST_ID },
  };
}

/** The backend's answer to `health` when all is well, as a proxy response. */
export const HEALTHY_RESPONSE = {
  statusCode: 200,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({
    request_id: INVOKE_REQUEST_ID,
    success: true,
    data: { status: 'ok', database: { reachable: true, latency_ms: 4 } },
  }),
};

/** The backend's answer to a request with bad parameters. */
export const INVALID_PARAMS_RESPONSE = {
  statusCode: 400,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({
    request_id: INVOKE_REQUEST_ID,
    success: false,
    error: 'ip_address: must be an IPv4 or IPv6 address',
    error_code: 'INVALID_PARAMS',
  }),
};

/** One HTTP answer of the served API. */
export interface HttpAnswer {
  status: number;
  body: string;
  /** Default application/json. */
  contentType?: string;
}

export interface FakeAccountOptions {
  /** How many GetFunction polls a create or update stays Pending/InProgress. */
  pollsUntilReady?: number;
  /** Network interfaces that linger in the Lambda group for this many polls after the function is deleted. */
  eniPollsAfterDelete?: number;
  /** GetDeployment answers without `apiSummary`, whatever `embed` asks (as moto and other emulators do). */
  omitApiSummary?: boolean;
  /** How many AssociateWebACL calls fail with WAFUnavailableEntityException (a stage WAF does not see yet). */
  wafUnavailableAttempts?: number;
}

export class FakeAccount {
  calls: Call[] = [];
  private failures = new Map<string, Error[]>();
  private mode: 'mock' | 'middleware' = 'mock';
  /** Per client class name: the service label and its command handlers. */
  private services = new Map<string, { service: string; table: Map<string, Handler> }>();
  /** In mock mode, the aws-sdk-client-mock stub of each client, by service: `stubs.lambda.commandCalls(...)`. */
  stubs: Record<
    'sts' | 'iam' | 'ec2' | 'lambda' | 'logs' | 'apigateway' | 'cloudwatch' | 'rds' | 'wafv2' | 's3' | 'sqs',
    AwsStub<any, any, any>
  > = {} as never;
  /** Services whose every call fails with this error (a denied permission, say). */
  private failingServices = new Map<string, Error>();
  private server: Server | undefined;
  private nextId = 1;
  options: Required<FakeAccountOptions>;

  roles = new Map<
    string,
    {
      arn: string;
      trust: string;
      tags: Record<string, string>;
      attached: string[];
      inline: Map<string, string>;
    }
  >();
  /** Role names Lambda cannot assume yet, with how many CreateFunction calls still fail. */
  rolePropagation = new Map<string, number>();
  /**
   * Role names whose network-interface policy Lambda does not see yet, with how many calls that put
   * the function in a VPC still fail. A role with no such policy at all fails them every time.
   */
  networkPermissionPropagation = new Map<string, number>();

  /** What Lambda answers a VPC function whose role cannot (yet) create network interfaces. */
  private checkNetworkPermissions(roleArn: string): void {
    const roleName = String(roleArn).split('/').pop() ?? '';
    const left = this.networkPermissionPropagation.get(roleName) ?? 0;
    const granted = (this.roles.get(roleName)?.attached ?? []).some((a) =>
      /\/(AWSLambdaENIManagementAccess|AWSLambdaVPCAccessExecutionRole)$/.test(a),
    );
    if (granted && left === 0) return;
    this.networkPermissionPropagation.set(roleName, Math.max(0, left - 1));
    throw new lambda.InvalidParameterValueException({
      message: 'The provided execution role does not have permissions to call CreateNetworkInterface on EC2',
      ...meta,
    });
  }
  /** The caller STS names, or the error it throws (no credentials). */
  identity: { Account: string; Arn: string; UserId: string } | Error = {
    Account: ACCOUNT,
    Arn: `arn:aws:iam::${ACCOUNT}:user/deployer`,
    UserId: 'AIDA',
  };
  subnets: Input[] = [
    {
      SubnetId: PRIVATE_SUBNETS[0],
      VpcId: VPC,
      AvailabilityZone: 'us-east-1a',
      CidrBlock: '10.0.1.0/24',
      AvailableIpAddressCount: 250,
    },
    {
      SubnetId: PRIVATE_SUBNETS[1],
      VpcId: VPC,
      AvailabilityZone: 'us-east-1b',
      CidrBlock: '10.0.2.0/24',
      AvailableIpAddressCount: 248,
    },
    {
      SubnetId: PUBLIC_SUBNET,
      VpcId: VPC,
      AvailabilityZone: 'us-east-1a',
      CidrBlock: '10.0.0.0/24',
      AvailableIpAddressCount: 251,
    },
    {
      SubnetId: OTHER_VPC_SUBNET,
      VpcId: 'vpc-0other',
      AvailabilityZone: 'us-east-1c',
      CidrBlock: '172.16.0.0/24',
      AvailableIpAddressCount: 4091,
    },
  ];
  /** Interface and gateway endpoints (VpcEndpointId, VpcEndpointType, State, PrivateDnsEnabled, VpcId, ServiceName, RouteTableIds, Tags). */
  vpcEndpoints: Input[] = [];
  /** AWS-managed prefix lists (DescribeManagedPrefixLists): S3's in the region. */
  prefixLists: Input[] = [{ PrefixListId: S3_PREFIX_LIST, PrefixListName: `com.amazonaws.${REGION}.s3` }];
  routeTables: Input[] = [
    {
      RouteTableId: 'rtb-main',
      VpcId: VPC,
      Associations: [{ Main: true }],
      Routes: [{ DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local' }],
    },
    {
      RouteTableId: 'rtb-public',
      VpcId: VPC,
      Associations: [{ Main: false, SubnetId: PUBLIC_SUBNET }],
      Routes: [{ GatewayId: 'local' }, { DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'igw-0abc' }],
    },
    // The second private subnet has a table of its own; the first uses the main table.
    {
      RouteTableId: 'rtb-private-b',
      VpcId: VPC,
      Associations: [{ Main: false, SubnetId: PRIVATE_SUBNETS[1] }],
      Routes: [{ DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local' }],
    },
  ];
  groups = new Map<
    string,
    {
      GroupId: string;
      GroupName: string;
      VpcId: string;
      Description: string;
      IpPermissions: Rule[];
      IpPermissionsEgress: Rule[];
      Tags: { Key: string; Value: string }[];
    }
  >();
  lingeringEnis = new Map<string, number>();
  /** VPCs with an IPv6 block: a new security group there also gets an allow-all egress to ::/0. */
  dualStackVpcs = new Set<string>();
  /** Called as each call arrives, before it is answered (a test presses Ctrl-C in the middle of one). */
  onCall: ((command: string) => void) | undefined;
  /** Revokes report every rule as unknown and remove nothing (what a read after a revoke must catch). */
  revokesMatchNothing = false;
  /** So many revokes match nothing, then they work (moto refusing the first, description-less one). */
  revokesMatchNothingTimes = 0;
  functions = new Map<string, FakeFunction>();
  logGroups = new Map<string, { retentionInDays?: number }>();
  /** Log events of any group, as FilterLogEvents returns them; `logGroupName` says whose. */
  logEvents: (Input & { logGroupName?: string })[] = [];
  /** What a direct invocation of any function answers: to `health`, and to anything else. */
  directAnswers: { health: InvokeAnswer | Error; other: InvokeAnswer | Error } = {
    health: invokeAnswer(HEALTHY_RESPONSE),
    other: invokeAnswer(INVALID_PARAMS_RESPONSE),
  };
  /** What a direct invocation with `{"action": ...}` answers (the ingest function's init, stats, grants...), by action. */
  actionAnswers: Record<string, InvokeAnswer | Error> = {};
  /** S3 buckets of this account, by name. */
  buckets = new Map<string, FakeBucket>();
  /** Bucket names another account owns: HeadBucket answers 403, CreateBucket BucketAlreadyExists. */
  foreignBuckets = new Set<string>();
  /** SQS queues by name. */
  queues = new Map<
    string,
    { url: string; attributes: Record<string, string>; tags: Record<string, string>; messages: number }
  >();
  /** Answers the served API gives instead of the modelled ones (a 429, an API open without a key). */
  httpAnswers: { withKey?: HttpAnswer; withoutKey?: HttpAnswer } = {};
  apis = new Map<
    string,
    {
      id: string;
      name: string;
      types: string[];
      resources: Map<
        string,
        { id: string; parentId?: string; path: string; pathPart?: string; methods: Record<string, Input> }
      >;
      stages: Map<string, string>;
    }
  >();
  apiKeys = new Map<
    string,
    {
      id: string;
      name: string;
      value: string;
      enabled: boolean;
      createdDate: Date;
      tags: Record<string, string>;
    }
  >();
  /** Requests the served API received: where, and with which x-api-key (undefined: none). */
  requests: { path: string; apiKey: string | undefined }[] = [];
  usagePlans = new Map<
    string,
    {
      id: string;
      name: string;
      throttle: Input;
      quota: Input;
      apiStages: { apiId: string; stage: string }[];
      keys: string[];
    }
  >();
  /** Metric alarms by name: what PutMetricAlarm was given, with StateValue and StateReason. */
  alarms = new Map<string, Input>();
  /** Quota usage per key id: one [used, remaining] per day of the period asked (GetUsage). */
  usage: Record<string, number[][]> = {};
  /** Tags of each stage, by `<api id>/<stage>` (CreateDeployment makes a stage without any). */
  stageTags = new Map<string, Record<string, string>>();
  /** Deployment id → the methods it froze (path → verb → { apiKeyRequired, authorizationType }). */
  deployments = new Map<string, Input>();
  /** When each deployment was made (GetDeployment's createdDate). */
  deploymentDates = new Map<string, Date>();
  /**
   * The account's API Gateway throttle ceiling: a usage plan asking for more silently gets this,
   * which is what the read-back after a usage plan change must catch.
   */
  accountThrottleLimit = { rateLimit: Number.POSITIVE_INFINITY, burstLimit: Number.POSITIVE_INFINITY };
  /** Deployment id → the description it was made with. */
  deploymentDescriptions = new Map<string, string>();
  /** `<apiId>/<stage>` → the stage settings UpdateStage changes (tracingEnabled, accessLogSettings). */
  stageSettings = new Map<string, Input>();
  /** API Gateway's account settings in this region (GetAccount). */
  apiGatewayAccount: { cloudwatchRoleArn?: string } = {};
  /** Lambda's account limits in this region (GetAccountSettings). */
  lambdaAccountLimit = { ConcurrentExecutions: 1000 };
  /** Dashboards by name: their body. */
  dashboards = new Map<string, string>();
  /** Regional web ACLs by id, in GetWebACL's shape, with their lock token and tags. */
  webAcls = new Map<string, Input>();
  /** Resource ARN (a stage's) → the ARN of the web ACL in front of it. */
  webAclAssociations = new Map<string, string>();
  /** RDS instances, in DescribeDBInstances' shape. */
  dbInstances: Input[] = [];
  /** Parameter group name → its parameters (ParameterName, ParameterValue, Source 'user' or 'engine-default'). */
  dbParameters: Record<string, Input[]> = {};
  /** Engine versions RDS knows (Engine, EngineVersion, Status 'available' or 'deprecated'). */
  engineVersions: Input[] = [
    { Engine: 'mariadb', EngineVersion: '10.11.9', Status: 'available' },
    { Engine: 'mariadb', EngineVersion: '10.4.34', Status: 'deprecated' },
  ];

  constructor(options: FakeAccountOptions = {}) {
    this.options = {
      pollsUntilReady: 0,
      eniPollsAfterDelete: 0,
      omitApiSummary: false,
      wafUnavailableAttempts: 0,
      ...options,
    };
    this.groups.set(RDS_SG, {
      GroupId: RDS_SG,
      GroupName: 'rds-chatbot',
      VpcId: VPC,
      Description: 'rds',
      IpPermissions: [],
      IpPermissionsEgress: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
      Tags: [],
    });
  }

  /**
   * Install the fake on every client class. `mock` (the tests): aws-sdk-client-mock replaces
   * `send`. `middleware` (the benchmark): nothing global; `awsFactory` builds real clients whose
   * middleware stack runs (the call counter of src/aws/clients.ts included) and whose last
   * initialize middleware answers from this account instead of serializing a request.
   * Call `stop()` after the test.
   */
  start(mode: 'mock' | 'middleware' = 'mock'): this {
    this.mode = mode;
    this.install('STS', sts.STSClient, [
      [
        sts.GetCallerIdentityCommand,
        () => {
          if (this.identity instanceof Error) throw this.identity;
          return { ...this.identity };
        },
      ],
    ]);
    this.install('IAM', iam.IAMClient, this.iamHandlers());
    this.install('EC2', ec2.EC2Client, this.ec2Handlers());
    this.install('Lambda', lambda.LambdaClient, this.lambdaHandlers());
    this.install('CloudWatchLogs', cwl.CloudWatchLogsClient, this.logsHandlers());
    this.install('APIGateway', apigw.APIGatewayClient, this.apigwHandlers());
    this.install('CloudWatch', cw.CloudWatchClient, this.cloudwatchHandlers());
    this.install('S3', s3.S3Client, this.s3Handlers());
    this.install('SQS', sqs.SQSClient, this.sqsHandlers());
    this.install('RDS', rds.RDSClient, this.rdsHandlers());
    this.install('WAFV2', waf.WAFV2Client, this.wafHandlers());
    return this;
  }

  stop(): void {
    for (const s of Object.values(this.stubs)) s.restore();
    this.stubs = {} as never;
    this.server?.close();
  }

  /** Calls counted by the clients' own middleware (src/aws/clients.ts), in `middleware` mode. */
  counter: CallCounter = new Map();

  /**
   * The awsFactory for main(): real client objects whose send() the mocks replace, or (middleware
   * mode) whose middleware stack counts the call and hands it to this account.
   */
  awsFactory = (settings: Parameters<typeof createAwsClients>[0]) =>
    this.mode === 'middleware'
      ? createAwsClients(settings, this.counter, (client) => this.attach(client))
      : createAwsClients(settings);

  /** The next call of this command fails with this error (default: a 500-like service error). */
  failOnce(command: string, error?: Error): void {
    const list = this.failures.get(command) ?? [];
    list.push(error ?? Object.assign(new Error(`${command} failed (injected)`), { name: 'InternalFailure' }));
    this.failures.set(command, list);
  }

  mutatingCalls(): Call[] {
    return this.calls.filter((c) => !READ_ONLY.test(c.command));
  }

  /** "Service.Command" of every call, in order. */
  commandNames(calls: Call[] = this.calls): string[] {
    return calls.map((c) => `${c.service}.${c.command}`);
  }

  /** Forget the calls made so far (the fake's record and the stubs' histories), so a test sees only what follows. */
  clearCalls(): void {
    this.calls = [];
    for (const s of Object.values(this.stubs)) s.resetHistory();
  }

  /** Every call to this service fails with `error` from now on (e.g. a permission the caller lacks). */
  failAll(
    service:
      | 'STS'
      | 'IAM'
      | 'EC2'
      | 'Lambda'
      | 'CloudWatchLogs'
      | 'APIGateway'
      | 'CloudWatch'
      | 'RDS'
      | 'WAFV2'
      | 'S3'
      | 'SQS',
    error: Error,
  ): void {
    this.failingServices.set(service, error);
  }

  /** What the served API answers: the test's `httpAnswers` when set, else `modelledAnswer`. */
  answerApi(path: string, apiKey: string | undefined): HttpAnswer {
    return (
      (apiKey === undefined ? this.httpAnswers.withoutKey : this.httpAnswers.withKey) ??
      this.modelledAnswer(path, apiKey)
    );
  }

  /**
   * What the deployed API answers to a POST at `path` (the emulator's or a custom domain's form)
   * with this x-api-key (undefined: no header), as API Gateway and then the function would.
   */
  modelledAnswer(path: string, apiKey: string | undefined): HttpAnswer {
    const emulator = /^\/restapis\/([^/]+)\/([^/]+)\/_user_request_\/(.+)$/.exec(path);
    const domain = /^\/([^/]+)\/(.+)$/.exec(path);
    const stage = emulator?.[2] ?? domain?.[1] ?? '';
    const resource = emulator?.[3] ?? domain?.[2] ?? '';
    const api = emulator
      ? this.apis.get(emulator[1] ?? '')
      : [...this.apis.values()].find((a) => a.stages.has(stage));
    const deploymentId = api?.stages.get(stage);
    if (!api || !deploymentId) return { status: 404, body: '{"message":"Not Found"}' };
    const served = this.deployments.get(deploymentId)?.[`/${resource}`]?.POST;
    if (!served) return { status: 403, body: '{"message":"Missing Authentication Token"}' };
    if (served.apiKeyRequired) {
      const onPlan = [...this.usagePlans.values()].some(
        (p) =>
          p.apiStages.some((s) => s.apiId === api.id && s.stage === stage) &&
          p.keys.some((k) => this.apiKeys.get(k)?.enabled && this.apiKeys.get(k)?.value === apiKey),
      );
      if (apiKey === undefined || !onPlan) return { status: 403, body: '{"message":"Forbidden"}' };
    }
    // The function the integration calls checks the key against its own API_KEYS.
    const uri = [...api.resources.values()].find((r) => r.path === `/${resource}`)?.methods.POST
      ?.methodIntegration?.uri as string | undefined;
    const fn = this.functions.get(/:function:([^/:]+)/.exec(uri ?? '')?.[1] ?? '');
    if (!fn) return { status: 502, body: '{"message":"Internal server error"}' };
    const accepted = String(fn.config.Environment?.Variables?.API_KEYS ?? '').split(',');
    if (apiKey === undefined || !accepted.includes(hashApiKey(apiKey)))
      return {
        status: 401,
        body: '{"success":false,"error":"missing or invalid API key","error_code":"UNAUTHORIZED"}',
      };
    return { status: 200, body: HEALTHY_RESPONSE.body };
  }

  /** Start the API on 127.0.0.1; returns the endpoint URL to pass as --endpoint-url. */
  async serveApi(): Promise<string> {
    this.server = createServer((req, res) => {
      const header = req.headers['x-api-key'];
      const apiKey = header === undefined ? undefined : String(header);
      this.requests.push({ path: req.url ?? '', apiKey });
      req.resume();
      req.on('end', () => {
        const answer = this.answerApi(req.url ?? '', apiKey);
        res.writeHead(answer.status, { 'content-type': answer.contentType ?? 'application/json' });
        res.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  private id(prefix: string): string {
    return `${prefix}${(this.nextId++).toString(16).padStart(6, '0')}`;
  }

  private install(
    service: string,
    Client: new (c: object) => any,
    handlers: [new (i: any) => any, Handler][],
  ): void {
    const table = new Map<string, Handler>();
    for (const [Command, handle] of handlers) table.set(Command.name.replace(/Command$/, ''), handle);
    this.services.set(Client.name, { service, table });
    if (this.mode === 'middleware') return;
    const stub = mockClient(Client);
    // Anything chatbot-ops sends that is not modelled below fails loudly instead of answering undefined.
    stub.onAnyCommand().callsFake((input: Input) => {
      throw new Error(
        `the fake account does not model this ${service} call (input ${JSON.stringify(input)})`,
      );
    });
    for (const [Command] of handlers) {
      const command = Command.name.replace(/Command$/, '');
      stub.on(Command).callsFake((input: Input) => this.answer(service, table, command, input));
    }
    const key = {
      STS: 'sts',
      IAM: 'iam',
      EC2: 'ec2',
      Lambda: 'lambda',
      CloudWatchLogs: 'logs',
      APIGateway: 'apigateway',
      CloudWatch: 'cloudwatch',
      S3: 's3',
      SQS: 'sqs',
      RDS: 'rds',
      WAFV2: 'wafv2',
    } as const;
    this.stubs[key[service as keyof typeof key]] = stub;
  }

  /** Record the call, fail it when told to, else let the account handle it. */
  private async answer(service: string, table: Map<string, Handler>, command: string, input: Input) {
    this.calls.push({ service, command, input });
    this.onCall?.(command);
    const injected = this.failures.get(command)?.shift() ?? this.failingServices.get(service);
    if (injected) throw injected;
    const handle = table.get(command);
    if (!handle) throw new Error(`the fake account does not model ${service}.${command}`);
    return { ...meta, ...((await handle(input)) as object) };
  }

  /** For `middleware` mode: answer every command of this client from the account. */
  private attach(client: unknown): void {
    (client as { middlewareStack: { add: (...a: any[]) => void } }).middlewareStack.add(
      (_next: unknown, context: { clientName?: string; commandName?: string }) =>
        async (args: { input: Input }) => {
          const entry = this.services.get(context.clientName ?? '');
          if (!entry) throw new Error(`the fake account does not model ${context.clientName}`);
          const command = (context.commandName ?? '').replace(/Command$/, '');
          return { output: await this.answer(entry.service, entry.table, command, args.input), response: {} };
        },
      { step: 'initialize', priority: 'low', name: 'fakeAccountAnswer' },
    );
  }

  private clampThrottle(t: Input): Input {
    const out = { ...t };
    for (const f of ['rateLimit', 'burstLimit'] as const)
      if (typeof out[f] === 'number') out[f] = Math.min(out[f], this.accountThrottleLimit[f]);
    return out;
  }

  // ---- IAM -------------------------------------------------------------------------------------
  private role(name: string) {
    const r = this.roles.get(name);
    if (!r) throw iamError(iam.NoSuchEntityException, `The role with name ${name} cannot be found.`);
    return r;
  }

  private iamHandlers(): [new (i: any) => any, Handler][] {
    return [
      [
        iam.GetRoleCommand,
        (i) => {
          const r = this.role(i.RoleName);
          // IAM returns policy documents URL-encoded.
          return {
            Role: {
              RoleName: i.RoleName,
              Arn: r.arn,
              AssumeRolePolicyDocument: encodeURIComponent(r.trust),
              Tags: Object.entries(r.tags).map(([Key, Value]) => ({ Key, Value })),
            },
          };
        },
      ],
      [
        iam.CreateRoleCommand,
        (i) => {
          if (this.roles.has(i.RoleName)) throw iamError(iam.EntityAlreadyExistsException, 'exists');
          const arn = `arn:aws:iam::${ACCOUNT}:role/${i.RoleName}`;
          this.roles.set(i.RoleName, {
            arn,
            trust: i.AssumeRolePolicyDocument,
            tags: Object.fromEntries((i.Tags ?? []).map((t: Input) => [t.Key, t.Value])),
            attached: [],
            inline: new Map(),
          });
          return { Role: { RoleName: i.RoleName, Arn: arn } };
        },
      ],
      [
        iam.UpdateAssumeRolePolicyCommand,
        (i) => {
          this.role(i.RoleName).trust = i.PolicyDocument;
          return {};
        },
      ],
      [
        iam.TagRoleCommand,
        (i) => {
          const r = this.role(i.RoleName);
          for (const t of i.Tags) r.tags[t.Key] = t.Value;
          return {};
        },
      ],
      [
        iam.ListAttachedRolePoliciesCommand,
        (i) => ({
          AttachedPolicies: this.role(i.RoleName).attached.map((PolicyArn) => ({
            PolicyArn,
            PolicyName: PolicyArn.split('/').pop(),
          })),
          IsTruncated: false,
        }),
      ],
      [
        iam.AttachRolePolicyCommand,
        (i) => {
          const r = this.role(i.RoleName);
          if (!r.attached.includes(i.PolicyArn)) r.attached.push(i.PolicyArn);
          return {};
        },
      ],
      [
        iam.DetachRolePolicyCommand,
        (i) => {
          const r = this.role(i.RoleName);
          if (!r.attached.includes(i.PolicyArn)) throw iamError(iam.NoSuchEntityException, 'not attached');
          r.attached = r.attached.filter((a) => a !== i.PolicyArn);
          return {};
        },
      ],
      [
        iam.ListRolePoliciesCommand,
        (i) => ({ PolicyNames: [...this.role(i.RoleName).inline.keys()], IsTruncated: false }),
      ],
      [
        iam.GetRolePolicyCommand,
        (i) => {
          const doc = this.role(i.RoleName).inline.get(i.PolicyName);
          if (doc === undefined) throw iamError(iam.NoSuchEntityException, 'no policy');
          return { RoleName: i.RoleName, PolicyName: i.PolicyName, PolicyDocument: encodeURIComponent(doc) };
        },
      ],
      [
        iam.PutRolePolicyCommand,
        (i) => {
          this.role(i.RoleName).inline.set(i.PolicyName, i.PolicyDocument);
          return {};
        },
      ],
      [
        iam.DeleteRolePolicyCommand,
        (i) => {
          if (!this.role(i.RoleName).inline.delete(i.PolicyName))
            throw iamError(iam.NoSuchEntityException, 'no policy');
          return {};
        },
      ],
      [
        iam.DeleteRoleCommand,
        (i) => {
          const r = this.role(i.RoleName);
          if (r.attached.length > 0 || r.inline.size > 0)
            throw iamError(iam.DeleteConflictException, 'must detach policies first');
          this.roles.delete(i.RoleName);
          return {};
        },
      ],
    ];
  }

  // ---- EC2 -------------------------------------------------------------------------------------
  private group(id: string) {
    const g = this.groups.get(id);
    if (!g) throw ec2Error('InvalidGroup.NotFound');
    return g;
  }

  private enis(groupId: string): string[] {
    const inUse =
      [...this.functions.values()].some((f) =>
        (f.config.VpcConfig?.SecurityGroupIds ?? []).includes(groupId),
      ) || this.vpcEndpoints.some((e) => (e.Groups ?? []).some((g: Input) => g.GroupId === groupId));
    const lingering = this.lingeringEnis.get(groupId) ?? 0;
    if (!inUse && lingering > 0) this.lingeringEnis.set(groupId, lingering - 1);
    return inUse || lingering > 0 ? ['eni-0lambda1', 'eni-0lambda2'] : [];
  }

  /** A gateway endpoint's route in a route table (to the service's prefix list), added or removed as EC2 does. */
  private routeToEndpoint(tableId: string, endpointId: string, service: string, add: boolean): void {
    const table = this.routeTables.find((t) => t.RouteTableId === tableId);
    if (!table) return;
    const list = this.prefixLists.find((p) => p.PrefixListName === service)?.PrefixListId;
    table.Routes = (table.Routes ?? []).filter((r: Input) => r.GatewayId !== endpointId);
    if (add) table.Routes.push({ DestinationPrefixListId: list, GatewayId: endpointId, State: 'active' });
  }

  private ec2Handlers(): [new (i: any) => any, Handler][] {
    const filter = (i: Input, name: string): string[] | undefined =>
      i.Filters?.find((f: Input) => f.Name === name)?.Values;
    const sameRule = (a: Rule, b: Rule) => JSON.stringify(a) === JSON.stringify(b);
    const split = (perms: Rule[]): Rule[] =>
      perms.flatMap((p) => {
        const base = {
          IpProtocol: p.IpProtocol,
          ...(p.FromPort !== undefined ? { FromPort: p.FromPort, ToPort: p.ToPort } : {}),
        };
        return [
          ...(p.UserIdGroupPairs ?? []).map((g) => ({ ...base, UserIdGroupPairs: [{ GroupId: g.GroupId }] })),
          ...(p.IpRanges ?? []).map((r) => ({ ...base, IpRanges: [{ CidrIp: r.CidrIp }] })),
          ...(p.PrefixListIds ?? []).map((r) => ({
            ...base,
            PrefixListIds: [{ PrefixListId: r.PrefixListId }],
          })),
          ...(p.Ipv6Ranges ?? []).map((r) => ({ ...base, Ipv6Ranges: [{ CidrIpv6: r.CidrIpv6 }] })),
        ];
      });
    const authorize = (key: 'IpPermissions' | 'IpPermissionsEgress') => (i: Input) => {
      const g = this.group(i.GroupId);
      const rules = split(i.IpPermissions);
      if (rules.some((r) => g[key].some((x) => sameRule(x, r))))
        throw ec2Error('InvalidPermission.Duplicate');
      g[key].push(...rules);
      return { Return: true };
    };
    // As EC2 documents: rules that match nothing do not fail the call; the answer lists them.
    const revoke = (key: 'IpPermissions' | 'IpPermissionsEgress') => (i: Input) => {
      const g = this.group(i.GroupId);
      const rules = split(i.IpPermissions);
      const nothing = this.revokesMatchNothing || this.revokesMatchNothingTimes > 0;
      if (this.revokesMatchNothingTimes > 0) this.revokesMatchNothingTimes--;
      const unknown = nothing ? rules : rules.filter((r) => !g[key].some((x) => sameRule(x, r)));
      g[key] = g[key].filter((x) => !rules.some((r) => sameRule(x, r)) || nothing);
      return { Return: true, ...(unknown.length > 0 ? { UnknownIpPermissions: unknown } : {}) };
    };
    const references = (g: { IpPermissions: Rule[]; IpPermissionsEgress: Rule[] }, i: Input) => {
      const inIngress = filter(i, 'ip-permission.group-id');
      const inEgress = filter(i, 'egress.ip-permission.group-id');
      const refers = (rules: Rule[], ids: string[]) =>
        rules.some((r) => r.UserIdGroupPairs?.some((p) => ids.includes(p.GroupId)));
      return (
        (!inIngress || refers(g.IpPermissions, inIngress)) &&
        (!inEgress || refers(g.IpPermissionsEgress, inEgress))
      );
    };
    return [
      [
        ec2.DescribeVpcsCommand,
        () => ({
          Vpcs: [
            {
              VpcId: VPC,
              CidrBlock: '10.0.0.0/16',
              IsDefault: false,
              Tags: [{ Key: 'Name', Value: 'chatbot' }],
            },
            { VpcId: 'vpc-0other', CidrBlock: '172.16.0.0/16', IsDefault: true },
          ],
        }),
      ],
      [
        ec2.DescribeSubnetsCommand,
        (i) => {
          if (i.SubnetIds) {
            const unknown = i.SubnetIds.filter((id: string) => !this.subnets.some((s) => s.SubnetId === id));
            if (unknown.length > 0) throw ec2Error('InvalidSubnetID.NotFound');
            return { Subnets: this.subnets.filter((s) => i.SubnetIds.includes(s.SubnetId)) };
          }
          const vpc = filter(i, 'vpc-id');
          return { Subnets: this.subnets.filter((s) => !vpc || vpc.includes(s.VpcId)) };
        },
      ],
      [
        ec2.DescribeVpcEndpointsCommand,
        (i) => ({
          VpcEndpoints: this.vpcEndpoints
            .filter(
              (e) =>
                (!e.VpcId || (filter(i, 'vpc-id')?.includes(e.VpcId) ?? true)) &&
                (!e.ServiceName || (filter(i, 'service-name')?.includes(e.ServiceName) ?? true)) &&
                (!e.VpcEndpointType || (filter(i, 'vpc-endpoint-type')?.includes(e.VpcEndpointType) ?? true)),
            )
            .map((e) => structuredClone(e)),
        }),
      ],
      [
        ec2.CreateVpcEndpointCommand,
        (i) => {
          for (const g of i.SecurityGroupIds ?? []) this.group(g);
          const id = this.id('vpce-0');
          const endpoint = {
            VpcEndpointId: id,
            VpcEndpointType: i.VpcEndpointType ?? 'Gateway',
            VpcId: i.VpcId,
            ServiceName: i.ServiceName,
            State: 'available',
            PrivateDnsEnabled: i.PrivateDnsEnabled === true,
            SubnetIds: [...(i.SubnetIds ?? [])],
            RouteTableIds: [...(i.RouteTableIds ?? [])],
            Groups: (i.SecurityGroupIds ?? []).map((GroupId: string) => ({ GroupId })),
            Tags: i.TagSpecifications?.[0]?.Tags ?? [],
          };
          this.vpcEndpoints.push(endpoint);
          for (const t of endpoint.RouteTableIds) this.routeToEndpoint(t, id, i.ServiceName, true);
          return { VpcEndpoint: structuredClone(endpoint) };
        },
      ],
      [
        ec2.ModifyVpcEndpointCommand,
        (i) => {
          const e = this.vpcEndpoints.find((x) => x.VpcEndpointId === i.VpcEndpointId);
          if (!e) throw ec2Error('InvalidVpcEndpointId.NotFound');
          for (const t of i.AddRouteTableIds ?? []) {
            if (!this.routeTables.some((r) => r.RouteTableId === t))
              throw ec2Error('InvalidRouteTableId.NotFound');
            if (!e.RouteTableIds.includes(t)) e.RouteTableIds.push(t);
            this.routeToEndpoint(t, e.VpcEndpointId, e.ServiceName, true);
          }
          for (const t of i.RemoveRouteTableIds ?? []) {
            e.RouteTableIds = e.RouteTableIds.filter((x: string) => x !== t);
            this.routeToEndpoint(t, e.VpcEndpointId, e.ServiceName, false);
          }
          return { Return: true };
        },
      ],
      [
        ec2.DeleteVpcEndpointsCommand,
        (i) => {
          const Unsuccessful: Input[] = [];
          for (const id of i.VpcEndpointIds) {
            const e = this.vpcEndpoints.find((x) => x.VpcEndpointId === id);
            if (!e) {
              Unsuccessful.push({
                ResourceId: id,
                Error: { Code: 'InvalidVpcEndpoint.NotFound', Message: 'gone' },
              });
              continue;
            }
            for (const t of e.RouteTableIds ?? []) this.routeToEndpoint(t, id, e.ServiceName, false);
            this.vpcEndpoints = this.vpcEndpoints.filter((x) => x !== e);
          }
          return { Unsuccessful };
        },
      ],
      [
        ec2.DescribeManagedPrefixListsCommand,
        (i) => {
          // Every region has S3's list; the fake names the others after their region.
          const names = filter(i, 'prefix-list-name') ?? [];
          const lists = [
            ...this.prefixLists,
            ...names
              .filter((n) => /^com\.amazonaws\.[a-z0-9-]+\.s3$/.test(n))
              .filter((n) => !this.prefixLists.some((p) => p.PrefixListName === n))
              .map((n) => ({ PrefixListId: `pl-${n.split('.')[2]}`, PrefixListName: n })),
          ];
          return { PrefixLists: lists.filter((p) => names.length === 0 || names.includes(p.PrefixListName)) };
        },
      ],
      [
        ec2.DescribeRouteTablesCommand,
        (i) => ({
          RouteTables: this.routeTables.filter((t) => filter(i, 'vpc-id')?.includes(t.VpcId) ?? true),
        }),
      ],
      [
        ec2.DescribeSecurityGroupsCommand,
        (i) => {
          if (i.GroupIds) return { SecurityGroups: i.GroupIds.map((id: string) => this.group(id)) };
          const vpc = filter(i, 'vpc-id');
          const name = filter(i, 'group-name');
          return {
            SecurityGroups: [...this.groups.values()].filter(
              (g) =>
                (!vpc || vpc.includes(g.VpcId)) && (!name || name.includes(g.GroupName)) && references(g, i),
            ),
          };
        },
      ],
      [
        ec2.CreateSecurityGroupCommand,
        (i) => {
          if ([...this.groups.values()].some((g) => g.VpcId === i.VpcId && g.GroupName === i.GroupName))
            throw ec2Error('InvalidGroup.Duplicate');
          const id = this.id('sg-0');
          this.groups.set(id, {
            GroupId: id,
            GroupName: i.GroupName,
            VpcId: i.VpcId,
            Description: i.Description,
            IpPermissions: [],
            // Like EC2: every new group may send anything anywhere until told otherwise (over IPv6
            // too, in a VPC with an IPv6 block).
            IpPermissionsEgress: [
              { IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
              ...(this.dualStackVpcs.has(i.VpcId)
                ? [{ IpProtocol: '-1', Ipv6Ranges: [{ CidrIpv6: '::/0' }] }]
                : []),
            ],
            Tags: i.TagSpecifications?.[0]?.Tags ?? [],
          });
          return { GroupId: id };
        },
      ],
      [ec2.AuthorizeSecurityGroupIngressCommand, authorize('IpPermissions')],
      [ec2.AuthorizeSecurityGroupEgressCommand, authorize('IpPermissionsEgress')],
      [ec2.RevokeSecurityGroupIngressCommand, revoke('IpPermissions')],
      [ec2.RevokeSecurityGroupEgressCommand, revoke('IpPermissionsEgress')],
      [
        ec2.DeleteSecurityGroupCommand,
        (i) => {
          this.group(i.GroupId);
          const referenced = [...this.groups.values()].some((g) =>
            g.IpPermissions.some((r) => r.UserIdGroupPairs?.some((p) => p.GroupId === i.GroupId)),
          );
          if (referenced || this.enis(i.GroupId).length > 0) throw ec2Error('DependencyViolation');
          this.groups.delete(i.GroupId);
          return {};
        },
      ],
      [
        ec2.DescribeNetworkInterfacesCommand,
        (i) => ({
          NetworkInterfaces: this.enis(filter(i, 'group-id')?.[0] ?? '').map((NetworkInterfaceId) => ({
            NetworkInterfaceId,
          })),
        }),
      ],
    ];
  }

  // ---- Lambda ----------------------------------------------------------------------------------
  private fn(name: string): FakeFunction {
    const f = this.functions.get(name);
    if (!f) throw new lambda.ResourceNotFoundException({ message: `Function not found: ${name}`, ...meta });
    return f;
  }

  private busy(f: FakeFunction): void {
    if (f.config.State === 'Pending' || f.config.LastUpdateStatus === 'InProgress') {
      throw new lambda.ResourceConflictException({
        message: 'The operation cannot be performed at this time. An update is in progress',
        ...meta,
      });
    }
  }

  private lambdaHandlers(): [new (i: any) => any, Handler][] {
    const sha = (zip: Uint8Array) => createHash('sha256').update(zip).digest('base64');
    const poll = (name: string) => {
      const f = this.fn(name);
      if (f.pendingPolls > 0) f.pendingPolls--;
      else {
        if (f.config.State === 'Pending') f.config.State = 'Active';
        if (f.config.LastUpdateStatus === 'InProgress') f.config.LastUpdateStatus = 'Successful';
      }
      return f;
    };
    const startUpdate = (f: FakeFunction) => {
      if (this.options.pollsUntilReady > 0) {
        f.config.LastUpdateStatus = 'InProgress';
        f.pendingPolls = this.options.pollsUntilReady;
      }
    };
    return [
      [lambda.GetFunctionConfigurationCommand, (i) => structuredClone(this.fn(i.FunctionName).config)],
      [lambda.GetFunctionCommand, (i) => ({ Configuration: structuredClone(poll(i.FunctionName).config) })],
      [
        lambda.CreateFunctionCommand,
        (i) => {
          const roleName = String(i.Role).split('/').pop() ?? '';
          const left = this.rolePropagation.get(roleName) ?? 0;
          if (!this.roles.has(roleName) || left > 0) {
            this.rolePropagation.set(roleName, Math.max(0, left - 1));
            throw new lambda.InvalidParameterValueException({
              message: 'The role defined for the function cannot be assumed by Lambda.',
              ...meta,
            });
          }
          if (this.functions.has(i.FunctionName))
            throw new lambda.ResourceConflictException({ message: 'Function already exist', ...meta });
          if ((i.VpcConfig?.SubnetIds ?? []).length > 0) this.checkNetworkPermissions(i.Role);
          const config = {
            FunctionName: i.FunctionName,
            FunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${i.FunctionName}`,
            Runtime: i.Runtime,
            Handler: i.Handler,
            Role: i.Role,
            MemorySize: i.MemorySize,
            Timeout: i.Timeout,
            Architectures: i.Architectures,
            Environment: { Variables: { ...i.Environment.Variables } },
            VpcConfig: {
              SubnetIds: [...(i.VpcConfig?.SubnetIds ?? [])],
              SecurityGroupIds: [...(i.VpcConfig?.SecurityGroupIds ?? [])],
              VpcId: VPC,
            },
            CodeSha256: sha(i.Code.ZipFile),
            State: this.options.pollsUntilReady > 0 ? 'Pending' : 'Active',
            LastUpdateStatus: 'Successful',
            TracingConfig: { Mode: i.TracingConfig?.Mode ?? 'PassThrough' },
          };
          this.functions.set(i.FunctionName, {
            config,
            policy: [],
            pendingPolls: this.options.pollsUntilReady,
          });
          return structuredClone(config);
        },
      ],
      [
        lambda.UpdateFunctionConfigurationCommand,
        (i) => {
          const f = this.fn(i.FunctionName);
          this.busy(f);
          const c = f.config;
          if ((i.VpcConfig?.SubnetIds ?? []).length > 0) this.checkNetworkPermissions(i.Role ?? c.Role);
          if (i.Runtime) c.Runtime = i.Runtime;
          if (i.Handler) c.Handler = i.Handler;
          if (i.Role) c.Role = i.Role;
          if (i.MemorySize) c.MemorySize = i.MemorySize;
          if (i.Timeout) c.Timeout = i.Timeout;
          if (i.Environment) c.Environment = { Variables: { ...i.Environment.Variables } };
          if (i.VpcConfig) c.VpcConfig = { ...i.VpcConfig, VpcId: VPC };
          if (i.TracingConfig) c.TracingConfig = { Mode: i.TracingConfig.Mode };
          startUpdate(f);
          return structuredClone(c);
        },
      ],
      [
        lambda.UpdateFunctionCodeCommand,
        (i) => {
          const f = this.fn(i.FunctionName);
          this.busy(f);
          f.config.CodeSha256 = sha(i.ZipFile);
          if (i.Architectures) f.config.Architectures = i.Architectures;
          startUpdate(f);
          return structuredClone(f.config);
        },
      ],
      [
        lambda.GetPolicyCommand,
        (i) => {
          const f = this.fn(i.FunctionName);
          if (f.policy.length === 0)
            throw new lambda.ResourceNotFoundException({
              message: 'No policy is associated with the given resource.',
              ...meta,
            });
          return { Policy: JSON.stringify({ Version: '2012-10-17', Statement: f.policy }) };
        },
      ],
      [
        lambda.AddPermissionCommand,
        (i) => {
          const f = this.fn(i.FunctionName);
          if (f.policy.some((s) => s.Sid === i.StatementId))
            throw new lambda.ResourceConflictException({
              message: 'The statement id provided already exists.',
              ...meta,
            });
          f.policy.push({
            Sid: i.StatementId,
            Effect: 'Allow',
            Principal: { Service: i.Principal },
            Action: i.Action,
            Resource: f.config.FunctionArn,
            Condition: {
              ...(i.SourceAccount ? { StringEquals: { 'AWS:SourceAccount': i.SourceAccount } } : {}),
              ArnLike: { 'AWS:SourceArn': i.SourceArn },
            },
          });
          return { Statement: '{}' };
        },
      ],
      [
        lambda.RemovePermissionCommand,
        (i) => {
          const f = this.fn(i.FunctionName);
          if (!f.policy.some((s) => s.Sid === i.StatementId))
            throw new lambda.ResourceNotFoundException({ message: 'no statement', ...meta });
          f.policy = f.policy.filter((s) => s.Sid !== i.StatementId);
          return {};
        },
      ],
      [
        lambda.InvokeCommand,
        (i) => {
          this.fn(i.FunctionName);
          const event = JSON.parse(new TextDecoder().decode(i.Payload)) as {
            intent?: string;
            action?: string;
          };
          const answer =
            typeof event.action === 'string'
              ? (this.actionAnswers[event.action] ??
                invokeAnswer({
                  ok: false,
                  action: event.action,
                  error: { message: `unknown action "${event.action}"` },
                }))
              : event.intent === 'health'
                ? this.directAnswers.health
                : this.directAnswers.other;
          if (answer instanceof Error) throw answer;
          // The log tail comes back only when asked for (LogType Tail), as Lambda does.
          const { LogResult, ...rest } = answer;
          return { ...rest, ...(i.LogType === 'Tail' && LogResult ? { LogResult } : {}) };
        },
      ],
      [
        lambda.GetFunctionEventInvokeConfigCommand,
        (i) => {
          const c = this.fn(i.FunctionName).asyncConfig;
          if (!c)
            throw new lambda.ResourceNotFoundException({
              message: `The function ${i.FunctionName} doesn't have an EventInvokeConfig`,
              ...meta,
            });
          return structuredClone(c);
        },
      ],
      [
        lambda.PutFunctionEventInvokeConfigCommand,
        (i) => {
          const f = this.fn(i.FunctionName);
          const destination = i.DestinationConfig?.OnFailure?.Destination as string | undefined;
          // Lambda checks the destination exists (and that the role may send to it).
          // (by name: the fake's account answers for any region)
          if (destination && !this.queues.has(destination.split(':').pop() ?? ''))
            throw new lambda.InvalidParameterValueException({
              message: `The destination ARN ${destination} is invalid.`,
              ...meta,
            });
          f.asyncConfig = {
            FunctionArn: f.config.FunctionArn,
            MaximumRetryAttempts: i.MaximumRetryAttempts,
            ...(i.DestinationConfig ? { DestinationConfig: structuredClone(i.DestinationConfig) } : {}),
          };
          return structuredClone(f.asyncConfig);
        },
      ],
      [
        lambda.GetFunctionConcurrencyCommand,
        (i) => {
          const f = this.fn(i.FunctionName);
          return f.reservedConcurrency === undefined
            ? {}
            : { ReservedConcurrentExecutions: f.reservedConcurrency };
        },
      ],
      [
        lambda.PutFunctionConcurrencyCommand,
        (i) => {
          const f = this.fn(i.FunctionName);
          const others = [...this.functions.values()]
            .filter((o) => o !== f)
            .reduce((sum, o) => sum + (o.reservedConcurrency ?? 0), 0);
          // Lambda keeps 100 unreserved for the functions without a reservation.
          if (others + i.ReservedConcurrentExecutions > this.lambdaAccountLimit.ConcurrentExecutions - 100)
            throw new lambda.InvalidParameterValueException({
              message:
                "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100].",
              ...meta,
            });
          f.reservedConcurrency = i.ReservedConcurrentExecutions;
          return { ReservedConcurrentExecutions: f.reservedConcurrency };
        },
      ],
      [
        lambda.DeleteFunctionConcurrencyCommand,
        (i) => {
          this.fn(i.FunctionName).reservedConcurrency = undefined;
          return {};
        },
      ],
      [
        lambda.GetAccountSettingsCommand,
        () => {
          const reserved = [...this.functions.values()].reduce(
            (sum, f) => sum + (f.reservedConcurrency ?? 0),
            0,
          );
          return {
            AccountLimit: {
              ConcurrentExecutions: this.lambdaAccountLimit.ConcurrentExecutions,
              UnreservedConcurrentExecutions: this.lambdaAccountLimit.ConcurrentExecutions - reserved,
            },
          };
        },
      ],
      [
        lambda.DeleteFunctionCommand,
        (i) => {
          const f = this.fn(i.FunctionName);
          for (const sg of f.config.VpcConfig?.SecurityGroupIds ?? [])
            this.lingeringEnis.set(sg, this.options.eniPollsAfterDelete);
          this.functions.delete(i.FunctionName);
          return {};
        },
      ],
    ];
  }

  // ---- CloudWatch Logs -------------------------------------------------------------------------
  private logsHandlers(): [new (i: any) => any, Handler][] {
    return [
      [
        cwl.DescribeLogGroupsCommand,
        (i) => ({
          logGroups: [...this.logGroups.entries()]
            .filter(([n]) => n.startsWith(i.logGroupNamePrefix ?? ''))
            .map(([logGroupName, g]) => ({ logGroupName, ...g })),
        }),
      ],
      [
        cwl.FilterLogEventsCommand,
        (i) => {
          if (!this.logGroups.has(i.logGroupName))
            throw new cwl.ResourceNotFoundException({
              message: 'The specified log group does not exist.',
              ...meta,
            });
          return {
            events: this.logEvents
              .filter(
                (e) =>
                  (e.logGroupName ?? i.logGroupName) === i.logGroupName &&
                  (i.startTime === undefined || e.timestamp >= i.startTime) &&
                  (i.endTime === undefined || e.timestamp <= i.endTime),
              )
              .map(({ logGroupName: _group, ...e }) => ({ ...e })),
          };
        },
      ],
      [
        cwl.CreateLogGroupCommand,
        (i) => {
          if (this.logGroups.has(i.logGroupName))
            throw new cwl.ResourceAlreadyExistsException({ message: 'exists', ...meta });
          this.logGroups.set(i.logGroupName, {});
          return {};
        },
      ],
      [
        cwl.PutRetentionPolicyCommand,
        (i) => {
          const g = this.logGroups.get(i.logGroupName);
          if (!g) throw new cwl.ResourceNotFoundException({ message: 'no group', ...meta });
          g.retentionInDays = i.retentionInDays;
          return {};
        },
      ],
      [
        cwl.DeleteLogGroupCommand,
        (i) => {
          if (!this.logGroups.delete(i.logGroupName))
            throw new cwl.ResourceNotFoundException({ message: 'no group', ...meta });
          return {};
        },
      ],
    ];
  }

  // ---- API Gateway -----------------------------------------------------------------------------
  private api(id: string) {
    const a = this.apis.get(id);
    if (!a) throw new apigw.NotFoundException({ message: 'Invalid API identifier specified', ...meta });
    return a;
  }

  private plan(id: string) {
    const p = this.usagePlans.get(id);
    if (!p) throw new apigw.NotFoundException({ message: 'Invalid Usage Plan ID specified', ...meta });
    return p;
  }

  private apigwHandlers(): [new (i: any) => any, Handler][] {
    const resource = (apiId: string, resourceId: string) => {
      const r = this.api(apiId).resources.get(resourceId);
      if (!r)
        throw new apigw.NotFoundException({ message: 'Invalid Resource identifier specified', ...meta });
      return r;
    };
    const planOut = (p: ReturnType<FakeAccount['plan']>) => ({
      id: p.id,
      name: p.name,
      throttle: { ...p.throttle },
      quota: { ...p.quota },
      apiStages: p.apiStages.map((s) => ({ ...s })),
    });
    return [
      [
        apigw.GetRestApisCommand,
        () => ({
          items: [...this.apis.values()].map((a) => ({
            id: a.id,
            name: a.name,
            endpointConfiguration: { types: a.types },
          })),
        }),
      ],
      [
        apigw.CreateRestApiCommand,
        (i) => {
          const id = this.id('api');
          const root = this.id('root');
          this.apis.set(id, {
            id,
            name: i.name,
            types: i.endpointConfiguration.types,
            resources: new Map([[root, { id: root, path: '/', methods: {} }]]),
            stages: new Map(),
          });
          return { id, name: i.name, rootResourceId: root };
        },
      ],
      [
        apigw.UpdateRestApiCommand,
        (i) => {
          const api = this.api(i.restApiId);
          for (const op of i.patchOperations ?? []) {
            const m = /^\/endpointConfiguration\/types\/(\w+)$/.exec(String(op.path));
            if (op.op !== 'replace' || !m || !api.types.includes(m[1] ?? ''))
              throw new apigw.BadRequestException({ message: `Invalid patch path ${op.path}`, ...meta });
            if (m[1] === 'PRIVATE' && op.value === 'EDGE')
              throw new apigw.BadRequestException({ message: 'Cannot change PRIVATE to EDGE', ...meta });
            api.types = api.types.map((t) => (t === m[1] ? op.value : t));
          }
          return { id: api.id, name: api.name, endpointConfiguration: { types: [...api.types] } };
        },
      ],
      [
        apigw.DeleteRestApiCommand,
        (i) => {
          this.api(i.restApiId);
          this.apis.delete(i.restApiId);
          // Its stages go, with their settings and whatever web ACL was in front of them.
          for (const key of [...this.stageSettings.keys()])
            if (key.startsWith(`${i.restApiId}/`)) this.stageSettings.delete(key);
          for (const arn of [...this.webAclAssociations.keys()])
            if (arn.includes(`/restapis/${i.restApiId}/`)) this.webAclAssociations.delete(arn);
          return {};
        },
      ],
      [
        apigw.GetResourcesCommand,
        (i) => ({
          items: [...this.api(i.restApiId).resources.values()].map((r) => ({
            id: r.id,
            parentId: r.parentId,
            path: r.path,
            pathPart: r.pathPart,
            ...(Object.keys(r.methods).length > 0 ? { resourceMethods: structuredClone(r.methods) } : {}),
          })),
        }),
      ],
      [
        apigw.CreateResourceCommand,
        (i) => {
          const api = this.api(i.restApiId);
          const parent = resource(i.restApiId, i.parentId);
          const id = this.id('res');
          const path = `${parent.path === '/' ? '' : parent.path}/${i.pathPart}`;
          if ([...api.resources.values()].some((r) => r.path === path))
            throw new apigw.ConflictException({
              message: 'Another resource with the same parent already has this name',
              ...meta,
            });
          api.resources.set(id, { id, parentId: i.parentId, path, pathPart: i.pathPart, methods: {} });
          return { id, path };
        },
      ],
      [
        apigw.PutMethodCommand,
        (i) => {
          const r = resource(i.restApiId, i.resourceId);
          if (r.methods[i.httpMethod])
            throw new apigw.ConflictException({
              message: 'Method already exists for this resource',
              ...meta,
            });
          r.methods[i.httpMethod] = {
            httpMethod: i.httpMethod,
            authorizationType: i.authorizationType,
            apiKeyRequired: i.apiKeyRequired,
          };
          return {};
        },
      ],
      [
        apigw.UpdateMethodCommand,
        (i) => {
          const m = resource(i.restApiId, i.resourceId).methods[i.httpMethod];
          if (!m)
            throw new apigw.NotFoundException({ message: 'Invalid Method identifier specified', ...meta });
          for (const op of i.patchOperations)
            if (op.path === '/apiKeyRequired') m.apiKeyRequired = op.value === 'true';
          return {};
        },
      ],
      [
        apigw.PutIntegrationCommand,
        (i) => {
          const m = resource(i.restApiId, i.resourceId).methods[i.httpMethod];
          if (!m)
            throw new apigw.NotFoundException({ message: 'Invalid Method identifier specified', ...meta });
          m.methodIntegration = { type: i.type, httpMethod: i.integrationHttpMethod, uri: i.uri };
          return {};
        },
      ],
      [
        apigw.GetStageCommand,
        (i) => {
          const d = this.api(i.restApiId).stages.get(i.stageName);
          if (!d)
            throw new apigw.NotFoundException({ message: 'Invalid stage identifier specified', ...meta });
          const webAclArn = this.webAclAssociations.get(this.stageArn(i.restApiId, i.stageName));
          return {
            stageName: i.stageName,
            deploymentId: d,
            tracingEnabled: false,
            ...structuredClone(this.stageSettings.get(`${i.restApiId}/${i.stageName}`) ?? {}),
            ...(webAclArn ? { webAclArn } : {}),
          };
        },
      ],
      [
        apigw.UpdateStageCommand,
        (i) => {
          if (!this.api(i.restApiId).stages.has(i.stageName))
            throw new apigw.NotFoundException({ message: 'Invalid stage identifier specified', ...meta });
          const key = `${i.restApiId}/${i.stageName}`;
          const settings = { ...(this.stageSettings.get(key) ?? {}) };
          for (const op of i.patchOperations) {
            if (op.path === '/tracingEnabled') settings.tracingEnabled = op.value === 'true';
            else if (op.path === '/accessLogSettings' && op.op === 'remove')
              delete settings.accessLogSettings;
            else if (String(op.path).startsWith('/accessLogSettings/')) {
              if (!this.apiGatewayAccount.cloudwatchRoleArn)
                throw new apigw.BadRequestException({
                  message: 'CloudWatch Logs role ARN must be set in account settings to enable logging',
                  ...meta,
                });
              const field = String(op.path).split('/')[2] ?? '';
              settings.accessLogSettings = { ...settings.accessLogSettings, [field]: op.value };
            } else throw new apigw.BadRequestException({ message: `Invalid patch path ${op.path}`, ...meta });
          }
          this.stageSettings.set(key, settings);
          return { stageName: i.stageName, ...structuredClone(settings) };
        },
      ],
      [apigw.GetAccountCommand, () => ({ ...this.apiGatewayAccount })],
      [
        apigw.UpdateAccountCommand,
        (i) => {
          for (const op of i.patchOperations) {
            if (op.path !== '/cloudwatchRoleArn') continue;
            const name = String(op.value).split('/').pop() ?? '';
            const role = this.roles.get(name);
            // API Gateway checks that it may assume the role (a role IAM has not propagated yet fails too).
            if (
              !role?.trust.includes('apigateway.amazonaws.com') ||
              (this.rolePropagation.get(name) ?? 0) > 0
            ) {
              this.rolePropagation.set(name, Math.max(0, (this.rolePropagation.get(name) ?? 0) - 1));
              throw new apigw.BadRequestException({
                message: 'The role ARN does not have required permissions set to API Gateway',
                ...meta,
              });
            }
            this.apiGatewayAccount.cloudwatchRoleArn = op.value;
          }
          return { ...this.apiGatewayAccount };
        },
      ],
      [
        apigw.GetStagesCommand,
        (i) => ({
          item: [...this.api(i.restApiId).stages].map(([stageName, deploymentId]) => ({
            stageName,
            deploymentId,
            tags: { ...(this.stageTags.get(`${i.restApiId}/${stageName}`) ?? {}) },
          })),
        }),
      ],
      [
        apigw.TagResourceCommand,
        (i) => {
          const m = /^arn:aws:apigateway:[\w-]+::\/restapis\/([^/]+)\/stages\/([^/]+)$/.exec(i.resourceArn);
          if (!m || !this.api(m[1] ?? '').stages.has(m[2] ?? ''))
            throw new apigw.NotFoundException({ message: `Invalid resource ${i.resourceArn}`, ...meta });
          const key = `${m[1]}/${m[2]}`;
          this.stageTags.set(key, { ...(this.stageTags.get(key) ?? {}), ...i.tags });
          return {};
        },
      ],
      [
        apigw.DeleteStageCommand,
        (i) => {
          const api = this.api(i.restApiId);
          if (!api.stages.delete(i.stageName))
            throw new apigw.NotFoundException({ message: 'Invalid stage identifier specified', ...meta });
          this.stageTags.delete(`${i.restApiId}/${i.stageName}`);
          return {};
        },
      ],
      [
        apigw.CreateDeploymentCommand,
        (i) => {
          const id = this.id('dep');
          const api = this.api(i.restApiId);
          api.stages.set(i.stageName, id);
          // A deployment freezes the methods as they are now (what GetDeployment's apisummary shows).
          const summary: Input = {};
          for (const r of api.resources.values())
            for (const [verb, m] of Object.entries(r.methods))
              summary[r.path] = {
                ...summary[r.path],
                [verb]: { apiKeyRequired: m.apiKeyRequired === true, authorizationType: m.authorizationType },
              };
          this.deployments.set(id, summary);
          this.deploymentDates.set(id, new Date());
          this.deploymentDescriptions.set(id, i.description ?? '');
          return { id, description: i.description };
        },
      ],
      [
        apigw.GetDeploymentCommand,
        (i) => {
          const summary = this.deployments.get(i.deploymentId);
          if (!summary)
            throw new apigw.NotFoundException({ message: 'Invalid Deployment identifier', ...meta });
          return {
            id: i.deploymentId,
            createdDate: this.deploymentDates.get(i.deploymentId),
            ...(this.deploymentDescriptions.has(i.deploymentId)
              ? { description: this.deploymentDescriptions.get(i.deploymentId) }
              : {}),
            ...(i.embed?.includes('apisummary') && !this.options.omitApiSummary
              ? { apiSummary: structuredClone(summary) }
              : {}),
          };
        },
      ],
      [
        apigw.GetUsageCommand,
        (i) => {
          this.plan(i.usagePlanId);
          return {
            usagePlanId: i.usagePlanId,
            items: i.keyId ? { [i.keyId]: this.usage[i.keyId] ?? [] } : structuredClone(this.usage),
          };
        },
      ],
      [apigw.GetUsagePlansCommand, () => ({ items: [...this.usagePlans.values()].map(planOut) })],
      [
        apigw.CreateUsagePlanCommand,
        (i) => {
          for (const s of i.apiStages ?? [])
            if (!this.api(s.apiId).stages.has(s.stage))
              throw new apigw.BadRequestException({ message: 'Invalid stage', ...meta });
          const id = this.id('plan');
          this.usagePlans.set(id, {
            id,
            name: i.name,
            throttle: this.clampThrottle({ ...i.throttle }),
            quota: { ...i.quota },
            apiStages: [...(i.apiStages ?? [])],
            keys: [],
          });
          return { id };
        },
      ],
      [
        apigw.UpdateUsagePlanCommand,
        (i) => {
          const p = this.plan(i.usagePlanId);
          for (const op of i.patchOperations) {
            const [, section, field] = String(op.path).split('/');
            if (section === 'apiStages') {
              const [apiId, stage] = String(op.value).split(':');
              if (op.op === 'add') p.apiStages.push({ apiId: apiId ?? '', stage: stage ?? '' });
              else p.apiStages = p.apiStages.filter((s) => `${s.apiId}:${s.stage}` !== op.value);
            } else if (section === 'throttle' && field)
              p.throttle = this.clampThrottle({ ...p.throttle, [field]: Number(op.value) });
            else if (section === 'quota' && field)
              p.quota[field] = field === 'period' ? op.value : Number(op.value);
          }
          return planOut(p);
        },
      ],
      [
        apigw.DeleteUsagePlanCommand,
        (i) => {
          const p = this.plan(i.usagePlanId);
          if (p.apiStages.length > 0)
            throw new apigw.BadRequestException({
              message: 'Cannot delete Usage Plan while it is associated with API stages',
              ...meta,
            });
          this.usagePlans.delete(i.usagePlanId);
          return {};
        },
      ],
      [
        apigw.GetUsagePlanKeysCommand,
        (i) => ({
          items: this.plan(i.usagePlanId).keys.map((k) => ({
            id: k,
            type: 'API_KEY',
            name: this.apiKeys.get(k)?.name,
          })),
        }),
      ],
      [
        apigw.CreateUsagePlanKeyCommand,
        (i) => {
          const p = this.plan(i.usagePlanId);
          if (!this.apiKeys.has(i.keyId))
            throw new apigw.NotFoundException({ message: 'Invalid API Key identifier specified', ...meta });
          if (p.keys.includes(i.keyId))
            throw new apigw.ConflictException({ message: 'Usage Plan Key already exists', ...meta });
          p.keys.push(i.keyId);
          return { id: i.keyId };
        },
      ],
      [
        apigw.DeleteUsagePlanKeyCommand,
        (i) => {
          const p = this.plan(i.usagePlanId);
          if (!p.keys.includes(i.keyId)) throw new apigw.NotFoundException({ message: 'no key', ...meta });
          p.keys = p.keys.filter((k) => k !== i.keyId);
          return {};
        },
      ],
      [
        apigw.GetApiKeysCommand,
        (i) => ({
          items: [...this.apiKeys.values()]
            .filter((k) => !i.nameQuery || k.name.startsWith(i.nameQuery))
            .map((k) => ({
              id: k.id,
              name: k.name,
              enabled: k.enabled,
              createdDate: k.createdDate,
              tags: { ...k.tags },
              ...(i.includeValues ? { value: k.value } : {}),
            })),
        }),
      ],
      [
        apigw.GetApiKeyCommand,
        (i) => {
          const k = this.apiKeys.get(i.apiKey);
          if (!k)
            throw new apigw.NotFoundException({ message: 'Invalid API Key identifier specified', ...meta });
          return {
            id: k.id,
            name: k.name,
            enabled: k.enabled,
            ...(i.includeValue ? { value: k.value } : {}),
          };
        },
      ],
      [
        apigw.CreateApiKeyCommand,
        (i) => {
          const id = this.id('key');
          // Creation dates one second apart, in creation order, as API Gateway's own would be.
          const createdDate = new Date(1_800_000_000_000 + this.nextId * 1000);
          this.apiKeys.set(id, {
            id,
            name: i.name,
            value: i.value,
            enabled: i.enabled,
            createdDate,
            tags: { ...(i.tags ?? {}) },
          });
          return { id, name: i.name };
        },
      ],
      [
        apigw.DeleteApiKeyCommand,
        (i) => {
          if (!this.apiKeys.delete(i.apiKey))
            throw new apigw.NotFoundException({ message: 'no key', ...meta });
          for (const p of this.usagePlans.values()) p.keys = p.keys.filter((k) => k !== i.apiKey);
          return {};
        },
      ],
    ];
  }

  // ---- S3 --------------------------------------------------------------------------------------
  private bucket(name: string): FakeBucket {
    const b = this.buckets.get(name);
    if (!b) throw new s3.NoSuchBucket({ message: 'The specified bucket does not exist', ...meta });
    return b;
  }

  private s3Handlers(): [new (i: any) => any, Handler][] {
    const s3Error = (name: string, status: number, message = `${name} (fake)`) =>
      new s3.S3ServiceException({ name, $fault: 'client', message, $metadata: { httpStatusCode: status } });
    /** A setting S3 answers "none" for with an error code of its own. */
    const setting = (value: unknown, noneCode: string, out: (v: any) => object) => {
      if (value === undefined) throw s3Error(noneCode, 404);
      return out(structuredClone(value));
    };
    /** S3 sends each Lambda destination a test event: the function must let S3 invoke it for this bucket. */
    const checkDestinations = (bucket: string, configuration: Input) => {
      for (const c of configuration.LambdaFunctionConfigurations ?? []) {
        const name = /:function:([^:]+)$/.exec(c.LambdaFunctionArn ?? '')?.[1] ?? '';
        const allowed = this.functions
          .get(name)
          ?.policy.some(
            (st: Input) =>
              st.Principal?.Service === 's3.amazonaws.com' &&
              st.Condition?.ArnLike?.['AWS:SourceArn'] === `arn:aws:s3:::${bucket}`,
          );
        if (!allowed)
          throw s3Error(
            'InvalidArgument',
            400,
            'Unable to validate the following destination configurations',
          );
      }
    };
    return [
      [
        s3.HeadBucketCommand,
        (i) => {
          if (this.foreignBuckets.has(i.Bucket)) throw s3Error('Forbidden', 403);
          if (!this.buckets.has(i.Bucket)) throw new s3.NotFound({ message: 'Not Found', ...meta });
          return { BucketRegion: this.bucket(i.Bucket).region };
        },
      ],
      [
        s3.CreateBucketCommand,
        (i) => {
          if (this.foreignBuckets.has(i.Bucket))
            throw s3Error('BucketAlreadyExists', 409, 'The requested bucket name is not available');
          if (this.buckets.has(i.Bucket))
            throw new s3.BucketAlreadyOwnedByYou({
              message: 'Your previous request to create the named bucket succeeded',
              ...meta,
            });
          const region = i.CreateBucketConfiguration?.LocationConstraint ?? 'us-east-1';
          // S3 refuses us-east-1 as a location constraint, and a bucket elsewhere without one.
          if (region === 'us-east-1' && i.CreateBucketConfiguration)
            throw s3Error('InvalidLocationConstraint', 400);
          this.buckets.set(i.Bucket, { region, tags: {}, notifications: {}, objects: new Map() });
          return { Location: `/${i.Bucket}` };
        },
      ],
      [
        s3.GetPublicAccessBlockCommand,
        (i) =>
          setting(this.bucket(i.Bucket).publicAccessBlock, 'NoSuchPublicAccessBlockConfiguration', (v) => ({
            PublicAccessBlockConfiguration: v,
          })),
      ],
      [
        s3.PutPublicAccessBlockCommand,
        (i) => {
          this.bucket(i.Bucket).publicAccessBlock = { ...i.PublicAccessBlockConfiguration };
          return {};
        },
      ],
      [
        s3.GetBucketEncryptionCommand,
        (i) =>
          setting(
            this.bucket(i.Bucket).encryption,
            'ServerSideEncryptionConfigurationNotFoundError',
            (v) => ({
              ServerSideEncryptionConfiguration: v,
            }),
          ),
      ],
      [
        s3.PutBucketEncryptionCommand,
        (i) => {
          this.bucket(i.Bucket).encryption = structuredClone(i.ServerSideEncryptionConfiguration);
          return {};
        },
      ],
      [
        s3.GetBucketLifecycleConfigurationCommand,
        (i) =>
          setting(this.bucket(i.Bucket).lifecycle, 'NoSuchLifecycleConfiguration', (v) => ({ Rules: v })),
      ],
      [
        s3.PutBucketLifecycleConfigurationCommand,
        (i) => {
          this.bucket(i.Bucket).lifecycle = structuredClone(i.LifecycleConfiguration.Rules);
          return {};
        },
      ],
      [
        s3.DeleteBucketLifecycleCommand,
        (i) => {
          this.bucket(i.Bucket).lifecycle = undefined;
          return {};
        },
      ],
      [
        s3.GetBucketTaggingCommand,
        (i) => {
          const tags = this.bucket(i.Bucket).tags;
          if (Object.keys(tags).length === 0) throw s3Error('NoSuchTagSet', 404);
          return { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) };
        },
      ],
      [
        s3.PutBucketTaggingCommand,
        (i) => {
          this.bucket(i.Bucket).tags = Object.fromEntries(
            i.Tagging.TagSet.map((t: Input) => [t.Key, t.Value]),
          );
          return {};
        },
      ],
      [
        s3.GetBucketPolicyCommand,
        (i) => setting(this.bucket(i.Bucket).policy, 'NoSuchBucketPolicy', (v) => ({ Policy: v })),
      ],
      [
        s3.PutBucketPolicyCommand,
        (i) => {
          this.bucket(i.Bucket).policy = i.Policy;
          return {};
        },
      ],
      [
        s3.DeleteBucketPolicyCommand,
        (i) => {
          this.bucket(i.Bucket).policy = undefined;
          return {};
        },
      ],
      [
        s3.GetBucketNotificationConfigurationCommand,
        (i) => structuredClone(this.bucket(i.Bucket).notifications),
      ],
      [
        s3.PutBucketNotificationConfigurationCommand,
        (i) => {
          const b = this.bucket(i.Bucket);
          checkDestinations(i.Bucket, i.NotificationConfiguration);
          b.notifications = structuredClone(i.NotificationConfiguration);
          return {};
        },
      ],
      [
        s3.ListObjectVersionsCommand,
        (i) => {
          const keys = [...this.bucket(i.Bucket).objects.keys()]
            .sort()
            .filter((k) => !i.KeyMarker || k > i.KeyMarker);
          const page = keys.slice(0, i.MaxKeys ?? 1000);
          const truncated = page.length < keys.length;
          return {
            Versions: page.map((Key) => ({
              Key,
              VersionId: 'null',
              Size: this.bucket(i.Bucket).objects.get(Key),
            })),
            IsTruncated: truncated,
            ...(truncated ? { NextKeyMarker: page.at(-1), NextVersionIdMarker: 'null' } : {}),
          };
        },
      ],
      [
        s3.DeleteObjectsCommand,
        (i) => {
          const b = this.bucket(i.Bucket);
          for (const o of i.Delete.Objects) b.objects.delete(o.Key);
          return { Errors: [] };
        },
      ],
      [
        s3.DeleteBucketCommand,
        (i) => {
          const b = this.bucket(i.Bucket);
          if (b.objects.size > 0)
            throw s3Error('BucketNotEmpty', 409, 'The bucket you tried to delete is not empty');
          this.buckets.delete(i.Bucket);
          return {};
        },
      ],
    ];
  }

  // ---- SQS -------------------------------------------------------------------------------------
  private sqsHandlers(): [new (i: any) => any, Handler][] {
    const byUrl = (url: string) => {
      const q = [...this.queues.entries()].find(([, x]) => x.url === url);
      if (!q) throw new sqs.QueueDoesNotExist({ message: 'The specified queue does not exist.', ...meta });
      return q[1];
    };
    return [
      [
        sqs.GetQueueUrlCommand,
        (i) => {
          const q = this.queues.get(i.QueueName);
          if (!q)
            throw new sqs.QueueDoesNotExist({ message: 'The specified queue does not exist.', ...meta });
          return { QueueUrl: q.url };
        },
      ],
      [
        sqs.GetQueueAttributesCommand,
        (i) => {
          const q = byUrl(i.QueueUrl);
          const all = { ...q.attributes, ApproximateNumberOfMessages: String(q.messages) };
          const names: string[] = i.AttributeNames ?? [];
          return {
            Attributes: Object.fromEntries(
              Object.entries(all).filter(([k]) => names.includes('All') || names.includes(k)),
            ),
          };
        },
      ],
      [
        sqs.CreateQueueCommand,
        (i) => {
          const existing = this.queues.get(i.QueueName);
          const attributes = {
            MessageRetentionPeriod: '345600',
            SqsManagedSseEnabled: 'true',
            ...i.Attributes,
            QueueArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${i.QueueName}`,
          };
          if (existing) {
            // SQS answers the same URL for the same attributes, and refuses different ones.
            if (JSON.stringify(existing.attributes) !== JSON.stringify(attributes))
              throw new sqs.QueueNameExists({
                message: 'A queue already exists with the same name',
                ...meta,
              });
            return { QueueUrl: existing.url };
          }
          const url = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${i.QueueName}`;
          this.queues.set(i.QueueName, { url, attributes, tags: { ...(i.tags ?? {}) }, messages: 0 });
          return { QueueUrl: url };
        },
      ],
      [
        sqs.SetQueueAttributesCommand,
        (i) => {
          const q = byUrl(i.QueueUrl);
          q.attributes = { ...q.attributes, ...i.Attributes };
          return {};
        },
      ],
      [
        sqs.DeleteQueueCommand,
        (i) => {
          byUrl(i.QueueUrl);
          for (const [name, q] of this.queues) if (q.url === i.QueueUrl) this.queues.delete(name);
          return {};
        },
      ],
    ];
  }

  // ---- CloudWatch ------------------------------------------------------------------------------
  /** Tags of each alarm, by name: set when PutMetricAlarm creates it (later Tags are ignored, as AWS does) or by TagResource. */
  alarmTags = new Map<string, Record<string, string>>();

  private alarmArn(name: string): string {
    return `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${name}`;
  }

  private alarmByArn(arn: string): string {
    const name = [...this.alarms.keys()].find((n) => this.alarmArn(n) === arn);
    if (!name) throw new cw.ResourceNotFoundException({ message: `no alarm ${arn}`, ...meta });
    return name;
  }

  private cloudwatchHandlers(): [new (i: any) => any, Handler][] {
    const out = (name: string) => ({
      ...structuredClone(this.alarms.get(name)),
      AlarmArn: this.alarmArn(name),
    });
    return [
      [
        cw.DescribeAlarmsCommand,
        (i) => ({
          MetricAlarms: (i.AlarmNames ?? [...this.alarms.keys()]).flatMap((n: string) =>
            this.alarms.has(n) ? [out(n)] : [],
          ),
        }),
      ],
      [
        cw.DescribeAlarmsForMetricCommand,
        (i) => {
          const dims = (d: Input[] | undefined) =>
            JSON.stringify((d ?? []).map((x) => `${x.Name}=${x.Value}`).sort());
          return {
            MetricAlarms: [...this.alarms.values()]
              .filter(
                (a) =>
                  a.Namespace === i.Namespace &&
                  a.MetricName === i.MetricName &&
                  dims(a.Dimensions) === dims(i.Dimensions),
              )
              .map((a) => out(a.AlarmName)),
          };
        },
      ],
      [
        cw.PutMetricAlarmCommand,
        (i) => {
          const { Tags: tags, ...alarm } = i;
          // A new alarm has no data yet; a changed one keeps its state, as CloudWatch does.
          const existing = this.alarms.get(i.AlarmName);
          const state = existing ?? { StateValue: 'INSUFFICIENT_DATA', StateReason: '' };
          if (!existing)
            this.alarmTags.set(
              i.AlarmName,
              Object.fromEntries((tags ?? []).map((t: Input) => [t.Key, t.Value])),
            );
          this.alarms.set(i.AlarmName, {
            ...alarm,
            StateValue: state.StateValue,
            StateReason: state.StateReason,
          });
          return {};
        },
      ],
      [
        cw.ListTagsForResourceCommand,
        (i) => {
          const name = this.alarmByArn(i.ResourceARN);
          return {
            Tags: Object.entries(this.alarmTags.get(name) ?? {}).map(([Key, Value]) => ({ Key, Value })),
          };
        },
      ],
      [
        cw.TagResourceCommand,
        (i) => {
          const name = this.alarmByArn(i.ResourceARN);
          const tags = this.alarmTags.get(name) ?? {};
          for (const t of i.Tags) tags[t.Key] = t.Value;
          this.alarmTags.set(name, tags);
          return {};
        },
      ],
      [
        cw.DeleteAlarmsCommand,
        (i) => {
          for (const n of i.AlarmNames) {
            this.alarms.delete(n);
            this.alarmTags.delete(n);
          }
          return {};
        },
      ],
      [
        cw.GetDashboardCommand,
        (i) => {
          const body = this.dashboards.get(i.DashboardName);
          if (body === undefined)
            throw new cw.DashboardNotFoundError({ message: 'Dashboard does not exist', ...meta });
          return { DashboardName: i.DashboardName, DashboardBody: body };
        },
      ],
      [
        cw.PutDashboardCommand,
        (i) => {
          JSON.parse(i.DashboardBody);
          this.dashboards.set(i.DashboardName, i.DashboardBody);
          return { DashboardValidationMessages: [] };
        },
      ],
      [
        cw.DeleteDashboardsCommand,
        (i) => {
          if (i.DashboardNames.some((n: string) => !this.dashboards.has(n)))
            throw new cw.DashboardNotFoundError({ message: 'Dashboard does not exist', ...meta });
          for (const n of i.DashboardNames) this.dashboards.delete(n);
          return {};
        },
      ],
    ];
  }

  // ---- RDS (read-only) -------------------------------------------------------------------------
  private rdsHandlers(): [new (i: any) => any, Handler][] {
    return [
      [
        rds.DescribeDBInstancesCommand,
        (i) => {
          const found = i.DBInstanceIdentifier
            ? this.dbInstances.filter((d) => d.DBInstanceIdentifier === i.DBInstanceIdentifier)
            : this.dbInstances;
          if (i.DBInstanceIdentifier && found.length === 0)
            throw new rds.DBInstanceNotFoundFault({
              message: `DBInstance ${i.DBInstanceIdentifier} not found.`,
              ...meta,
            });
          return { DBInstances: structuredClone(found) };
        },
      ],
      [
        rds.DescribeDBParametersCommand,
        (i) => {
          const params = this.dbParameters[i.DBParameterGroupName];
          if (!params)
            throw new rds.DBParameterGroupNotFoundFault({
              message: `DBParameterGroup not found: ${i.DBParameterGroupName}`,
              ...meta,
            });
          return { Parameters: structuredClone(params.filter((p) => !i.Source || p.Source === i.Source)) };
        },
      ],
      [
        rds.DescribeDBEngineVersionsCommand,
        (i) => ({
          DBEngineVersions: this.engineVersions.filter(
            (v) =>
              (!i.Engine || v.Engine === i.Engine) &&
              (!i.EngineVersion || v.EngineVersion === i.EngineVersion) &&
              (i.IncludeAll || v.Status === 'available'),
          ),
        }),
      ],
    ];
  }

  // ---- WAF (regional) --------------------------------------------------------------------------
  /** The ARN WAF and IAM give an API stage. */
  stageArn(apiId: string, stage: string): string {
    return `arn:aws:apigateway:${REGION}::/restapis/${apiId}/stages/${stage}`;
  }

  private wafHandlers(): [new (i: any) => any, Handler][] {
    const acl = (id: string, name?: string) => {
      const a = this.webAcls.get(id);
      if (!a || (name !== undefined && a.Name !== name))
        throw new waf.WAFNonexistentItemException({
          message: 'AWS WAF couldn’t perform the operation because your resource doesn’t exist.',
          ...meta,
        });
      return a;
    };
    const checkToken = (a: Input, token: string) => {
      if (a.LockToken !== token)
        throw new waf.WAFOptimisticLockException({
          message:
            'AWS WAF couldn’t save your changes because someone changed the resource after you started to edit it.',
          ...meta,
        });
    };
    const summary = (a: Input) => ({
      Name: a.Name,
      Id: a.Id,
      ARN: a.ARN,
      LockToken: a.LockToken,
      Description: a.Description,
    });
    let unavailableLeft = this.options.wafUnavailableAttempts;
    return [
      [waf.ListWebACLsCommand, () => ({ WebACLs: [...this.webAcls.values()].map(summary) })],
      [
        waf.GetWebACLCommand,
        (i) => {
          const a = acl(i.Id, i.Name);
          const { LockToken, Tags: _tags, ...webAcl } = a;
          return { WebACL: structuredClone(webAcl), LockToken };
        },
      ],
      [
        waf.CreateWebACLCommand,
        (i) => {
          if ([...this.webAcls.values()].some((a) => a.Name === i.Name))
            throw new waf.WAFDuplicateItemException({
              message:
                'AWS WAF couldn’t perform the operation because some resource in your request is a duplicate of an existing one.',
              ...meta,
            });
          const id = this.id('acl-');
          const a = {
            Name: i.Name,
            Id: id,
            ARN: `arn:aws:wafv2:${REGION}:${ACCOUNT}:regional/webacl/${i.Name}/${id}`,
            Description: i.Description,
            DefaultAction: structuredClone(i.DefaultAction),
            Rules: structuredClone(i.Rules ?? []),
            VisibilityConfig: structuredClone(i.VisibilityConfig),
            LockToken: this.id('lock-'),
            Tags: structuredClone(i.Tags ?? []),
          };
          this.webAcls.set(id, a);
          return { Summary: summary(a) };
        },
      ],
      [
        waf.UpdateWebACLCommand,
        (i) => {
          const a = acl(i.Id, i.Name);
          checkToken(a, i.LockToken);
          Object.assign(a, {
            Description: i.Description,
            DefaultAction: structuredClone(i.DefaultAction),
            Rules: structuredClone(i.Rules ?? []),
            VisibilityConfig: structuredClone(i.VisibilityConfig),
            LockToken: this.id('lock-'),
          });
          return { NextLockToken: a.LockToken };
        },
      ],
      [
        waf.DeleteWebACLCommand,
        (i) => {
          const a = acl(i.Id, i.Name);
          checkToken(a, i.LockToken);
          if ([...this.webAclAssociations.values()].includes(a.ARN))
            throw new waf.WAFAssociatedItemException({
              message:
                'AWS WAF couldn’t perform the operation because your resource is being used by another resource or it’s associated with another resource.',
              ...meta,
            });
          this.webAcls.delete(i.Id);
          return {};
        },
      ],
      [
        waf.AssociateWebACLCommand,
        (i) => {
          const a = [...this.webAcls.values()].find((x) => x.ARN === i.WebACLArn);
          const stage = /\/restapis\/([^/]+)\/stages\/([^/]+)$/.exec(i.ResourceArn);
          if (!a || !stage || !this.apis.get(stage[1] ?? '')?.stages.has(stage[2] ?? ''))
            throw new waf.WAFNonexistentItemException({ message: 'resource does not exist', ...meta });
          if (unavailableLeft > 0) {
            unavailableLeft--;
            throw new waf.WAFUnavailableEntityException({
              message: 'AWS WAF couldn’t retrieve the resource that you requested. Retry your request.',
              ...meta,
            });
          }
          this.webAclAssociations.set(i.ResourceArn, i.WebACLArn);
          return {};
        },
      ],
      [
        waf.DisassociateWebACLCommand,
        (i) => {
          this.webAclAssociations.delete(i.ResourceArn);
          return {};
        },
      ],
    ];
  }
}

/** A clock whose sleep advances virtual time and returns at once; `slept` adds up what was asked. */
export function fakeClock(): Clock & { slept: number } {
  let now = 1_800_000_000_000;
  const clock = {
    slept: 0,
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
      clock.slept += ms;
    },
  };
  return clock;
}

/** Timing for tests: virtual clock, waiters polling every millisecond. */
export function fastTiming(clock: Clock = fakeClock()): Timing {
  return { clock, waiter: { minDelaySeconds: 0.001, maxDelaySeconds: 0.002, maxWaitSeconds: 10 } };
}
