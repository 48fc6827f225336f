/**
 * The ingest path's deploy steps through the real CLI against the fake account, with the exact
 * inputs AWS receives: the logs bucket's settings, the S3 gateway endpoint on each route table of the
 * function's subnets, the prefix-list egress, the role's policies scoped to the bucket, the function
 * and its failure handling, the permission with SourceArn and SourceAccount, the notification; a
 * no-op re-deploy; an endpoint and a bucket that already exist; `create-ingest` alone; destroy's
 * order, a bucket holding logs kept, --delete-data.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { albDeliveryStatement } from '../../src/deploy/logs-bucket.js';
import { ACCOUNT, PRIVATE_SUBNETS, RDS_SG, REGION, S3_PREFIX_LIST, VPC } from '../support/fake-account.js';
import {
  API_PATH_REMOVAL,
  BASE_CONFIG,
  createWorld,
  DB_PASSWORD,
  INGEST_CONFIG,
  INGEST_CREATION,
  INGEST_REMOVAL,
  type World,
} from './harness.js';

const BUCKET = `chatbot-logs-${ACCOUNT}-${REGION}`;
const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;
const FN_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:chatbot-ingest`;
const QUEUE_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:chatbot-ingest-failures`;

let world: World;
beforeEach(async () => {
  world = await createWorld();
  world.writeConfig(INGEST_CONFIG);
});
afterEach(() => world.close());

const deploy = (...extra: string[]) => world.run(['deploy', '--yes', '--zip', world.zipPath, ...extra]);
const inputsOf = (command: string) =>
  world.fake.calls.filter((c) => c.command === command).map((c) => c.input);
const mutating = () => world.fake.commandNames(world.fake.mutatingCalls());
const ingestGroupId = () =>
  [...world.fake.groups.values()].find((g) => g.GroupName === 'lambda-chatbot-ingest-sg')?.GroupId;
const policyOf = (input: Record<string, unknown> | undefined) => JSON.parse(String(input?.PolicyDocument));
/** The environment the ingest function was created with. */
const ingestVariables = (): Record<string, string> =>
  (
    inputsOf('CreateFunction').find((i) => i.FunctionName === 'chatbot-ingest')?.Environment as
      | { Variables: Record<string, string> }
      | undefined
  )?.Variables ?? {};

