/**
 * The fake account's own tests: it behaves as its header says AWS does, through real SDK clients,
 * so the tests built on it (deploy, destroy, status, doctor, invoke, rotate-key) rest on checked
 * behaviour rather than on each other.
 */
import * as apigw from '@aws-sdk/client-api-gateway';
import * as cw from '@aws-sdk/client-cloudwatch';
import * as ec2 from '@aws-sdk/client-ec2';
import * as lambda from '@aws-sdk/client-lambda';
import * as s3 from '@aws-sdk/client-s3';
import * as sqs from '@aws-sdk/client-sqs';
import * as sts from '@aws-sdk/client-sts';
import * as waf from '@aws-sdk/client-wafv2';
import { afterEach, describe, expect, it } from 'vitest';
import { type AwsClients, createAwsClients } from '../../src/aws/clients.js';
import { hashApiKey } from '../../src/lambda/api-keys.js';
import { FakeAccount, RDS_SG, REGION, S3_PREFIX_LIST, VPC } from './fake-account.js';

let fake: FakeAccount;
afterEach(() => fake.stop());

function start(options: ConstructorParameters<typeof FakeAccount>[0] = {}): AwsClients {
  fake = new FakeAccount(options).start();
  return createAwsClients({ region: REGION });
}

const createFunction = (aws: AwsClients, env: Record<string, string> = {}) =>
  aws.lambda.send(
    new lambda.CreateFunctionCommand({
      FunctionName: 'fn',
      Role: 'arn:aws:iam::123456789012:role/r',
      Runtime: 'nodejs22.x',
      Handler: 'h',
      Code: { ZipFile: new Uint8Array([1]) },
      Environment: { Variables: env },
    }),
  );

const ENI_POLICY = 'arn:aws:iam::aws:policy/service-role/AWSLambdaENIManagementAccess';

const withRole = (aws: AwsClients, attached: string[] = [ENI_POLICY]) => {
  fake.roles.set('r', {
    arn: 'arn:aws:iam::123456789012:role/r',
    trust: '{}',
    tags: {},
    attached,
    inline: new Map(),
  });
  return aws;
};

describe('the record of calls and injected failures', () => {
  it('records every call with its input, and fails a command exactly once when told', async () => {
    const aws = start();
    fake.failOnce('GetCallerIdentity');

    await expect(aws.sts.send(new sts.GetCallerIdentityCommand({}))).rejects.toThrow('failed (injected)');
    await expect(aws.sts.send(new sts.GetCallerIdentityCommand({}))).resolves.toMatchObject({
      Account: '123456789012',
    });

    expect(fake.commandNames()).toEqual(['STS.GetCallerIdentity', 'STS.GetCallerIdentity']);
    expect(fake.stubs.sts.commandCalls(sts.GetCallerIdentityCommand)).toHaveLength(2);
  });

  it('fails every call of a service after failAll, and clearCalls forgets what was recorded', async () => {
    const aws = start();
    fake.failAll('EC2', Object.assign(new Error('denied'), { name: 'UnauthorizedOperation' }));

    await expect(aws.ec2.send(new ec2.DescribeVpcsCommand({}))).rejects.toThrow('denied');
    fake.clearCalls();

    expect(fake.calls).toEqual([]);
    expect(fake.stubs.ec2.calls()).toEqual([]);
  });

  it('names a call it does not model instead of answering something', async () => {
    const aws = start();

    await expect(aws.lambda.send(new lambda.ListFunctionsCommand({}))).rejects.toThrow(
      /the fake account does not model this Lambda call/,
    );
  });
});

