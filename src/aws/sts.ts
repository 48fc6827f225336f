/**
 * Who and where we are, before any other AWS call: the region (flag, config, then the SDK's own
 * chain) and the caller identity from STS. Missing region or credentials become a UserError that
 * says how to set them, so no command half-runs against an unknown account.
 */
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { UserError } from '../errors.js';
import type { AwsClients } from './clients.js';

export interface AwsSession {
  region: string;
  account: string;
  /** `aws`, `aws-cn`, `aws-us-gov`…: taken from the ARN STS returns, never assumed. */
  partition: string;
  /** The caller's ARN (user or assumed role). */
  callerArn: string;
}

const REGION_HINT =
  'Pass --region, set "region" in chatbot-ops.config.json, or export AWS_REGION (or set region in your AWS profile).';
const CREDENTIALS_HINT =
  'Set AWS_PROFILE or pass --profile (after `aws configure` or `aws sso login`), or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.';

/** The region the clients will use: the explicit one, else whatever the SDK chain (env, profile) yields. */
export async function resolveRegion(clients: AwsClients): Promise<string> {
  if (clients.region) return clients.region;
  let region: string | undefined;
  try {
    region = await clients.sts.config.region();
  } catch {
    region = undefined;
  }
  if (!region) throw new UserError('no AWS region is set', { hint: REGION_HINT, exitCode: 2 });
  return region;
}

/** Split `arn:partition:service:region:account:resource`. */
export function parseArn(arn: string): {
  partition: string;
  service: string;
  region: string;
  account: string;
  resource: string;
} {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') throw new Error(`not an ARN: ${arn}`);
  return {
    partition: parts[1] ?? '',
    service: parts[2] ?? '',
    region: parts[3] ?? '',
    account: parts[4] ?? '',
    resource: parts.slice(5).join(':'),
  };
}

/**
 * Resolve region, then call STS GetCallerIdentity. Credential-chain failures (no profile, expired
 * SSO token) surface from the SDK as CredentialsProviderError or ExpiredToken*: both become a
 * UserError with the ways to fix them.
 */
export async function resolveAwsSession(clients: AwsClients): Promise<AwsSession> {
  const region = await resolveRegion(clients);
  let identity: { Account?: string; Arn?: string };
  try {
    identity = await clients.sts.send(new GetCallerIdentityCommand({}));
  } catch (err) {
    const name = (err as { name?: string }).name ?? '';
    if (
      /CredentialsProviderError|ExpiredToken|InvalidClientTokenId|UnrecognizedClient|SignatureDoesNotMatch|TokenRefreshRequired/.test(
        name,
      )
    ) {
      throw new UserError(`no usable AWS credentials (${name})`, { hint: CREDENTIALS_HINT, cause: err });
    }
    throw new UserError(`could not reach AWS STS in ${region}: ${(err as Error).message}`, {
      hint: 'Check the network, the region, and --endpoint-url / AWS_ENDPOINT_URL if you use an emulator.',
      cause: err,
    });
  }
  if (!identity.Account || !identity.Arn)
    throw new UserError('AWS STS returned no account for these credentials');
  return {
    region,
    account: identity.Account,
    partition: parseArn(identity.Arn).partition,
    callerArn: identity.Arn,
  };
}