describe('deploy with the ingest path (the default)', () => {
  it('creates the ingest resources after the API path, with the exact inputs', async () => {
    const r = await deploy();

    expect(r.code).toBe(0);
    expect(mutating().slice(-INGEST_CREATION.length)).toEqual(INGEST_CREATION);
    expect(mutating()).toHaveLength(23 + INGEST_CREATION.length);

    // The role: its own, network interfaces only, each policy scoped to one resource.
    const role = inputsOf('CreateRole').find((i) => i.RoleName === 'ChatbotIngestRole');
    expect(JSON.parse(String(role?.AssumeRolePolicyDocument)).Statement[0].Principal).toEqual({
      Service: 'lambda.amazonaws.com',
    });
    expect(inputsOf('AttachRolePolicy').filter((i) => i.RoleName === 'ChatbotIngestRole')).toEqual([
      {
        RoleName: 'ChatbotIngestRole',
        PolicyArn: 'arn:aws:iam::aws:policy/service-role/AWSLambdaENIManagementAccess',
      },
    ]);
    const policies = Object.fromEntries(
      inputsOf('PutRolePolicy')
        .filter((i) => i.RoleName === 'ChatbotIngestRole')
        .map((i) => [i.PolicyName, policyOf(i)]),
    );
    expect(Object.keys(policies)).toEqual(['CloudWatchLogsPolicy', 'LogsBucketPolicy', 'FailureQueuePolicy']);
    expect(policies.CloudWatchLogsPolicy.Statement[0].Resource).toBe(
      `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/chatbot-ingest:*`,
    );
    expect(policies.LogsBucketPolicy).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'ReadLogs', Effect: 'Allow', Action: 's3:GetObject', Resource: `${BUCKET_ARN}/logs/*` },
        {
          Sid: 'WriteResults',
          Effect: 'Allow',
          Action: 's3:PutObject',
          Resource: `${BUCKET_ARN}/chatbot-ops/results/*`,
        },
        {
          Sid: 'ListLogs',
          Effect: 'Allow',
          Action: 's3:ListBucket',
          Resource: BUCKET_ARN,
          Condition: { StringLike: { 's3:prefix': 'logs/*' } },
        },
      ],
    });
    expect(policies.FailureQueuePolicy.Statement).toEqual([
      { Sid: 'SendFailedEvents', Effect: 'Allow', Action: 'sqs:SendMessage', Resource: QUEUE_ARN },
    ]);

    // The network: its own group, MySQL to RDS and HTTPS to S3's prefix list only; the endpoint on
    // both route tables the two private subnets use.
    const sg = ingestGroupId();
    expect(inputsOf('CreateSecurityGroup')[1]).toMatchObject({
      VpcId: VPC,
      GroupName: 'lambda-chatbot-ingest-sg',
    });
    expect(inputsOf('AuthorizeSecurityGroupEgress').find((i) => i.GroupId === sg)).toEqual({
      GroupId: sg,
      IpPermissions: [
        {
          IpProtocol: 'tcp',
          FromPort: 3306,
          ToPort: 3306,
          UserIdGroupPairs: [{ GroupId: RDS_SG, Description: 'chatbot ingest Lambda' }],
        },
        {
          IpProtocol: 'tcp',
          FromPort: 443,
          ToPort: 443,
          PrefixListIds: [{ PrefixListId: S3_PREFIX_LIST, Description: 'chatbot ingest Lambda' }],
        },
      ],
    });
    expect(inputsOf('AuthorizeSecurityGroupIngress').at(-1)).toEqual({
      GroupId: RDS_SG,
      IpPermissions: [
        {
          IpProtocol: 'tcp',
          FromPort: 3306,
          ToPort: 3306,
          UserIdGroupPairs: [{ GroupId: sg, Description: 'chatbot ingest Lambda (chatbot-ops)' }],
        },
      ],
    });
    expect(inputsOf('CreateVpcEndpoint')).toEqual([
      {
        VpcEndpointType: 'Gateway',
        VpcId: VPC,
        ServiceName: `com.amazonaws.${REGION}.s3`,
        RouteTableIds: ['rtb-main', 'rtb-private-b'],
        TagSpecifications: [
          {
            ResourceType: 'vpc-endpoint',
            Tags: [
              { Key: 'managed-by', Value: 'chatbot-ops' },
              { Key: 'chatbot-ops:purpose', Value: 'ingest-s3-endpoint' },
              { Key: 'Name', Value: 'chatbot-ingest-s3' },
            ],
          },
        ],
      },
    ]);

    // The bucket: private, encrypted, TLS only, tagged as ours.
    expect(inputsOf('CreateBucket')).toEqual([{ Bucket: BUCKET, ObjectOwnership: 'BucketOwnerEnforced' }]);
    expect(inputsOf('PutPublicAccessBlock')).toEqual([
      {
        Bucket: BUCKET,
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          IgnorePublicAcls: true,
          BlockPublicPolicy: true,
          RestrictPublicBuckets: true,
        },
      },
    ]);
    expect(inputsOf('PutBucketEncryption')).toEqual([
      {
        Bucket: BUCKET,
        ServerSideEncryptionConfiguration: {
          Rules: [
            { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: false },
          ],
        },
      },
    ]);
    expect(inputsOf('PutBucketTagging')).toEqual([
      {
        Bucket: BUCKET,
        Tagging: {
          TagSet: [
            { Key: 'managed-by', Value: 'chatbot-ops' },
            { Key: 'chatbot-ops:purpose', Value: 'ingest-logs' },
          ],
        },
      },
    ]);
    expect(JSON.parse(String(inputsOf('PutBucketPolicy')[0]?.Policy))).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ChatbotOpsDenyInsecureTransport',
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:*',
          Resource: [BUCKET_ARN, `${BUCKET_ARN}/*`],
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
      ],
    });
    expect(inputsOf('PutBucketLifecycleConfiguration')).toEqual([]);

    // The function: same zip, its handler, role and group, the environment phase A documents.
    expect(inputsOf('CreateQueue')).toEqual([
      {
        QueueName: 'chatbot-ingest-failures',
        Attributes: { MessageRetentionPeriod: '1209600', SqsManagedSseEnabled: 'true' },
        tags: { 'managed-by': 'chatbot-ops' },
      },
    ]);
    const fn = inputsOf('CreateFunction').find((i) => i.FunctionName === 'chatbot-ingest');
    expect(fn).toMatchObject({
      Runtime: 'nodejs22.x',
      Handler: 'ingest_function.handler',
      Role: `arn:aws:iam::${ACCOUNT}:role/ChatbotIngestRole`,
      MemorySize: 256,
      Timeout: 900,
      VpcConfig: { SubnetIds: [...PRIVATE_SUBNETS].sort(), SecurityGroupIds: [sg] },
      Environment: {
        Variables: {
          DB_HOST: BASE_CONFIG.database.host,
          DB_PORT: '3306',
          DB_NAME: 'chatbot_db',
          DB_USER: 'app_user',
          DB_PASSWORD,
          LOG_LEVEL: 'INFO',
          INGEST_RESULTS_PREFIX: 'chatbot-ops/results/',
        },
      },
    });
    expect(fn?.Code).toEqual(inputsOf('CreateFunction')[0]?.Code);
    expect(inputsOf('PutFunctionEventInvokeConfig')).toEqual([
      {
        FunctionName: 'chatbot-ingest',
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: QUEUE_ARN } },
      },
    ]);
    expect(inputsOf('PutMetricAlarm').at(-1)).toMatchObject({
      AlarmName: 'chatbot-ingest-errors',
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: 'chatbot-ingest' }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      Period: 300,
    });

    // The trigger: S3 may invoke it for this bucket in this account only; ObjectCreated under logs/.
    expect(inputsOf('AddPermission').at(-1)).toEqual({
      FunctionName: 'chatbot-ingest',
      StatementId: 'chatbot-ops-s3-invoke',
      Action: 'lambda:InvokeFunction',
      Principal: 's3.amazonaws.com',
      SourceArn: BUCKET_ARN,
      SourceAccount: ACCOUNT,
    });
    expect(inputsOf('PutBucketNotificationConfiguration')).toEqual([
      {
        Bucket: BUCKET,
        NotificationConfiguration: {
          LambdaFunctionConfigurations: [
            {
              Id: 'chatbot-ops-ingest',
              LambdaFunctionArn: FN_ARN,
              Events: ['s3:ObjectCreated:*'],
              Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'logs/' }] } },
            },
          ],
        },
      },
    ]);
    expect(r.text).not.toContain(DB_PASSWORD);
  });

  it('a re-deploy makes no mutating call', async () => {
    await deploy();
    world.fake.clearCalls();

    const r = await deploy();

    expect(r.code).toBe(0);
    expect(mutating()).toEqual([]);
    expect(r.text).toMatch(/0 to create, 0 to change, 35 unchanged/);
  });

  it('one rule per suffix, lifecycle expiry and ALB delivery when the config asks', async () => {
    world.writeConfig({
      ...INGEST_CONFIG,
      ingest: { suffixes: ['.log.gz', '.log'], expireAfterDays: 30, albLogDelivery: true },
    });

    const r = await deploy();

    expect(r.code).toBe(0);
    expect(inputsOf('PutBucketLifecycleConfiguration')).toEqual([
      {
        Bucket: BUCKET,
        LifecycleConfiguration: {
          Rules: [
            {
              ID: 'chatbot-ops-expire-logs',
              Status: 'Enabled',
              Filter: { Prefix: 'logs/' },
              Expiration: { Days: 30 },
            },
            {
              ID: 'chatbot-ops-expire-results',
              Status: 'Enabled',
              Filter: { Prefix: 'chatbot-ops/results/' },
              Expiration: { Days: 30 },
            },
          ],
        },
      },
    ]);
    expect(JSON.parse(String(inputsOf('PutBucketPolicy')[0]?.Policy)).Statement[1]).toEqual({
      Sid: 'ChatbotOpsAlbLogDelivery',
      Effect: 'Allow',
      // us-east-1 opened before August 2022: Elastic Load Balancing's account there writes the logs.
      Principal: { AWS: 'arn:aws:iam::127311923021:root' },
      Action: 's3:PutObject',
      Resource: `${BUCKET_ARN}/logs/*AWSLogs/${ACCOUNT}/*`,
    });
    const rules = inputsOf('PutBucketNotificationConfiguration')[0]?.NotificationConfiguration as {
      LambdaFunctionConfigurations: { Id: string; Filter: unknown }[];
    };
    expect(rules.LambdaFunctionConfigurations.map((c) => [c.Id, c.Filter])).toEqual([
      [
        'chatbot-ops-ingest-1',
        {
          Key: {
            FilterRules: [
              { Name: 'prefix', Value: 'logs/' },
              { Name: 'suffix', Value: '.log.gz' },
            ],
          },
        },
      ],
      [
        'chatbot-ops-ingest-2',
        {
          Key: {
            FilterRules: [
              { Name: 'prefix', Value: 'logs/' },
              { Name: 'suffix', Value: '.log' },
            ],
          },
        },
      ],
    ]);
    world.fake.clearCalls();
    expect((await deploy()).code).toBe(0);
    expect(mutating()).toEqual([]);
  });

  it('ALB delivery in a region opened after August 2022 names the service principal', () => {
    expect(albDeliveryStatement('eu-central-2', 'aws', 'arn:aws:s3:::b', 'logs/', ACCOUNT).Principal).toEqual(
      {
        Service: 'logdelivery.elasticloadbalancing.amazonaws.com',
      },
    );
  });

  it('puts back a bucket setting that drifted, and only that', async () => {
    await deploy();
    const bucket = world.fake.buckets.get(BUCKET);
    if (bucket) bucket.publicAccessBlock = { ...bucket.publicAccessBlock, BlockPublicPolicy: false };
    world.fake.clearCalls();

    const r = await deploy();

    expect(mutating()).toEqual(['S3.PutPublicAccessBlock']);
    expect(r.text).toMatch(/~ update\s+S3 bucket chatbot-logs-/);
  });

  it('replaces a permission that is not scoped to the account', async () => {
    await deploy();
    const fn = world.fake.functions.get('chatbot-ingest');
    const statement = fn?.policy.find((s) => s.Sid === 'chatbot-ops-s3-invoke') as { Condition: object };
    statement.Condition = { ArnLike: { 'AWS:SourceArn': BUCKET_ARN } };
    world.fake.clearCalls();

    await deploy();

    expect(mutating()).toEqual(['Lambda.RemovePermission', 'Lambda.AddPermission']);
    expect(inputsOf('AddPermission')[0]).toMatchObject({ SourceArn: BUCKET_ARN, SourceAccount: ACCOUNT });
  });
});

