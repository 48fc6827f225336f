/**
 * S3 buckets, narrowed to the logs bucket deploy makes, doctor checks and destroy removes: whether
 * it exists and whose it is, its settings (public access block, default encryption, lifecycle,
 * tags, policy, event notifications), emptying and deleting it. S3 reports most "there is none"
 * answers as error codes without classes of their own (NoSuchTagSet, NoSuchBucketPolicy...): they
 * are translated here by that code, carried as the exception's `name`, never by message text.
 * Nothing here prints. (Objects themselves: src/aws/s3.ts, which the ingest function bundles.)
 */
import {
  BucketAlreadyOwnedByYou,
  type BucketLocationConstraint,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteBucketLifecycleCommand,
  DeleteBucketPolicyCommand,
  DeleteObjectsCommand,
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketNotificationConfigurationCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  type LambdaFunctionConfiguration,
  type LifecycleRule,
  ListObjectVersionsCommand,
  NoSuchBucket,
  NotFound,
  type NotificationConfiguration,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutPublicAccessBlockCommand,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { UserError } from '../errors.js';
import type { S3 } from './s3.js';

/** The error code S3 answered with (its exception's name), when it is an S3 error. */
export function s3ErrorCode(err: unknown): string | undefined {
  return err instanceof S3ServiceException ? err.name : undefined;
}

/** Run a read whose "there is none" is one of these error codes: undefined then. */
async function unlessNone<T>(read: () => Promise<T>, ...noneCodes: string[]): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    const code = s3ErrorCode(err);
    if (code !== undefined && noneCodes.includes(code)) return undefined;
    throw err;
  }
}

export type BucketPresence = 'missing' | 'ours' | 'elsewhere';

/**
 * Is there a bucket by this name that this account owns ('ours'), none ('missing'), or one that
 * belongs to another account or sits in another region ('elsewhere': bucket names are global)?
 */
export async function findBucket(s3: S3, bucket: string, account: string): Promise<BucketPresence> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket, ExpectedBucketOwner: account }));
    return 'ours';
  } catch (err) {
    if (err instanceof NotFound || err instanceof NoSuchBucket) return 'missing';
    if (err instanceof S3ServiceException) {
      const status = err.$metadata.httpStatusCode;
      if (status === 404) return 'missing';
      // 403: another account's (or ours with a policy that refuses us); 301: in another region.
      if (status === 403 || status === 301) return 'elsewhere';
    }
    throw err;
  }
}

export interface PublicAccessBlock {
  BlockPublicAcls: boolean;
  IgnorePublicAcls: boolean;
  BlockPublicPolicy: boolean;
  RestrictPublicBuckets: boolean;
}

/** All four public access settings on: nothing in the bucket can be made public. */
export const ALL_BLOCKED: PublicAccessBlock = {
  BlockPublicAcls: true,
  IgnorePublicAcls: true,
  BlockPublicPolicy: true,
  RestrictPublicBuckets: true,
};

/** One statement of a bucket policy (the fields chatbot-ops writes and compares). */
export interface BucketPolicyStatement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Principal: unknown;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

export interface BucketPolicy {
  Version: string;
  Statement: BucketPolicyStatement[];
}

export interface BucketSettings {
  publicAccessBlock: PublicAccessBlock | undefined;
  /** The default encryption algorithm (`AES256` is SSE-S3, `aws:kms`...), undefined when none is set. */
  encryption: string | undefined;
  lifecycle: LifecycleRule[];
  tags: Record<string, string>;
  policy: BucketPolicy | undefined;
}

