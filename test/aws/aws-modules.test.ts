/**
 * The src/aws modules at their boundary: pagination flattened, SDK exceptions translated with
 * instanceof (or EC2's error code), the one role-propagation message match, URLs and ARNs.
 */

import { Readable } from 'node:stream';
import { APIGatewayClient, GetRestApisCommand } from '@aws-sdk/client-api-gateway';
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeRouteTablesCommand,
  DescribeSubnetsCommand,
  EC2Client,
  EC2ServiceException,
} from '@aws-sdk/client-ec2';
import {
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  GetRoleCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  NoSuchEntityException,
} from '@aws-sdk/client-iam';
import {
  AddPermissionCommand,
  CreateFunctionCommand,
  GetFunctionCommand,
  InvalidParameterValueException,
  LambdaClient,
  ResourceConflictException,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { findRestApisByName, invokeUrl } from '../../src/aws/apigateway.js';
import { createAwsClients } from '../../src/aws/clients.js';
import { authorizeRules, findPublicSubnets, listSubnets } from '../../src/aws/ec2.js';
import {
  decodePolicyDocument,
  deleteRoleCompletely,
  findRole,
  samePolicyDocument,
} from '../../src/aws/iam.js';
import {
  addInvokePermission,
  createFunction,
  iamNotYetVisible,
  isRoleNotYetAssumable,
  updateFunctionConfiguration,
} from '../../src/aws/lambda.js';
import { findLogGroup } from '../../src/aws/logs.js';
import { getJsonObject } from '../../src/aws/s3.js';
import { resolveAwsSession } from '../../src/aws/sts.js';
import { UserError } from '../../src/errors.js';
import { fakeClock } from '../support/fake-account.js';

const meta = { $metadata: {} };
const ec2Error = (code: string) =>
  new EC2ServiceException({ name: code, $fault: 'client', message: 'x', ...meta });

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('sts', () => {
  const sts = mockClient(STSClient);
  afterEach(() => sts.reset());

  it('takes the partition from the ARN STS returns', async () => {
    sts
      .on(GetCallerIdentityCommand)
      .resolves({ Account: '1', Arn: 'arn:aws-us-gov:sts::1:assumed-role/r/s' });

    const s = await resolveAwsSession(createAwsClients({ region: 'us-gov-west-1' }));

    expect(s).toEqual({
      region: 'us-gov-west-1',
      account: '1',
      partition: 'aws-us-gov',
      callerArn: 'arn:aws-us-gov:sts::1:assumed-role/r/s',
    });
  });

  it.each(['CredentialsProviderError', 'ExpiredTokenException'])(
    '%s becomes a UserError saying how to sign in',
    async (name) => {
      sts.on(GetCallerIdentityCommand).rejects(Object.assign(new Error('nope'), { name }));

      await expect(resolveAwsSession(createAwsClients({ region: 'eu-west-1' }))).rejects.toThrow(UserError);
      await expect(resolveAwsSession(createAwsClients({ region: 'eu-west-1' }))).rejects.toMatchObject({
        hint: expect.stringMatching(/aws sso login/),
      });
    },
  );

  it('no region from flag, config, environment or profile: exit 2 before any call', async () => {
    for (const v of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE']) vi.stubEnv(v, undefined);
    vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/aws-config');

    await expect(resolveAwsSession(createAwsClients({}))).rejects.toMatchObject({
      exitCode: 2,
      message: 'no AWS region is set',
    });
    expect(sts.calls()).toHaveLength(0);
  });
});

describe('iam', () => {
  const iam = mockClient(IAMClient);
  afterEach(() => iam.reset());

  it('decodes URL-encoded policy documents and compares them by meaning', () => {
    const a = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
    };
    const b = {
      Statement: [{ Resource: ['*'], Action: ['s3:GetObject'], Effect: 'Allow' }],
      Version: '2012-10-17',
    };

    expect(decodePolicyDocument(encodeURIComponent(JSON.stringify(a)))).toEqual(a);
    expect(samePolicyDocument(a, b)).toBe(true);
    expect(samePolicyDocument(a, { ...b, Statement: [{ ...b.Statement[0], Effect: 'Deny' }] })).toBe(false);
  });

  it('a missing role is undefined, other errors pass through', async () => {
    iam
      .on(GetRoleCommand)
      .rejectsOnce(new NoSuchEntityException({ message: 'no', ...meta }))
      .rejectsOnce(new Error('throttled'));
    const client = new IAMClient({ region: 'us-east-1' });

    await expect(findRole(client, 'r')).resolves.toBeUndefined();
    await expect(findRole(client, 'r')).rejects.toThrow('throttled');
  });

  it('deletes a role after detaching every page of managed policies and its inline ones', async () => {
    iam.on(GetRoleCommand).resolves({
      Role: { RoleName: 'r', Arn: 'arn:aws:iam::1:role/r', Path: '/', RoleId: 'x', CreateDate: new Date() },
    });
    iam
      .on(ListAttachedRolePoliciesCommand)
      .resolvesOnce({ AttachedPolicies: [{ PolicyArn: 'p1' }], IsTruncated: true, Marker: 'm' })
      .resolvesOnce({ AttachedPolicies: [{ PolicyArn: 'p2' }], IsTruncated: false });
    iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: ['inline'], IsTruncated: false });
    iam.on(DetachRolePolicyCommand).resolves({});
    iam.on(DeleteRolePolicyCommand).resolves({});
    iam.on(DeleteRoleCommand).resolves({});

    await expect(deleteRoleCompletely(new IAMClient({ region: 'us-east-1' }), 'r')).resolves.toBe(true);

    expect(iam.commandCalls(ListAttachedRolePoliciesCommand)[1]?.args[0].input).toEqual({
      RoleName: 'r',
      Marker: 'm',
    });
    expect(iam.commandCalls(DetachRolePolicyCommand).map((c) => c.args[0].input.PolicyArn)).toEqual([
      'p1',
      'p2',
    ]);
    expect(iam.commandCalls(DeleteRolePolicyCommand)[0]?.args[0].input).toEqual({
      RoleName: 'r',
      PolicyName: 'inline',
    });
    expect(iam.commandCalls(DeleteRoleCommand)).toHaveLength(1);
  });
});

