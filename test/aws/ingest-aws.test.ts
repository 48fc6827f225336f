/**
 * The src/aws modules the ingest path added, at their boundary: S3's answers for buckets (another
 * region, "none" codes, refused deletions, a refused notification), the location constraint outside
 * us-east-1, EC2's per-endpoint deletion report, and the destination Lambda refuses while a new
 * role propagates.
 */
import * as ec2 from '@aws-sdk/client-ec2';
import * as lambda from '@aws-sdk/client-lambda';
import * as s3 from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { deleteVpcEndpoints } from '../../src/aws/ec2.js';
import { putAsyncInvokeSettings } from '../../src/aws/lambda.js';
import {
  createBucket,
  emptyBucket,
  findBucket,
  putNotifications,
  readBucketSettings,
} from '../../src/aws/s3-bucket.js';
import { UserError } from '../../src/errors.js';
import { fakeClock } from '../support/fake-account.js';

const s3Mock = mockClient(s3.S3Client);
const ec2Mock = mockClient(ec2.EC2Client);
const lambdaMock = mockClient(lambda.LambdaClient);
afterEach(() => {
  s3Mock.reset();
  ec2Mock.reset();
  lambdaMock.reset();
});

const client = new s3.S3Client({ region: 'eu-west-1' });
const s3Error = (name: string, status: number) =>
  new s3.S3ServiceException({ name, $fault: 'client', message: name, $metadata: { httpStatusCode: status } });

describe('s3-bucket', () => {
  it.each([
    [new s3.NotFound({ message: 'x', $metadata: { httpStatusCode: 404 } }), 'missing'],
    [s3Error('Forbidden', 403), 'elsewhere'],
    [s3Error('PermanentRedirect', 301), 'elsewhere'],
  ])('HeadBucket failing with %s means %s', async (error, presence) => {
    s3Mock.on(s3.HeadBucketCommand).rejects(error);

    await expect(findBucket(client, 'b', '123456789012')).resolves.toBe(presence);
    expect(s3Mock.commandCalls(s3.HeadBucketCommand)[0]?.args[0].input).toEqual({
      Bucket: 'b',
      ExpectedBucketOwner: '123456789012',
    });
  });

  it('reads a bucket without settings as having none, by the codes S3 answers', async () => {
    s3Mock.on(s3.GetPublicAccessBlockCommand).rejects(s3Error('NoSuchPublicAccessBlockConfiguration', 404));
    s3Mock
      .on(s3.GetBucketEncryptionCommand)
      .rejects(s3Error('ServerSideEncryptionConfigurationNotFoundError', 404));
    s3Mock
      .on(s3.GetBucketLifecycleConfigurationCommand)
      .rejects(s3Error('NoSuchLifecycleConfiguration', 404));
    s3Mock.on(s3.GetBucketTaggingCommand).rejects(s3Error('NoSuchTagSet', 404));
    s3Mock.on(s3.GetBucketPolicyCommand).rejects(s3Error('NoSuchBucketPolicy', 404));

    await expect(readBucketSettings(client, 'b')).resolves.toEqual({
      publicAccessBlock: undefined,
      encryption: undefined,
      lifecycle: [],
      tags: {},
      policy: undefined,
    });
  });

  it('names the region outside us-east-1, and a name another account took', async () => {
    s3Mock.on(s3.CreateBucketCommand).resolvesOnce({}).rejectsOnce(s3Error('BucketAlreadyExists', 409));

    await createBucket(client, 'b', 'eu-west-1');
    await expect(createBucket(client, 'b', 'eu-west-1')).rejects.toThrow(
      'the S3 bucket name b is taken by another AWS account',
    );
    expect(s3Mock.commandCalls(s3.CreateBucketCommand)[0]?.args[0].input).toEqual({
      Bucket: 'b',
      ObjectOwnership: 'BucketOwnerEnforced',
      CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
    });
  });

  it('a refused notification configuration is a UserError that says why S3 refuses one', async () => {
    s3Mock.on(s3.PutBucketNotificationConfigurationCommand).rejects(s3Error('InvalidArgument', 400));

    const put = putNotifications(client, 'b', {});

    await expect(put).rejects.toBeInstanceOf(UserError);
    await expect(put).rejects.toMatchObject({ hint: expect.stringMatching(/overlap/) });
  });

  it('empties a bucket page by page, counting, and stops on objects S3 would not delete', async () => {
    s3Mock
      .on(s3.ListObjectVersionsCommand)
      .resolvesOnce({ Versions: [{ Key: 'a', VersionId: 'v1' }, { Key: 'b' }] })
      .resolvesOnce({ DeleteMarkers: [{ Key: 'c', VersionId: 'm1' }] })
      .resolves({});
    s3Mock.on(s3.DeleteObjectsCommand).resolves({ Errors: [] });
    const progress: number[] = [];

    await expect(emptyBucket(client, 'b', (n) => progress.push(n))).resolves.toBe(3);
    expect(s3Mock.commandCalls(s3.DeleteObjectsCommand)[0]?.args[0].input).toEqual({
      Bucket: 'b',
      Delete: { Objects: [{ Key: 'a', VersionId: 'v1' }, { Key: 'b' }], Quiet: true },
    });
    expect(progress).toEqual([2, 3]);

    s3Mock.reset();
    s3Mock.on(s3.ListObjectVersionsCommand).resolves({ Versions: [{ Key: 'a' }] });
    s3Mock.on(s3.DeleteObjectsCommand).resolves({ Errors: [{ Key: 'a', Code: 'AccessDenied' }] });
    await expect(emptyBucket(client, 'b')).rejects.toThrow(
      'S3 did not delete 1 object(s) of b (first: a: AccessDenied)',
    );
  });
});

describe('ec2 and lambda', () => {
  it('deleting an endpoint already gone is fine; another failure is not', async () => {
    const ec2Client = new ec2.EC2Client({ region: 'eu-west-1' });
    ec2Mock
      .on(ec2.DeleteVpcEndpointsCommand)
      .resolvesOnce({ Unsuccessful: [{ Error: { Code: 'InvalidVpcEndpoint.NotFound' } }] })
      .resolvesOnce({
        Unsuccessful: [{ ResourceId: 'vpce-1', Error: { Code: 'DependencyViolation', Message: 'in use' } }],
      });

    await deleteVpcEndpoints(ec2Client, ['vpce-1']);
    await expect(deleteVpcEndpoints(ec2Client, ['vpce-1'])).rejects.toMatchObject({
      name: 'DependencyViolation',
      message: 'could not delete vpce-1: in use',
    });
  });

  it("retries the on-failure destination while Lambda cannot yet use the new role's rights", async () => {
    const lambdaClient = new lambda.LambdaClient({ region: 'eu-west-1' });
    const clock = fakeClock();
    const refused = new lambda.InvalidParameterValueException({
      message: "The function's execution role does not have permissions to call SendMessage",
      $metadata: {},
    });
    lambdaMock.on(lambda.PutFunctionEventInvokeConfigCommand).rejectsOnce(refused).resolves({});

    await putAsyncInvokeSettings(lambdaClient, 'fn', { maximumRetryAttempts: 2, onFailure: 'arn:q' }, clock);

    expect(
      lambdaMock.commandCalls(lambda.PutFunctionEventInvokeConfigCommand).map((c) => c.args[0].input),
    ).toEqual([
      {
        FunctionName: 'fn',
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: 'arn:q' } },
      },
      {
        FunctionName: 'fn',
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: 'arn:q' } },
      },
    ]);
    expect(clock.slept).toBeGreaterThan(0);
  });
});
