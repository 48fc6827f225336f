/**
 * `db init | stats | load --remote [--local]`: which ingest function and bucket the `db` commands
 * reach when they work through the ingest function (src/ingest/remote.ts) instead of a database
 * connection. `--remote` alone: the deployment `invoke` uses (config, --region, --profile,
 * --endpoint-url); with `--local`: the running local stack's S3 endpoint and Lambda Invoke API.
 */
import type { Context } from '../cli/context.js';
import { UsageError, UserError } from '../errors.js';
import { defaultLogsBucket } from '../ingest/layout.js';
import type { IngestTarget } from '../ingest/remote.js';
import { isProcessAlive } from '../local/lifecycle.js';
import { readLocalState } from '../local/state.js';

export interface RemoteFlags {
  remote?: boolean;
  local?: boolean;
  dbHost?: string;
  dbPort?: string | number;
  dbUser?: string;
  dbName?: string;
}

/** Options every `db` subcommand with a remote form takes (commander definitions). */
export const REMOTE_FLAG_OPTIONS: readonly (readonly [string, string])[] = [
  [
    '--remote',
    'do it through the ingest function (Lambda Invoke and S3), with no connection to the database',
  ],
  ['--local', "with --remote: the local stack's ingest function and S3 endpoint instead of AWS"],
];

/** Flag combinations that cannot mean anything, refused before any call. */
export function checkRemoteFlags(flags: RemoteFlags): void {
  if (flags.local && !flags.remote) {
    throw new UsageError(
      '--local goes with --remote',
      'Without --remote the db commands already use the running local stack’s database.',
    );
  }
  const dbFlag = (['dbHost', 'dbPort', 'dbUser', 'dbName'] as const).find((f) => flags[f] !== undefined);
  if (flags.remote && dbFlag) {
    throw new UsageError(
      `--${dbFlag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} cannot be used with --remote`,
      'With --remote the ingest function connects to the database it is configured with.',
    );
  }
}

/** The ingest function and bucket to use. */
export async function resolveIngestTarget(ctx: Context, flags: RemoteFlags): Promise<IngestTarget> {
  const ingest = ctx.config().ingest;
  if (flags.local) {
    const state = readLocalState();
    if (!state?.ingest || !isProcessAlive(state.pids.supervisor)) {
      throw new UserError('no local stack with an ingest function is running here', {
        hint: 'Start one with `chatbot-ops local up` (in this folder).',
      });
    }
    const { localIngestClients } = await import('../aws/local-endpoints.js');
    const clients = localIngestClients(state.ingest);
    return {
      where: 'the local stack',
      lambda: clients.lambda,
      s3: clients.s3,
      functionName: state.ingest.functionName,
      bucket: state.ingest.bucket,
      prefix: state.ingest.prefix,
      resultsPrefix: state.ingest.resultsPrefix,
      timeoutSeconds: ingest.timeout,
    };
  }
  const aws = ctx.aws();
  let bucket = ingest.bucket;
  let region = aws.region;
  if (!bucket || !region) {
    const { resolveAwsSession } = await import('../aws/sts.js');
    const session = await resolveAwsSession(aws);
    region = session.region;
    bucket ??= defaultLogsBucket(session.account, session.region);
  }
  return {
    where: `AWS (${region})`,
    lambda: aws.lambda,
    s3: aws.s3,
    functionName: ingest.functionName,
    bucket,
    prefix: ingest.prefix,
    resultsPrefix: ingest.resultsPrefix,
    timeoutSeconds: ingest.timeout,
  };
}
