/**
 * CloudWatch Logs, narrowed to the function's log group: find it (with its retention), create it,
 * set retention, delete it. Reading log events lives in log-events.ts. Nothing here prints.
 */
import {
  type CloudWatchLogsClient,
  CreateLogGroupCommand,
  DeleteLogGroupCommand,
  PutRetentionPolicyCommand,
  paginateDescribeLogGroups,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudwatch-logs';
import { pagesOf } from './pages.js';

export interface LogGroupState {
  name: string;
  /** Days; undefined means "never expire". */
  retentionDays: number | undefined;
}

/** The log group with exactly this name, or undefined. */
export async function findLogGroup(
  logs: CloudWatchLogsClient,
  name: string,
): Promise<LogGroupState | undefined> {
  for await (const page of paginateDescribeLogGroups(pagesOf(logs), { logGroupNamePrefix: name })) {
    const hit = page.logGroups?.find((g) => g.logGroupName === name);
    if (hit) return { name, retentionDays: hit.retentionInDays };
  }
  return undefined;
}

/** Create the group; one that already exists (Lambda may have made it on a first invoke) is fine. */
export async function createLogGroup(
  logs: CloudWatchLogsClient,
  name: string,
  tags: Record<string, string>,
): Promise<void> {
  try {
    await logs.send(new CreateLogGroupCommand({ logGroupName: name, tags }));
  } catch (err) {
    if (!(err instanceof ResourceAlreadyExistsException)) throw err;
  }
}

export async function setLogRetention(logs: CloudWatchLogsClient, name: string, days: number): Promise<void> {
  await logs.send(new PutRetentionPolicyCommand({ logGroupName: name, retentionInDays: days }));
}

/** Delete the group; false when there was none. */
export async function deleteLogGroup(logs: CloudWatchLogsClient, name: string): Promise<boolean> {
  try {
    await logs.send(new DeleteLogGroupCommand({ logGroupName: name }));
    return true;
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return false;
    throw err;
  }
}