describe('Lambda', () => {
  it('a role Lambda cannot assume yet refuses creation the given number of times', async () => {
    const aws = withRole(start());
    fake.rolePropagation.set('r', 2);

    await expect(createFunction(aws)).rejects.toThrow(/cannot be assumed by Lambda/);
    await expect(createFunction(aws)).rejects.toThrow(/cannot be assumed by Lambda/);
    await expect(createFunction(aws)).resolves.toMatchObject({ FunctionName: 'fn' });
  });

  it('a VPC function is refused while its role has no network-interface policy, or Lambda does not see it yet', async () => {
    const aws = withRole(start(), []);
    const inVpc = () =>
      aws.lambda.send(
        new lambda.CreateFunctionCommand({
          FunctionName: 'fn',
          Role: 'arn:aws:iam::123456789012:role/r',
          Code: { ZipFile: new Uint8Array([1]) },
          Environment: { Variables: {} },
          VpcConfig: { SubnetIds: ['subnet-0a1'], SecurityGroupIds: ['sg-1'] },
        }),
      );
    const refused = /does not have permissions to call CreateNetworkInterface on EC2/;

    await expect(inVpc()).rejects.toThrow(refused);
    withRole(aws, [ENI_POLICY]);
    fake.networkPermissionPropagation.set('r', 1);
    await expect(inVpc()).rejects.toThrow(refused);
    await expect(inVpc()).resolves.toMatchObject({ FunctionName: 'fn' });
  });

  it('a new function stays Pending for pollsUntilReady polls and refuses updates meanwhile', async () => {
    const aws = withRole(start({ pollsUntilReady: 2 }));
    await createFunction(aws);
    const state = async () =>
      (await aws.lambda.send(new lambda.GetFunctionCommand({ FunctionName: 'fn' }))).Configuration?.State;

    await expect(
      aws.lambda.send(new lambda.UpdateFunctionConfigurationCommand({ FunctionName: 'fn', MemorySize: 512 })),
    ).rejects.toBeInstanceOf(lambda.ResourceConflictException);
    expect([await state(), await state(), await state()]).toEqual(['Pending', 'Pending', 'Active']);
  });

  it('answers a direct health invocation as a healthy backend, anything else 400, the log tail only when asked', async () => {
    const aws = withRole(start());
    await createFunction(aws);
    const invoke = async (intent: string, tail: boolean) => {
      const out = await aws.lambda.send(
        new lambda.InvokeCommand({
          FunctionName: 'fn',
          Payload: new TextEncoder().encode(JSON.stringify({ intent })),
          ...(tail ? { LogType: 'Tail' as const } : {}),
        }),
      );
      return { status: JSON.parse(new TextDecoder().decode(out.Payload)).statusCode, tail: out.LogResult };
    };
    fake.directAnswers.health = { ...(fake.directAnswers.health as object), LogResult: 'bG9n' } as never;

    expect(await invoke('health', false)).toEqual({ status: 200, tail: undefined });
    expect(await invoke('health', true)).toEqual({ status: 200, tail: 'bG9n' });
    expect((await invoke('get_access_logs', false)).status).toBe(400);
    await expect(
      aws.lambda.send(new lambda.InvokeCommand({ FunctionName: 'nope', Payload: new Uint8Array() })),
    ).rejects.toBeInstanceOf(lambda.ResourceNotFoundException);
  });
});

describe('EC2', () => {
  it('refuses a duplicate rule, keeps a referenced group, and lets ENIs linger after the function goes', async () => {
    const aws = withRole(start({ eniPollsAfterDelete: 2 }));
    const { GroupId } = await aws.ec2.send(
      new ec2.CreateSecurityGroupCommand({ VpcId: VPC, GroupName: 'g', Description: 'd' }),
    );
    const rule = { IpProtocol: 'tcp', FromPort: 3306, ToPort: 3306, UserIdGroupPairs: [{ GroupId }] };
    await aws.ec2.send(
      new ec2.AuthorizeSecurityGroupIngressCommand({ GroupId: RDS_SG, IpPermissions: [rule] }),
    );

    await expect(
      aws.ec2.send(new ec2.AuthorizeSecurityGroupIngressCommand({ GroupId: RDS_SG, IpPermissions: [rule] })),
    ).rejects.toMatchObject({ name: 'InvalidPermission.Duplicate' });
    await expect(aws.ec2.send(new ec2.DeleteSecurityGroupCommand({ GroupId }))).rejects.toMatchObject({
      name: 'DependencyViolation',
    });

    await aws.lambda.send(
      new lambda.CreateFunctionCommand({
        FunctionName: 'fn',
        Role: 'arn:aws:iam::123456789012:role/r',
        Code: { ZipFile: new Uint8Array([1]) },
        Environment: { Variables: {} },
        VpcConfig: { SubnetIds: ['subnet-0a1'], SecurityGroupIds: [GroupId ?? ''] },
      }),
    );
    await aws.lambda.send(new lambda.DeleteFunctionCommand({ FunctionName: 'fn' }));
    const enis = async () =>
      (
        await aws.ec2.send(
          new ec2.DescribeNetworkInterfacesCommand({
            Filters: [{ Name: 'group-id', Values: [GroupId ?? ''] }],
          }),
        )
      ).NetworkInterfaces?.length;
    expect([await enis(), await enis(), await enis()]).toEqual([2, 2, 0]);
  });
});