describe('ec2', () => {
  const ec2 = mockClient(EC2Client);
  afterEach(() => ec2.reset());
  const client = () => new EC2Client({ region: 'us-east-1' });

  it('a duplicate rule is not an error; any other EC2 error is', async () => {
    ec2
      .on(AuthorizeSecurityGroupIngressCommand)
      .rejectsOnce(ec2Error('InvalidPermission.Duplicate'))
      .rejectsOnce(ec2Error('InvalidGroup.NotFound'));
    const rule = { protocol: 'tcp', fromPort: 3306, toPort: 3306, groupId: 'sg-1' };

    await expect(authorizeRules(client(), 'sg-2', 'ingress', [rule])).resolves.toBeUndefined();
    await expect(authorizeRules(client(), 'sg-2', 'ingress', [rule])).rejects.toMatchObject({
      name: 'InvalidGroup.NotFound',
    });
  });

  it('a subnet without its own route table uses the main one; an igw route makes it public', async () => {
    ec2.on(DescribeRouteTablesCommand).resolves({
      RouteTables: [
        {
          Associations: [{ Main: true }],
          Routes: [{ DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'igw-1' }],
        },
        {
          Associations: [{ SubnetId: 'subnet-private' }],
          Routes: [{ DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: 'nat-1' }],
        },
      ],
    });

    const publicIds = await findPublicSubnets(client(), 'vpc-1', ['subnet-private', 'subnet-implicit']);

    expect([...publicIds]).toEqual(['subnet-implicit']);
  });

  it('one unknown subnet id among several: the known ones are still returned', async () => {
    ec2
      .on(DescribeSubnetsCommand)
      .rejectsOnce(ec2Error('InvalidSubnetID.NotFound'))
      .resolvesOnce({
        Subnets: [
          { SubnetId: 'subnet-a', VpcId: 'vpc-1', AvailabilityZone: 'az1', CidrBlock: '10.0.0.0/24' },
        ],
      })
      .rejectsOnce(ec2Error('InvalidSubnetID.NotFound'));

    const subnets = await listSubnets(client(), { subnetIds: ['subnet-a', 'subnet-zz'] });

    expect(subnets.map((s) => s.id)).toEqual(['subnet-a']);
  });
});

