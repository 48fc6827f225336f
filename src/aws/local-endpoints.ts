/**
 * Clients for the local stack's stand-ins of AWS (src/local/ingest-stack.ts): its S3 endpoint and
 * its Lambda Invoke API, both on 127.0.0.1. The same commands as against AWS go through them.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from './s3.js';

/** s3rver checks request signatures against this fixed key pair, and the local Invoke API takes any. */
export const LOCAL_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export function localIngestClients(endpoints: {
  s3Endpoint: string;
  lambdaEndpoint: string;
  region: string;
}): {
  lambda: LambdaClient;
  s3: S3Client;
} {
  const base = { region: endpoints.region, credentials: { ...LOCAL_S3_CREDENTIALS } };
  return {
    lambda: new LambdaClient({ ...base, endpoint: endpoints.lambdaEndpoint }),
    s3: createS3Client({ ...base, endpoint: endpoints.s3Endpoint }),
  };
}