describe('the ingest path: S3, SQS, gateway endpoints, asynchronous invocation', () => {
  it('a gateway endpoint adds its route to each route table, and takes it away when it goes', async () => {
    const aws = start();
    const routesTo = (table: string) =>
      fake.routeTables
        .find((t) => t.RouteTableId === table)
        ?.Routes.filter((r: { GatewayId?: string }) => String(r.GatewayId).startsWith('vpce-'));
    const lists = await aws.ec2.send(
      new ec2.DescribeManagedPrefixListsCommand({
        Filters: [{ Name: 'prefix-list-name', Values: [`com.amazonaws.${REGION}.s3`] }],
      }),
    );

    const created = await aws.ec2.send(
      new ec2.CreateVpcEndpointCommand({
        VpcEndpointType: 'Gateway',
        VpcId: VPC,
        ServiceName: `com.amazonaws.${REGION}.s3`,
        RouteTableIds: ['rtb-main'],
      }),
    );
    const id = created.VpcEndpoint?.VpcEndpointId ?? '';
    await aws.ec2.send(
      new ec2.ModifyVpcEndpointCommand({ VpcEndpointId: id, AddRouteTableIds: ['rtb-private-b'] }),
    );
    const both = [routesTo('rtb-main'), routesTo('rtb-private-b')];
    const found = await aws.ec2.send(
      new ec2.DescribeVpcEndpointsCommand({
        Filters: [{ Name: 'vpc-endpoint-type', Values: ['Interface'] }],
      }),
    );
    const deleted = await aws.ec2.send(
      new ec2.DeleteVpcEndpointsCommand({ VpcEndpointIds: [id, 'vpce-0none'] }),
    );

    expect(lists.PrefixLists?.map((p) => p.PrefixListId)).toEqual([S3_PREFIX_LIST]);
    expect(both).toEqual([
      [{ DestinationPrefixListId: S3_PREFIX_LIST, GatewayId: id, State: 'active' }],
      [{ DestinationPrefixListId: S3_PREFIX_LIST, GatewayId: id, State: 'active' }],
    ]);
    expect(found.VpcEndpoints).toEqual([]);
    expect(deleted.Unsuccessful?.map((u) => u.Error?.Code)).toEqual(['InvalidVpcEndpoint.NotFound']);
    expect([routesTo('rtb-main'), routesTo('rtb-private-b')]).toEqual([[], []]);
  });

  it("S3: another account's name answers 403, a notification needs S3's permission, a bucket holding objects stays", async () => {
    const aws = withRole(start());
    fake.foreignBuckets.add('taken');
    await aws.s3.send(new s3.CreateBucketCommand({ Bucket: 'logs' }));
    await createFunction(aws);
    const notify = () =>
      aws.s3.send(
        new s3.PutBucketNotificationConfigurationCommand({
          Bucket: 'logs',
          NotificationConfiguration: {
            LambdaFunctionConfigurations: [
              {
                LambdaFunctionArn: `arn:aws:lambda:${REGION}:123456789012:function:fn`,
                Events: ['s3:ObjectCreated:*'],
              },
            ],
          },
        }),
      );

    await expect(aws.s3.send(new s3.HeadBucketCommand({ Bucket: 'taken' }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 403 },
    });
    await expect(aws.s3.send(new s3.HeadBucketCommand({ Bucket: 'none' }))).rejects.toBeInstanceOf(
      s3.NotFound,
    );
    await expect(aws.s3.send(new s3.GetBucketTaggingCommand({ Bucket: 'logs' }))).rejects.toMatchObject({
      name: 'NoSuchTagSet',
    });
    await expect(notify()).rejects.toMatchObject({ name: 'InvalidArgument' });
    await aws.lambda.send(
      new lambda.AddPermissionCommand({
        FunctionName: 'fn',
        StatementId: 's3',
        Action: 'lambda:InvokeFunction',
        Principal: 's3.amazonaws.com',
        SourceArn: 'arn:aws:s3:::logs',
        SourceAccount: '123456789012',
      }),
    );
    await expect(notify()).resolves.toBeDefined();
    fake.buckets.get('logs')?.objects.set('logs/a.log', 1);
    await expect(aws.s3.send(new s3.DeleteBucketCommand({ Bucket: 'logs' }))).rejects.toMatchObject({
      name: 'BucketNotEmpty',
    });
    expect(fake.functions.get('fn')?.policy[0]?.Condition).toEqual({
      StringEquals: { 'AWS:SourceAccount': '123456789012' },
      ArnLike: { 'AWS:SourceArn': 'arn:aws:s3:::logs' },
    });
  });

  it('SQS answers the same URL for the same queue, and Lambda refuses a destination that does not exist', async () => {
    const aws = withRole(start());
    await createFunction(aws);
    const create = (retention: string) =>
      aws.sqs.send(
        new sqs.CreateQueueCommand({ QueueName: 'q', Attributes: { MessageRetentionPeriod: retention } }),
      );
    const put = () =>
      aws.lambda.send(
        new lambda.PutFunctionEventInvokeConfigCommand({
          FunctionName: 'fn',
          MaximumRetryAttempts: 2,
          DestinationConfig: { OnFailure: { Destination: `arn:aws:sqs:${REGION}:123456789012:q` } },
        }),
      );

    await expect(put()).rejects.toBeInstanceOf(lambda.InvalidParameterValueException);
    const first = await create('60');
    const again = await create('60');
    await expect(create('120')).rejects.toBeInstanceOf(sqs.QueueNameExists);
    await put();
    const config = await aws.lambda.send(
      new lambda.GetFunctionEventInvokeConfigCommand({ FunctionName: 'fn' }),
    );

    expect(again.QueueUrl).toBe(first.QueueUrl);
    expect(config.DestinationConfig?.OnFailure?.Destination).toBe(`arn:aws:sqs:${REGION}:123456789012:q`);
  });

  it('a direct invocation with an action answers actionAnswers, or an unknown-action answer', async () => {
    const aws = withRole(start());
    await createFunction(aws);
    fake.actionAnswers.stats = new Error('stats down');
    const invoke = (event: object) =>
      aws.lambda.send(
        new lambda.InvokeCommand({
          FunctionName: 'fn',
          Payload: new TextEncoder().encode(JSON.stringify(event)),
        }),
      );

    await expect(invoke({ action: 'stats' })).rejects.toThrow('stats down');
    const unknown = await invoke({ action: 'grants' });

    expect(JSON.parse(new TextDecoder().decode(unknown.Payload))).toEqual({
      ok: false,
      action: 'grants',
      error: { message: 'unknown action "grants"' },
    });
  });
});

