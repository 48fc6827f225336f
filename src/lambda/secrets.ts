/**
 * DB_SECRET_ARN: the database credentials from an AWS Secrets Manager secret in the RDS JSON form
 * (username, password, host, port, dbname). The SDK is imported only here and only when needed, so
 * a function configured with DB_* variables never loads it; its client is left to the runtime
 * (credentials from the execution role).
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ApiError } from './errors.js';

/** The one call the backend makes to Secrets Manager (tests pass a mocked client). */
export type SecretsClient = Pick<SecretsManagerClient, 'send'>;

export interface DbCredentials {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}

/** The region written in a Secrets Manager ARN (`arn:aws:secretsmanager:<region>:...`), if it is one. */
export function regionOfArn(secretId: string): string | undefined {
  const parts = secretId.split(':');
  return parts[0] === 'arn' && parts[2] === 'secretsmanager' && parts[3] ? parts[3] : undefined;
}

/**
 * Parse the secret's JSON. A secret without a host or database name is still usable when DB_HOST /
 * DB_NAME say where to connect (an RDS-managed secret holds only username and password).
 */
export function parseRdsSecret(
  text: string | undefined,
  env: Record<string, string | undefined>,
): DbCredentials {
  const misconfigured = (why: string) =>
    new ApiError('INTERNAL_ERROR', 'backend misconfigured', { cause: new Error(`DB_SECRET_ARN: ${why}`) });
  if (text === undefined) throw misconfigured('the secret has no SecretString');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw misconfigured('the secret is not JSON in the RDS form');
  }
  if (typeof value !== 'object' || value === null) throw misconfigured('the secret is not a JSON object');
  const fields = value as Record<string, unknown>;
  const text_ = (name: string, fallback?: string): string | undefined =>
    typeof fields[name] === 'string' && fields[name] !== '' ? (fields[name] as string) : fallback;
  const host = text_('host', env.DB_HOST);
  const database = text_('dbname', env.DB_NAME);
  const user = text_('username');
  const password = typeof fields.password === 'string' ? fields.password : undefined;
  const port = fields.port === undefined ? Number(env.DB_PORT ?? 3306) : Number(fields.port);
  const missing = [
    ['host', host],
    ['dbname', database],
    ['username', user],
    ['password', password],
  ].filter(([, v]) => v === undefined);
  if (missing.length > 0) throw misconfigured(`the secret lacks ${missing.map(([k]) => k).join(', ')}`);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw misconfigured('the secret has an invalid port');
  return { host: host!, port, database: database!, user: user!, password: password! };
}

/**
 * Fetch and parse the secret. A failure to reach Secrets Manager is DATABASE_UNAVAILABLE (retried
 * next call). Without `injected`, a client is made for the ARN's region (credentials from the
 * execution role) and destroyed after the one call; an injected client is the caller's to keep.
 */
export async function readDbSecret(
  secretId: string,
  env: Record<string, string | undefined>,
  injected?: SecretsClient,
): Promise<DbCredentials> {
  const sdk = await import('@aws-sdk/client-secrets-manager');
  const region = regionOfArn(secretId);
  const owned = injected ? undefined : new sdk.SecretsManagerClient(region ? { region } : {});
  const client = injected ?? owned!;
  let secretString: string | undefined;
  try {
    const output = await client.send(new sdk.GetSecretValueCommand({ SecretId: secretId }));
    secretString = output.SecretString;
  } catch (err) {
    throw new ApiError('DATABASE_UNAVAILABLE', 'the database is unavailable', { cause: err });
  } finally {
    owned?.destroy();
  }
  return parseRdsSecret(secretString, env);
}