describe('what already exists in the account', () => {
  it('reuses the VPC S3 gateway endpoint and adds only the route table it lacks', async () => {
    world.fake.vpcEndpoints.push({
      VpcEndpointId: 'vpce-0theirs',
      VpcEndpointType: 'Gateway',
      VpcId: VPC,
      ServiceName: `com.amazonaws.${REGION}.s3`,
      State: 'available',
      RouteTableIds: ['rtb-main'],
      Tags: [],
    });

    const r = await deploy();

    expect(r.code).toBe(0);
    expect(inputsOf('CreateVpcEndpoint')).toEqual([]);
    expect(inputsOf('ModifyVpcEndpoint')).toEqual([
      { VpcEndpointId: 'vpce-0theirs', AddRouteTableIds: ['rtb-private-b'] },
    ]);
    world.fake.clearCalls();
    await world.run(['destroy', '--yes']);
    // Not ours: it stays, routes and all.
    expect(inputsOf('DeleteVpcEndpoints')).toEqual([]);
    expect(world.fake.vpcEndpoints.map((e) => e.RouteTableIds)).toEqual([['rtb-main', 'rtb-private-b']]);
  });

  it('uses a bucket of yours as it is: no setting changed, warnings, its other notifications kept', async () => {
    world.writeConfig({ ...INGEST_CONFIG, ingest: { bucket: 'my-alb-logs' } });
    const theirs = {
      Id: 'their-queue',
      QueueArn: 'arn:aws:sqs:us-east-1:123456789012:audit',
      Events: ['s3:ObjectRemoved:*'],
    };
    world.fake.buckets.set('my-alb-logs', {
      region: REGION,
      tags: { team: 'web' },
      notifications: { QueueConfigurations: [theirs] },
      objects: new Map([['logs/old.log', 10]]),
    });

    const r = await deploy();

    expect(r.code).toBe(0);
    const bucketWrites = mutating().filter(
      (c) => c.startsWith('S3.') && c !== 'S3.PutBucketNotificationConfiguration',
    );
    expect(bucketWrites).toEqual([]);
    expect(r.text).toMatch(/S3 bucket my-alb-logs \(yours: used as it is\)/);
    expect(r.text).toMatch(/the bucket my-alb-logs does not block all public access/);
    expect(inputsOf('PutBucketNotificationConfiguration')[0]?.NotificationConfiguration).toEqual({
      QueueConfigurations: [theirs],
      LambdaFunctionConfigurations: [
        {
          Id: 'chatbot-ops-ingest',
          LambdaFunctionArn: FN_ARN,
          Events: ['s3:ObjectCreated:*'],
          Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'logs/' }] } },
        },
      ],
    });
    expect(
      JSON.parse(
        String(inputsOf('PutRolePolicy').find((i) => i.PolicyName === 'LogsBucketPolicy')?.PolicyDocument),
      ).Statement[0].Resource,
    ).toBe('arn:aws:s3:::my-alb-logs/logs/*');

    world.fake.clearCalls();
    const gone = await world.run(['destroy', '--yes']);
    expect(gone.code).toBe(0);
    // Never deleted, not even emptied; only our rule leaves its notifications.
    expect(world.fake.buckets.get('my-alb-logs')?.objects.size).toBe(1);
    expect(world.fake.buckets.get('my-alb-logs')?.notifications).toEqual({ QueueConfigurations: [theirs] });
  });

  it('a bucket name another account owns stops the deploy before any change', async () => {
    world.writeConfig({ ...INGEST_CONFIG, ingest: { bucket: 'taken-name' } });
    world.fake.foreignBuckets.add('taken-name');

    const r = await deploy();

    expect(r.code).toBe(1);
    expect(r.text).toMatch(/the S3 bucket taken-name belongs to another account/);
    expect(mutating()).toEqual([]);
  });
});