/** The bucket's settings; a setting it does not have comes back undefined (or empty). */
export async function readBucketSettings(s3: S3, bucket: string): Promise<BucketSettings> {
  const Bucket = bucket;
  const [pab, encryption, lifecycle, tagging, policy] = await Promise.all([
    unlessNone(
      () => s3.send(new GetPublicAccessBlockCommand({ Bucket })),
      'NoSuchPublicAccessBlockConfiguration',
    ),
    unlessNone(
      () => s3.send(new GetBucketEncryptionCommand({ Bucket })),
      'ServerSideEncryptionConfigurationNotFoundError',
    ),
    unlessNone(
      () => s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket })),
      'NoSuchLifecycleConfiguration',
    ),
    unlessNone(() => s3.send(new GetBucketTaggingCommand({ Bucket })), 'NoSuchTagSet'),
    unlessNone(() => s3.send(new GetBucketPolicyCommand({ Bucket })), 'NoSuchBucketPolicy'),
  ]);
  const c = pab?.PublicAccessBlockConfiguration;
  return {
    publicAccessBlock: c
      ? {
          BlockPublicAcls: c.BlockPublicAcls === true,
          IgnorePublicAcls: c.IgnorePublicAcls === true,
          BlockPublicPolicy: c.BlockPublicPolicy === true,
          RestrictPublicBuckets: c.RestrictPublicBuckets === true,
        }
      : undefined,
    encryption:
      encryption?.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault
        ?.SSEAlgorithm,
    lifecycle: lifecycle?.Rules ?? [],
    tags: Object.fromEntries((tagging?.TagSet ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
    policy: policy?.Policy ? (JSON.parse(policy.Policy) as BucketPolicy) : undefined,
  };
}

/**
 * Create a private bucket in this region. Outside us-east-1 S3 wants the region named as the
 * location constraint; us-east-1 refuses it. A bucket this account already has there is success.
 */
export async function createBucket(s3: S3, bucket: string, region: string): Promise<void> {
  try {
    await s3.send(
      new CreateBucketCommand({
        Bucket: bucket,
        ObjectOwnership: 'BucketOwnerEnforced',
        ...(region === 'us-east-1'
          ? {}
          : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
      }),
    );
  } catch (err) {
    if (err instanceof BucketAlreadyOwnedByYou) return;
    if (s3ErrorCode(err) === 'BucketAlreadyExists') {
      throw new UserError(`the S3 bucket name ${bucket} is taken by another AWS account`, {
        hint: 'Bucket names are global: set ingest.bucket in the config to a name of your own.',
        cause: err,
      });
    }
    throw err;
  }
}

export async function putPublicAccessBlock(s3: S3, bucket: string): Promise<void> {
  await s3.send(
    new PutPublicAccessBlockCommand({ Bucket: bucket, PublicAccessBlockConfiguration: { ...ALL_BLOCKED } }),
  );
}

/** Default encryption with S3-managed keys (SSE-S3): the only kind ALB log delivery accepts. */
export async function putDefaultEncryption(s3: S3, bucket: string): Promise<void> {
  await s3.send(
    new PutBucketEncryptionCommand({
      Bucket: bucket,
      ServerSideEncryptionConfiguration: {
        Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: false }],
      },
    }),
  );
}

/** Replace the lifecycle rules (none: delete the configuration). */
export async function putLifecycle(s3: S3, bucket: string, rules: LifecycleRule[]): Promise<void> {
  if (rules.length === 0) {
    await s3.send(new DeleteBucketLifecycleCommand({ Bucket: bucket }));
    return;
  }
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: rules } }),
  );
}

/** Replace the bucket's tags. */
export async function putBucketTags(s3: S3, bucket: string, tags: Record<string, string>): Promise<void> {
  await s3.send(
    new PutBucketTaggingCommand({
      Bucket: bucket,
      Tagging: { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
    }),
  );
}

/** Replace the bucket policy (none: delete it). */
export async function putBucketPolicy(
  s3: S3,
  bucket: string,
  policy: BucketPolicy | undefined,
): Promise<void> {
  if (!policy) {
    await s3.send(new DeleteBucketPolicyCommand({ Bucket: bucket }));
    return;
  }
  await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }));
}