describe('API Gateway and the served API', () => {
  /** An API deployed to prod with POST /chatbot (key required) calling function fn, a plan and a key. */
  async function deployedApi(aws: AwsClients, keyValue: string) {
    await createFunction(withRole(aws), { API_KEYS: hashApiKey(keyValue) });
    const { id: apiId, rootResourceId } = await aws.apigateway.send(
      new apigw.CreateRestApiCommand({ name: 'api', endpointConfiguration: { types: ['REGIONAL'] } }),
    );
    const { id: resourceId } = await aws.apigateway.send(
      new apigw.CreateResourceCommand({ restApiId: apiId, parentId: rootResourceId, pathPart: 'chatbot' }),
    );
    const method = { restApiId: apiId, resourceId, httpMethod: 'POST' };
    await aws.apigateway.send(
      new apigw.PutMethodCommand({ ...method, authorizationType: 'NONE', apiKeyRequired: true }),
    );
    await aws.apigateway.send(
      new apigw.PutIntegrationCommand({
        ...method,
        type: 'AWS_PROXY',
        integrationHttpMethod: 'POST',
        uri: 'arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:fn/invocations',
      }),
    );
    await aws.apigateway.send(new apigw.CreateDeploymentCommand({ restApiId: apiId, stageName: 'prod' }));
    const { id: planId } = await aws.apigateway.send(
      new apigw.CreateUsagePlanCommand({
        name: 'plan',
        throttle: { rateLimit: 10, burstLimit: 20 },
        apiStages: [{ apiId, stage: 'prod' }],
      }),
    );
    const { id: keyId } = await aws.apigateway.send(
      new apigw.CreateApiKeyCommand({ name: 'key', value: keyValue, enabled: true }),
    );
    await aws.apigateway.send(
      new apigw.CreateUsagePlanKeyCommand({ usagePlanId: planId, keyId, keyType: 'API_KEY' }),
    );
    return { apiId: apiId ?? '', planId: planId ?? '' };
  }

  it('answers as API Gateway and the function would: 403 without a key on the plan, 401 without its hash, else 200', async () => {
    const aws = start();
    const { apiId } = await deployedApi(aws, 'good-key');
    const path = `/restapis/${apiId}/prod/_user_request_/chatbot`;
    fake.apiKeys.set('other', {
      id: 'other',
      name: 'key',
      value: 'planned-not-hashed',
      enabled: true,
      createdDate: new Date(),
      tags: {},
    });
    const plan = [...fake.usagePlans.values()][0];
    plan?.keys.push('other');

    expect(fake.answerApi(path, 'good-key').status).toBe(200);
    expect(fake.answerApi('/prod/chatbot', 'good-key').status).toBe(200);
    expect(fake.answerApi(path, undefined).status).toBe(403);
    expect(fake.answerApi(path, 'unknown-key').status).toBe(403);
    expect(fake.answerApi(path, 'planned-not-hashed').status).toBe(401);
    expect(fake.answerApi(`/restapis/${apiId}/test/_user_request_/chatbot`, 'good-key').status).toBe(404);
    fake.httpAnswers.withKey = { status: 429, body: '{"message":"Limit Exceeded"}' };
    expect(fake.answerApi(path, 'good-key').status).toBe(429);
    expect(fake.modelledAnswer(path, 'good-key').status).toBe(200);
  });

  it('a deployment freezes the methods: changing the API later does not change what the stage serves', async () => {
    const aws = start();
    const { apiId } = await deployedApi(aws, 'good-key');
    const resource = [...(fake.apis.get(apiId)?.resources.values() ?? [])].find((r) => r.path === '/chatbot');
    if (resource?.methods.POST) resource.methods.POST.apiKeyRequired = false;

    expect(fake.answerApi(`/restapis/${apiId}/prod/_user_request_/chatbot`, undefined).status).toBe(403);
  });

  it('clamps a throttle above the account ceiling without saying so, and refuses to delete a plan on a stage', async () => {
    const aws = start();
    const { planId } = await deployedApi(aws, 'k');
    fake.accountThrottleLimit = { rateLimit: 5, burstLimit: 5 };
    await aws.apigateway.send(
      new apigw.UpdateUsagePlanCommand({
        usagePlanId: planId,
        patchOperations: [{ op: 'replace', path: '/throttle/rateLimit', value: '50' }],
      }),
    );

    expect(fake.usagePlans.get(planId)?.throttle.rateLimit).toBe(5);
    await expect(
      aws.apigateway.send(new apigw.DeleteUsagePlanCommand({ usagePlanId: planId })),
    ).rejects.toBeInstanceOf(apigw.BadRequestException);
  });
});