describe('the ingest login', () => {
  it('a writer user of its own, with the password from its variable', async () => {
    vi.stubEnv('INGEST_DB_PASSWORD', 'writer-secret-1');
    world.writeConfig({ ...INGEST_CONFIG, ingest: { dbUser: 'ingest_writer' } });

    const r = await deploy();

    expect(r.code).toBe(0);
    const vars = ingestVariables();
    expect([vars.DB_USER, vars.DB_PASSWORD]).toEqual(['ingest_writer', 'writer-secret-1']);
    expect(r.text).not.toContain('writer-secret-1');
  });

  it('stops naming the variable when the writer password is unset, before any change', async () => {
    vi.stubEnv('INGEST_DB_PASSWORD', undefined);
    world.writeConfig({ ...INGEST_CONFIG, ingest: { dbUser: 'ingest_writer' } });

    const r = await deploy();

    expect(r.code).toBe(2);
    expect(r.text).toMatch(/INGEST_DB_PASSWORD is empty/);
    expect(mutating()).toEqual([]);
  });

  it('a secret: DB_SECRET_ARN, a read policy for that secret only, HTTPS out for Secrets Manager', async () => {
    const secret = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:ingest-writer-AbCdEf`;
    world.writeConfig({ ...INGEST_CONFIG, ingest: { dbSecretArn: secret } });

    await deploy();

    expect(ingestVariables()).toMatchObject({ DB_SECRET_ARN: secret });
    expect(ingestVariables().DB_PASSWORD).toBeUndefined();
    const read = inputsOf('PutRolePolicy').find(
      (i) => i.RoleName === 'ChatbotIngestRole' && i.PolicyName === 'SecretsManagerReadPolicy',
    );
    expect(policyOf(read).Statement).toEqual([
      {
        Sid: 'ReadDatabaseSecret',
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: secret,
      },
    ]);
    const egress = inputsOf('AuthorizeSecurityGroupEgress').find((i) => i.GroupId === ingestGroupId());
    expect(egress?.IpPermissions).toContainEqual({
      IpProtocol: 'tcp',
      FromPort: 443,
      ToPort: 443,
      IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'chatbot ingest Lambda' }],
    });
  });
});

describe('create-ingest and its steps alone', () => {
  it('adds the ingest path to a deployment made without it', async () => {
    world.writeConfig(BASE_CONFIG);
    await deploy();
    world.writeConfig(INGEST_CONFIG);
    world.fake.clearCalls();

    const r = await world.run(['create-ingest', '--yes', '--zip', world.zipPath]);

    expect(r.code).toBe(0);
    expect(mutating()).toEqual(INGEST_CREATION);
  });

  it('create-ingest-function before its role says which command to run first', async () => {
    const r = await world.run(['create-ingest-function', '--yes', '--zip', world.zipPath]);

    expect(r.code).toBe(1);
    expect(r.text).toMatch(/Run `chatbot-ops create-ingest-role` first/);
    expect(mutating()).toEqual([]);
  });

  it('a failed notification: the error names the step, the re-run finishes it and creates nothing twice', async () => {
    world.fake.failOnce('PutBucketNotificationConfiguration');

    const first = await deploy();
    const second = await deploy();

    expect(first.code).toBe(1);
    expect(first.text).toMatch(/step "create-ingest-trigger" failed on/);
    expect(second.code).toBe(0);
    expect(inputsOf('CreateBucket')).toHaveLength(1);
    expect(inputsOf('CreateFunction')).toHaveLength(2);
    expect(inputsOf('PutBucketNotificationConfiguration')).toHaveLength(2);
  });

  it('status lists each ingest resource', async () => {
    await deploy();
    const fn = world.fake.functions.get('chatbot-ingest');
    if (fn) fn.asyncConfig = undefined;

    const r = await world.run(['status', '--zip', world.zipPath]);

    for (const line of [
      /ok\s+IAM role ChatbotIngestRole/,
      /ok\s+security group lambda-chatbot-ingest-sg/,
      /ok\s+S3 gateway endpoint vpce-/,
      /ok\s+S3 bucket chatbot-logs-/,
      /ok\s+SQS queue chatbot-ingest-failures/,
      /ok\s+Lambda function chatbot-ingest/,
      /missing\s+async invocation chatbot-ingest → chatbot-ingest-failures/,
      /ok\s+alarm chatbot-ingest-errors/,
      /ok\s+invoke permission s3.amazonaws.com → chatbot-ingest/,
      /ok\s+bucket notification chatbot-logs-.* → chatbot-ingest/,
    ])
      expect(r.text).toMatch(line);
  });
});

describe('destroy with the ingest path', () => {
  it('removes everything in a safe order: the trigger, the function, the empty bucket, the network, the role', async () => {
    await deploy();
    world.fake.clearCalls();

    const r = await world.run(['destroy', '--yes']);

    expect(r.code).toBe(0);
    expect(mutating()).toEqual([...INGEST_REMOVAL, ...API_PATH_REMOVAL]);
    expect(inputsOf('PutBucketNotificationConfiguration')).toEqual([
      { Bucket: BUCKET, NotificationConfiguration: {} },
    ]);
    expect(world.fake.buckets.size + world.fake.queues.size + world.fake.vpcEndpoints.length).toBe(0);
    expect([...world.fake.groups.keys()]).toEqual([RDS_SG]);
    expect(world.fake.groups.get(RDS_SG)?.IpPermissions).toEqual([]);
    // The endpoint's routes went with it.
    expect(
      world.fake.routeTables.flatMap((t) => t.Routes).some((x) => String(x.GatewayId).startsWith('vpce-')),
    ).toBe(false);
  });

  it('keeps a bucket that holds logs, says so, and removes the rest', async () => {
    await deploy();
    world.fake.buckets.get(BUCKET)?.objects.set('logs/a.log', 100).set('logs/b.log', 200);
    world.fake.clearCalls();

    const r = await world.run(['destroy', '--yes']);

    expect(r.code).toBe(0);
    expect(r.text).toMatch(/= unchanged\s+S3 bucket chatbot-logs-/);
    expect(r.text).toMatch(/kept: it holds 2 objects → destroy --delete-data deletes them and the bucket/);
    expect(r.text).toMatch(/kept the S3 bucket chatbot-logs-\S+: it holds 2 objects/);
    expect(mutating()).not.toContain('S3.DeleteBucket');
    expect(mutating()).not.toContain('S3.DeleteObjects');
    expect([...world.fake.buckets.keys()]).toEqual([BUCKET]);
    expect(world.fake.functions.size + world.fake.roles.size + world.fake.queues.size).toBe(0);
  });

  it('--delete-data deletes the objects, then the bucket, and says how many', async () => {
    await deploy();
    const objects = world.fake.buckets.get(BUCKET)?.objects;
    for (let i = 0; i < 1500; i++) objects?.set(`logs/part-${String(i).padStart(4, '0')}.log`, 10);
    world.fake.clearCalls();

    const r = await world.run(['destroy', '--yes', '--delete-data']);

    expect(r.code).toBe(0);
    expect(r.text).toMatch(/- delete\s+S3 bucket chatbot-logs-/);
    expect(r.text).toMatch(/deleted 1,500 objects from the S3 bucket chatbot-logs-\S+, then the bucket/);
    expect(inputsOf('DeleteObjects').map((i) => (i.Delete as { Objects: unknown[] }).Objects.length)).toEqual(
      [1000, 500],
    );
    expect(world.fake.buckets.size).toBe(0);
  });

  it('keeps a failure queue holding failed events unless --delete-data', async () => {
    await deploy();
    const queue = world.fake.queues.get('chatbot-ingest-failures');
    if (queue) queue.messages = 3;

    const kept = await world.run(['destroy', '--yes']);
    const removed = await world.run(['destroy', '--yes', '--delete-data']);

    expect(kept.text).toMatch(/kept the SQS queue chatbot-ingest-failures: it holds 3 failed events/);
    expect(removed.code).toBe(0);
    expect(removed.text).toMatch(/deleted the SQS queue chatbot-ingest-failures with 3 failed events/);
    expect(world.fake.queues.size).toBe(0);
  });

  it('is re-runnable after a failure part way', async () => {
    await deploy();
    world.fake.failOnce('DeleteVpcEndpoints');

    const first = await world.run(['destroy', '--yes']);
    const second = await world.run(['destroy', '--yes']);
    world.fake.clearCalls();
    const third = await world.run(['destroy', '--yes']);

    expect(first.code).toBe(1);
    expect(first.text).toMatch(/destroy stopped while removing S3 gateway endpoint vpce-/);
    expect(second.code).toBe(0);
    expect(third.text).toMatch(/Nothing to remove/);
    expect(mutating()).toEqual([]);
  });
});
