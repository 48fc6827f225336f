/**
 * The names and ARNs of the ingest path's resources, as they follow from the config and the
 * account: shared by its deploy steps (ingest-role, ingest-network, logs-bucket, ingest-function,
 * ingest-trigger), `destroy` and `doctor`, so each is spelled once.
 */
import { functionLogGroup } from '../aws/log-events.js';
import { type AwsSession, resolveAwsSession } from '../aws/sts.js';
import type { ChatbotConfig } from '../config.js';
import type { Deployment } from '../deployment/deployment.js';
import { defaultLogsBucket } from '../ingest/layout.js';

/** The tag that marks what chatbot-ops made for the ingest path (a bucket, an endpoint): only those are changed or removed. */
export const PURPOSE_TAG = 'chatbot-ops:purpose';

export interface IngestNames {
  account: string;
  region: string;
  partition: string;
  bucket: string;
  bucketArn: string;
  functionName: string;
  functionArn: string;
  queueName: string;
  queueArn: string;
  roleName: string;
  roleArn: string;
  logGroup: string;
  logGroupArn: string;
  alarmName: string;
  /** S3's service in this region: the gateway endpoint's service and its managed prefix list's name. */
  s3Service: string;
}

export function ingestNames(config: ChatbotConfig, session: AwsSession): IngestNames {
  const { partition, region, account } = session;
  const i = config.ingest;
  const bucket = i.bucket ?? defaultLogsBucket(account, region);
  const logGroup = functionLogGroup(i.functionName);
  return {
    account,
    region,
    partition,
    bucket,
    bucketArn: `arn:${partition}:s3:::${bucket}`,
    functionName: i.functionName,
    functionArn: `arn:${partition}:lambda:${region}:${account}:function:${i.functionName}`,
    queueName: i.failureQueue,
    queueArn: `arn:${partition}:sqs:${region}:${account}:${i.failureQueue}`,
    roleName: i.role,
    roleArn: `arn:${partition}:iam::${account}:role/${i.role}`,
    logGroup,
    logGroupArn: `arn:${partition}:logs:${region}:${account}:log-group:${logGroup}`,
    alarmName: `${i.functionName}-errors`,
    s3Service: `com.amazonaws.${region}.s3`,
  };
}

/**
 * The names, for readers that get no session of their own (destroy's reads): the caller identity
 * is asked once per run, through the deployment's cache.
 */
export async function readIngestNames(d: Deployment): Promise<IngestNames> {
  const session = await d.cached('session', () => resolveAwsSession(d.aws));
  return ingestNames(d.config, session);
}