describe('CloudWatch', () => {
  it('finds alarms by metric and exact dimensions, whatever their names, with their state', async () => {
    const aws = start();
    await aws.cloudwatch.send(
      new cw.PutMetricAlarmCommand({
        AlarmName: 'any-name',
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: 'fn' }],
        Threshold: 1,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanThreshold',
      }),
    );
    const find = (value: string) =>
      aws.cloudwatch.send(
        new cw.DescribeAlarmsForMetricCommand({
          Namespace: 'AWS/Lambda',
          MetricName: 'Errors',
          Dimensions: [{ Name: 'FunctionName', Value: value }],
        }),
      );

    expect((await find('fn')).MetricAlarms?.map((a) => [a.AlarmName, a.StateValue])).toEqual([
      ['any-name', 'INSUFFICIENT_DATA'],
    ]);
    expect((await find('other')).MetricAlarms).toEqual([]);
  });
});

describe('what the Next Steps use', () => {
  /** A REST API with a stage made the way deploy makes it. */
  const withStage = async (
    aws: AwsClients,
    description = 'chatbot-ops deploy (definition 0123456789abcdef)',
  ) => {
    const api = await aws.apigateway.send(
      new apigw.CreateRestApiCommand({ name: 'a', endpointConfiguration: { types: ['REGIONAL'] } }),
    );
    const resource = await aws.apigateway.send(
      new apigw.CreateResourceCommand({
        restApiId: api.id,
        parentId: api.rootResourceId,
        pathPart: 'chatbot',
      }),
    );
    await aws.apigateway.send(
      new apigw.PutMethodCommand({
        restApiId: api.id,
        resourceId: resource.id,
        httpMethod: 'POST',
        authorizationType: 'NONE',
        apiKeyRequired: true,
      }),
    );
    const dep = await aws.apigateway.send(
      new apigw.CreateDeploymentCommand({ restApiId: api.id, stageName: 'prod', description }),
    );
    return { apiId: api.id ?? '', deploymentId: dep.id ?? '' };
  };

  it('GetDeployment keeps the description, and leaves out the API summary with omitApiSummary, as emulators do', async () => {
    const aws = start({ omitApiSummary: true });
    const { apiId, deploymentId } = await withStage(aws);

    const out = await aws.apigateway.send(
      new apigw.GetDeploymentCommand({ restApiId: apiId, deploymentId, embed: ['apisummary'] }),
    );

    expect(out.description).toBe('chatbot-ops deploy (definition 0123456789abcdef)');
    expect(out.apiSummary).toBeUndefined();
  });

  it('refuses stage access logging until the account has a CloudWatch role API Gateway may assume', async () => {
    const aws = start();
    const { apiId } = await withStage(aws);
    const logging = () =>
      aws.apigateway.send(
        new apigw.UpdateStageCommand({
          restApiId: apiId,
          stageName: 'prod',
          patchOperations: [
            { op: 'replace', path: '/accessLogSettings/destinationArn', value: 'arn:aws:logs:x' },
          ],
        }),
      );
    const setRole = (name: string) =>
      aws.apigateway.send(
        new apigw.UpdateAccountCommand({
          patchOperations: [
            { op: 'replace', path: '/cloudwatchRoleArn', value: `arn:aws:iam::123456789012:role/${name}` },
          ],
        }),
      );
    fake.roles.set('gw', {
      arn: 'arn:aws:iam::123456789012:role/gw',
      trust: '{"Principal":{"Service":"apigateway.amazonaws.com"}}',
      tags: {},
      attached: [],
      inline: new Map(),
    });

    await expect(logging()).rejects.toThrow(/CloudWatch Logs role ARN must be set/);
    await expect(setRole('missing')).rejects.toBeInstanceOf(apigw.BadRequestException);
    await setRole('gw');
    await logging();

    const stage = await aws.apigateway.send(
      new apigw.GetStageCommand({ restApiId: apiId, stageName: 'prod' }),
    );
    expect(stage.accessLogSettings).toEqual({ destinationArn: 'arn:aws:logs:x' });
  });

  it('a web ACL changes only with its current lock token, is not deleted while associated, and can be slow to see a stage', async () => {
    const aws = start({ wafUnavailableAttempts: 1 });
    const { apiId } = await withStage(aws);
    const acl = await aws.wafv2.send(
      new waf.CreateWebACLCommand({
        Name: 'w',
        Scope: 'REGIONAL',
        DefaultAction: { Allow: {} },
        VisibilityConfig: { SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: 'w' },
      }),
    );
    const { Id, ARN, LockToken } = acl.Summary ?? {};
    const stageArn = fake.stageArn(apiId, 'prod');
    const associate = () =>
      aws.wafv2.send(new waf.AssociateWebACLCommand({ WebACLArn: ARN, ResourceArn: stageArn }));

    await expect(associate()).rejects.toBeInstanceOf(waf.WAFUnavailableEntityException);
    await associate();
    await expect(
      aws.wafv2.send(new waf.DeleteWebACLCommand({ Name: 'w', Id, Scope: 'REGIONAL', LockToken })),
    ).rejects.toBeInstanceOf(waf.WAFAssociatedItemException);
    await aws.wafv2.send(
      new waf.UpdateWebACLCommand({
        Name: 'w',
        Id,
        Scope: 'REGIONAL',
        LockToken,
        DefaultAction: { Allow: {} },
        VisibilityConfig: { SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: 'w' },
      }),
    );
    await aws.wafv2.send(new waf.DisassociateWebACLCommand({ ResourceArn: stageArn }));
    await expect(
      aws.wafv2.send(new waf.DeleteWebACLCommand({ Name: 'w', Id, Scope: 'REGIONAL', LockToken })),
    ).rejects.toBeInstanceOf(waf.WAFOptimisticLockException);
    expect(
      (await aws.apigateway.send(new apigw.GetStageCommand({ restApiId: apiId, stageName: 'prod' })))
        .webAclArn,
    ).toBeUndefined();
  });

  it("a VPC endpoint's security group is in use until the endpoint is deleted", async () => {
    const aws = start();
    const group = await aws.ec2.send(
      new ec2.CreateSecurityGroupCommand({ VpcId: VPC, GroupName: 'e', Description: 'e' }),
    );
    const endpoint = await aws.ec2.send(
      new ec2.CreateVpcEndpointCommand({
        VpcId: VPC,
        ServiceName: 'com.amazonaws.us-east-1.secretsmanager',
        VpcEndpointType: 'Interface',
        SecurityGroupIds: [group.GroupId ?? ''],
      }),
    );
    const remove = () => aws.ec2.send(new ec2.DeleteSecurityGroupCommand({ GroupId: group.GroupId }));

    await expect(remove()).rejects.toMatchObject({ name: 'DependencyViolation' });
    await aws.ec2.send(
      new ec2.DeleteVpcEndpointsCommand({ VpcEndpointIds: [endpoint.VpcEndpoint?.VpcEndpointId ?? ''] }),
    );
    await remove();

    expect(fake.groups.has(group.GroupId ?? '')).toBe(false);
  });

  it('reserves concurrency only while the account keeps 100 unreserved', async () => {
    const aws = withRole(start());
    await createFunction(aws);
    const reserve = (n: number) =>
      aws.lambda.send(
        new lambda.PutFunctionConcurrencyCommand({ FunctionName: 'fn', ReservedConcurrentExecutions: n }),
      );

    await expect(reserve(901)).rejects.toBeInstanceOf(lambda.InvalidParameterValueException);
    await reserve(900);

    expect(
      (await aws.lambda.send(new lambda.GetAccountSettingsCommand({}))).AccountLimit
        ?.UnreservedConcurrentExecutions,
    ).toBe(100);
  });
});

describe('middleware mode (the benchmark)', () => {
  it('answers real clients at the end of their middleware, and their call counter agrees with its record', async () => {
    fake = new FakeAccount().start('middleware');
    const aws = fake.awsFactory({ region: REGION });

    await aws.sts.send(new sts.GetCallerIdentityCommand({}));
    await aws.ec2.send(new ec2.DescribeVpcsCommand({}));

    expect(Object.fromEntries(fake.counter)).toEqual({ 'STS.GetCallerIdentity': 1, 'EC2.DescribeVpcs': 1 });
    expect(fake.commandNames()).toEqual(['STS.GetCallerIdentity', 'EC2.DescribeVpcs']);
  });
});