describe('lambda', () => {
  const lambda = mockClient(LambdaClient);
  afterEach(() => lambda.reset());
  const roleError = () =>
    new InvalidParameterValueException({
      message: 'The role defined for the function cannot be assumed by Lambda.',
      ...meta,
    });
  const fn = {
    name: 'f',
    runtime: 'nodejs22.x',
    handler: 'h',
    roleArn: 'arn:aws:iam::1:role/r',
    memory: 128,
    timeout: 3,
    architecture: 'x86_64',
    environment: {},
    subnetIds: [],
    securityGroupIds: [],
    zip: new Uint8Array([1]),
    tags: {},
  };

  it('only the role-propagation message counts as role propagation', () => {
    expect(isRoleNotYetAssumable(roleError())).toBe(true);
    expect(
      isRoleNotYetAssumable(
        new InvalidParameterValueException({ message: 'Unzipped size must be smaller', ...meta }),
      ),
    ).toBe(false);
    expect(
      isRoleNotYetAssumable(new Error('The role defined for the function cannot be assumed by Lambda.')),
    ).toBe(false);
  });

  it('retries creation with growing pauses while the role propagates, telling the caller', async () => {
    lambda
      .on(CreateFunctionCommand)
      .rejectsOnce(roleError())
      .rejectsOnce(roleError())
      .resolves({ FunctionArn: 'arn:f' });
    const clock = fakeClock();
    const retries: number[] = [];

    const arn = await createFunction(new LambdaClient({ region: 'us-east-1' }), fn, clock, (attempt) =>
      retries.push(attempt),
    );

    expect(arn).toBe('arn:f');
    expect(retries).toEqual([2, 3]);
    expect(clock.slept).toBe(2000 + 4000);
  });

  const eniError = () =>
    new InvalidParameterValueException({
      message: 'The provided execution role does not have permissions to call CreateNetworkInterface on EC2',
      ...meta,
    });

  it('names what Lambda waits for: the role, or its network-interface permissions; nothing else', () => {
    expect(iamNotYetVisible(roleError())).toBe('the new role to be usable by Lambda');
    expect(iamNotYetVisible(eniError())).toBe("the role's network-interface permissions to reach Lambda");
    expect(iamNotYetVisible(new Error(eniError().message))).toBeUndefined();
    expect(
      iamNotYetVisible(
        new InvalidParameterValueException({ message: 'Unzipped size must be smaller', ...meta }),
      ),
    ).toBeUndefined();
  });

  it('retries creation while the network-interface permissions propagate, saying why', async () => {
    lambda.on(CreateFunctionCommand).rejectsOnce(eniError()).resolves({ FunctionArn: 'arn:f' });
    const clock = fakeClock();
    const said: string[] = [];

    const arn = await createFunction(new LambdaClient({ region: 'us-east-1' }), fn, clock, (a, _w, why) =>
      said.push(`${a}: ${why}`),
    );

    expect(arn).toBe('arn:f');
    expect(said).toEqual(["2: the role's network-interface permissions to reach Lambda"]);
    expect(lambda.commandCalls(CreateFunctionCommand)).toHaveLength(2);
  });

  it('gives up on the network-interface message after the same two-minute budget, naming it', async () => {
    lambda.on(CreateFunctionCommand).rejects(eniError());
    const clock = fakeClock();

    await expect(createFunction(new LambdaClient({ region: 'us-east-1' }), fn, clock)).rejects.toThrow(
      /^Lambda still says the role arn:aws:iam::1:role\/r may not create network interfaces after 1\d\d s$/,
    );
    expect(clock.slept).toBeGreaterThanOrEqual(120_000);
    expect(clock.slept).toBeLessThan(140_000);
  });

  it('retries a VPC configuration update while the permissions propagate', async () => {
    lambda
      .on(GetFunctionCommand)
      .resolves({ Configuration: { State: 'Active', LastUpdateStatus: 'Successful' } });
    lambda.on(UpdateFunctionConfigurationCommand).rejectsOnce(eniError()).resolves({});
    const clock = fakeClock();
    const timing = { clock, waiter: { minDelaySeconds: 0.001, maxDelaySeconds: 0.002, maxWaitSeconds: 5 } };

    await updateFunctionConfiguration(
      new LambdaClient({ region: 'us-east-1' }),
      'f',
      { subnetIds: ['subnet-1'], securityGroupIds: ['sg-1'] },
      timing,
    );

    expect(lambda.commandCalls(UpdateFunctionConfigurationCommand).map((c) => c.args[0].input)).toEqual([
      { FunctionName: 'f', VpcConfig: { SubnetIds: ['subnet-1'], SecurityGroupIds: ['sg-1'] } },
      { FunctionName: 'f', VpcConfig: { SubnetIds: ['subnet-1'], SecurityGroupIds: ['sg-1'] } },
    ]);
  });

  it('does not retry other creation errors', async () => {
    lambda
      .on(CreateFunctionCommand)
      .rejects(new InvalidParameterValueException({ message: 'bad handler', ...meta }));

    await expect(createFunction(new LambdaClient({ region: 'us-east-1' }), fn, fakeClock())).rejects.toThrow(
      'bad handler',
    );
    expect(lambda.commandCalls(CreateFunctionCommand)).toHaveLength(1);
  });

  it('an existing permission statement id counts as present', async () => {
    lambda.on(AddPermissionCommand).rejects(new ResourceConflictException({ message: 'exists', ...meta }));

    await expect(
      addInvokePermission(new LambdaClient({ region: 'us-east-1' }), {
        functionName: 'f',
        statementId: 's',
        principal: 'apigateway.amazonaws.com',
        sourceArn: 'arn',
      }),
    ).resolves.toBeUndefined();
  });
});