/** Everything the bucket notifies; configurations that are not ours must survive our changes. */
export async function getNotifications(s3: S3, bucket: string): Promise<NotificationConfiguration> {
  const out = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
  return {
    ...(out.TopicConfigurations?.length ? { TopicConfigurations: out.TopicConfigurations } : {}),
    ...(out.QueueConfigurations?.length ? { QueueConfigurations: out.QueueConfigurations } : {}),
    ...(out.LambdaFunctionConfigurations?.length
      ? { LambdaFunctionConfigurations: out.LambdaFunctionConfigurations }
      : {}),
    ...(out.EventBridgeConfiguration ? { EventBridgeConfiguration: out.EventBridgeConfiguration } : {}),
  };
}

/**
 * Replace the notification configuration (the whole of it: S3 has no call for one rule). S3
 * checks every destination first, sending each a test event: a function that does not allow S3
 * to invoke it, or two rules whose filters overlap, fail the whole call with InvalidArgument.
 */
export async function putNotifications(
  s3: S3,
  bucket: string,
  configuration: NotificationConfiguration,
): Promise<void> {
  try {
    await s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: bucket,
        NotificationConfiguration: configuration,
      }),
    );
  } catch (err) {
    if (s3ErrorCode(err) === 'InvalidArgument') {
      throw new UserError(
        `S3 refused the notification configuration of ${bucket}: ${(err as Error).message}`,
        {
          hint: "Another notification rule of the bucket may overlap ingest.prefix and ingest.suffixes (S3 allows one rule per object), or the function's permission for S3 is missing: `chatbot-ops create-ingest-trigger` adds it first.",
          cause: err,
        },
      );
    }
    throw err;
  }
}

export type { LambdaFunctionConfiguration, LifecycleRule, NotificationConfiguration };

/** How many objects (every version, and delete markers) the bucket holds, counting up to `limit`. */
export async function countObjects(
  s3: S3,
  bucket: string,
  limit: number,
): Promise<{ count: number; more: boolean }> {
  let count = 0;
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  for (;;) {
    const out = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        MaxKeys: Math.min(1000, limit - count),
        ...(keyMarker ? { KeyMarker: keyMarker } : {}),
        ...(versionMarker ? { VersionIdMarker: versionMarker } : {}),
      }),
    );
    count += (out.Versions?.length ?? 0) + (out.DeleteMarkers?.length ?? 0);
    if (!out.IsTruncated) return { count, more: false };
    if (count >= limit) return { count, more: true };
    keyMarker = out.NextKeyMarker;
    versionMarker = out.NextVersionIdMarker;
  }
}

/**
 * Delete every object (every version, and delete markers) in pages of 1,000; returns how many went.
 * `onProgress` hears the running count.
 */
export async function emptyBucket(
  s3: S3,
  bucket: string,
  onProgress?: (deleted: number) => void,
): Promise<number> {
  let deleted = 0;
  for (;;) {
    // Always from the start: what was deleted is gone, so the next page is what is left.
    const out = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, MaxKeys: 1000 }));
    const objects = [...(out.Versions ?? []), ...(out.DeleteMarkers ?? [])].map((v) => ({
      Key: v.Key ?? '',
      ...(v.VersionId ? { VersionId: v.VersionId } : {}),
    }));
    if (objects.length === 0) return deleted;
    const result = await s3.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }),
    );
    const failed = result.Errors ?? [];
    if (failed.length > 0) {
      const first = failed[0];
      throw new UserError(
        `S3 did not delete ${failed.length} object(s) of ${bucket} (first: ${first?.Key}: ${first?.Code})`,
        { hint: 'The credentials need s3:DeleteObject and s3:DeleteObjectVersion on the bucket.' },
      );
    }
    deleted += objects.length;
    onProgress?.(deleted);
  }
}

/** Delete an empty bucket; one already gone is fine. */
export async function deleteBucket(s3: S3, bucket: string): Promise<void> {
  try {
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  } catch (err) {
    if (err instanceof NoSuchBucket || s3ErrorCode(err) === 'NoSuchBucket') return;
    throw err;
  }
}