describe('api gateway', () => {
  const apigw = mockClient(APIGatewayClient);
  afterEach(() => apigw.reset());

  it('finds APIs by exact name across pages', async () => {
    apigw
      .on(GetRestApisCommand)
      .resolvesOnce({ items: [{ id: 'a', name: 'chatbot-api-old' }], position: 'p2' })
      .resolvesOnce({
        items: [{ id: 'b', name: 'chatbot-api', endpointConfiguration: { types: ['REGIONAL'] } }],
      });

    const apis = await findRestApisByName(new APIGatewayClient({ region: 'us-east-1' }), 'chatbot-api');

    expect(apis.map((a) => [a.id, a.endpointTypes])).toEqual([['b', ['REGIONAL']]]);
    expect(apigw.commandCalls(GetRestApisCommand)[1]?.args[0].input).toEqual({ limit: 500, position: 'p2' });
  });

  it.each([
    [
      { apiId: 'a1', region: 'eu-west-1', stage: 'prod', resource: 'chatbot' },
      'https://a1.execute-api.eu-west-1.amazonaws.com/prod/chatbot',
    ],
    [
      { apiId: 'a1', region: 'cn-north-1', stage: 'prod', resource: 'chatbot' },
      'https://a1.execute-api.cn-north-1.amazonaws.com.cn/prod/chatbot',
    ],
    [
      {
        apiId: 'a1',
        region: 'us-east-1',
        stage: 'dev',
        resource: 'bot',
        endpointUrl: 'http://localhost:4566/',
      },
      'http://localhost:4566/restapis/a1/dev/_user_request_/bot',
    ],
  ])('invoke URL %o', (input, url) => {
    expect(invokeUrl(input)).toBe(url);
  });
});

describe('logs', () => {
  const logs = mockClient(CloudWatchLogsClient);
  afterEach(() => logs.reset());

  it('finds the group with exactly the name, not one that only shares the prefix', async () => {
    logs
      .on(DescribeLogGroupsCommand)
      .resolvesOnce({ logGroups: [{ logGroupName: '/aws/lambda/chatbot-backend-old' }], nextToken: 't' })
      .resolvesOnce({ logGroups: [{ logGroupName: '/aws/lambda/chatbot-backend', retentionInDays: 14 }] });

    await expect(
      findLogGroup(new CloudWatchLogsClient({ region: 'us-east-1' }), '/aws/lambda/chatbot-backend'),
    ).resolves.toEqual({
      name: '/aws/lambda/chatbot-backend',
      retentionDays: 14,
    });
  });
});

describe('s3', () => {
  const s3 = mockClient(S3Client);
  afterEach(() => s3.reset());
  const where = { bucket: 'logs', key: 'chatbot-ops/results/a.log.json' };
  /** A response body that sends part of the document, then fails as a cut connection does. */
  const cutShort = () =>
    Readable.from(
      (async function* () {
        yield Buffer.from('{"status":');
        throw Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
      })(),
    );
  const whole = () => Readable.from([Buffer.from('{"status":"loaded"}\n')]);

  it('reads a JSON document again when its response is cut short', async () => {
    s3.on(GetObjectCommand)
      .resolvesOnce({ Body: cutShort() as never })
      .resolvesOnce({ Body: whole() as never });

    await expect(getJsonObject(new S3Client({ region: 'us-east-1' }), where)).resolves.toEqual({
      status: 'loaded',
    });
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: 'logs', Key: 'chatbot-ops/results/a.log.json' },
      { Bucket: 'logs', Key: 'chatbot-ops/results/a.log.json' },
    ]);
  });

  it('names the object when every read is cut short', async () => {
    s3.on(GetObjectCommand).callsFake(() => ({ Body: cutShort() }));

    const read = getJsonObject(new S3Client({ region: 'us-east-1' }), where);

    await expect(read).rejects.toThrow(UserError);
    await expect(read).rejects.toThrow('s3://logs/chatbot-ops/results/a.log.json could not be read: aborted');
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(5);
  });
});
