/**
 * `db init | stats | load --remote` against AWS, with the Lambda and S3 clients mocked
 * (aws-sdk-client-mock): the exact calls, the content-addressed upload, waiting on the result
 * document, the direct `load` for --force, and the errors a user sees.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { InvokeCommand, LambdaClient, ResourceNotFoundException } from '@aws-sdk/client-lambda';
import {
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createAwsClients } from '../../src/aws/clients.js';
import { headObject, parseS3Url, s3ClientConfig } from '../../src/aws/s3.js';
import { main } from '../../src/cli/main.js';
import { recordingUi } from '../../src/cli/ui.js';
import { UserError } from '../../src/errors.js';
import type { IngestResult } from '../../src/ingest/layout.js';
import { type IngestTarget, remoteLoad, remoteStats } from '../../src/ingest/remote.js';
import { scratchDir } from '../db/db-cli.js';

const lambda = mockClient(LambdaClient);
const s3 = mockClient(S3Client);
const sts = mockClient(STSClient);
afterEach(() => {
  lambda.reset();
  s3.reset();
  sts.reset();
});

const meta = { $metadata: {} };
const body = (value: unknown) => Readable.from([Buffer.from(JSON.stringify(value))]);
const payload = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)) as never;

const TEXT = '127.0.0.1 - - [10/Oct/2025:13:55:36 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8"\n';
const SHA = createHash('sha256').update(TEXT).digest('hex');
const KEY = `logs/chatbot-ops/sha256-${SHA}.log.gz`;
const RESULT_KEY = `chatbot-ops/results/${KEY}.json`;

function target(): IngestTarget {
  return {
    where: 'AWS (eu-west-1)',
    lambda: new LambdaClient({ region: 'eu-west-1' }),
    s3: new S3Client({ region: 'eu-west-1' }),
    functionName: 'chatbot-ingest',
    bucket: 'chatbot-logs-111122223333-eu-west-1',
    prefix: 'logs/',
    resultsPrefix: 'chatbot-ops/results/',
    timeoutSeconds: 900,
    pollMs: 1,
    firstResultMs: 200,
  };
}

function gzFile(): string {
  const file = join(scratchDir(), 'access.log.gz');
  writeFileSync(file, gzipSync(TEXT));
  return file;
}

const loaded = (requestId: string): IngestResult => ({
  version: 1,
  object: `s3://chatbot-logs-111122223333-eu-west-1/${KEY}`,
  status: 'loaded',
  startedAt: '2025-10-10T12:00:00.000Z',
  requestId,
  report: {
    files: [{ file: `s3://x/${KEY}`, lines: 1, loaded: 1, errors: 0, format: 'combined', sha256: SHA }],
    loaded: 1,
    errors: 0,
    firstErrors: [],
  },
});

describe('remoteLoad against AWS', () => {
  it('uploads a new file under its content name and waits for the result the event produces', async () => {
    // Prepare
    const file = gzFile();
    s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'nf', ...meta }));
    s3.on(GetObjectCommand)
      .rejectsOnce(new NoSuchKey({ message: 'none', ...meta }))
      .rejectsOnce(new NoSuchKey({ message: 'none', ...meta }))
      .resolvesOnce({
        Body: body({ ...loaded('r1'), status: 'running', progress: { lines: 0, bytes: 0 } }),
      } as never)
      .resolves({ Body: body(loaded('r1')) } as never);
    s3.on(PutObjectCommand).resolves({});
    const progress: string[] = [];

    // Act
    const report = await remoteLoad(target(), [file], { onProgress: (t) => progress.push(t) });

    // Assess
    expect(report).toEqual({
      files: [{ file, lines: 1, loaded: 1, errors: 0, format: 'combined', sha256: SHA }],
      loaded: 1,
      errors: 0,
      firstErrors: [],
    });
    expect(s3.commandCalls(HeadObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'chatbot-logs-111122223333-eu-west-1',
      Key: KEY,
    });
    const put = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(put).toMatchObject({
      Bucket: 'chatbot-logs-111122223333-eu-west-1',
      Key: KEY,
      ContentLength: gzipSync(TEXT).length,
      Metadata: { 'chatbot-ops-sha256': SHA },
    });
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input.Key)).toEqual(
      Array(4).fill(RESULT_KEY),
    );
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
    expect(progress).toContainEqual(
      expect.stringMatching(
        /uploading 0\.0 MB to s3:\/\/chatbot-logs-111122223333-eu-west-1\/logs\/chatbot-ops\/sha256-/,
      ),
    );
    expect(progress).toContainEqual(expect.stringMatching(/the ingest function is loading it \(0 lines/));
  });

  it('a re-run finds the object and its result: nothing uploaded, reported as already loaded', async () => {
    // Prepare
    s3.on(HeadObjectCommand).resolves({ ContentLength: 40, Metadata: {} });
    s3.on(GetObjectCommand).resolves({ Body: body(loaded('r1')) } as never);

    // Act
    const report = await remoteLoad(target(), [gzFile()]);

    // Assess
    expect(report.files[0]).toMatchObject({ skipped: true, loaded: 0, sha256: SHA });
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  it('--force invokes the function directly with the object and the options (no waiting on events)', async () => {
    // Prepare
    s3.on(HeadObjectCommand).resolves({ ContentLength: 40, Metadata: {} });
    s3.on(GetObjectCommand).resolves({ Body: body(loaded('r1')) } as never);
    lambda.on(InvokeCommand).resolves({
      ...meta,
      StatusCode: 200,
      Payload: payload({ ok: true, action: 'load', result: loaded('r2') }),
    });

    // Act
    const report = await remoteLoad(target(), [gzFile()], { force: true, format: 'combined', maxErrors: 5 });

    // Assess
    expect(report.loaded).toBe(1);
    const input = lambda.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ FunctionName: 'chatbot-ingest', InvocationType: 'RequestResponse' });
    expect(JSON.parse(new TextDecoder().decode(input?.Payload as Uint8Array))).toEqual({
      action: 'load',
      object: `s3://chatbot-logs-111122223333-eu-west-1/${KEY}`,
      format: 'combined',
      force: true,
      maxErrors: 5,
    });
  });

  it('says when no result appears (no notification set up) and how to go on', async () => {
    // Prepare
    s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'nf', ...meta }));
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'none', ...meta }));
    s3.on(PutObjectCommand).resolves({});

    // Act
    const run = remoteLoad(target(), [gzFile()]);

    // Assess
    await expect(run).rejects.toThrow(/the ingest function has not picked up .*access\.log\.gz after/);
    await expect(run).rejects.toMatchObject({ hint: expect.stringContaining('bucket notification') });
  });

  it('a failed load (truncated gzip) becomes an error naming the file', async () => {
    // Prepare
    s3.on(HeadObjectCommand).resolves({ ContentLength: 40, Metadata: {} });
    s3.on(GetObjectCommand).resolves({ Body: body({ ...loaded('r1'), status: 'failed' }) } as never);
    lambda.on(InvokeCommand).resolves({
      ...meta,
      StatusCode: 200,
      Payload: payload({
        ok: false,
        action: 'load',
        error: { message: 's3://x is not valid gzip (unexpected end of file); nothing from it was loaded' },
      }),
    });

    // Act / Assess: a failed earlier result is retried by a direct load
    await expect(remoteLoad(target(), [gzFile()])).rejects.toThrow(
      /access\.log\.gz: s3:\/\/x is not valid gzip/,
    );
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(1);
  });
});

describe('the ingest function, invoked', () => {
  it('a missing function is a UserError saying how to deploy it', async () => {
    // Prepare
    lambda
      .on(InvokeCommand)
      .rejects(new ResourceNotFoundException({ message: 'Function not found', ...meta }));

    // Act
    const run = remoteStats(target());

    // Assess
    await expect(run).rejects.toThrow('no Lambda function named chatbot-ingest');
    await expect(run).rejects.toBeInstanceOf(UserError);
  });

  it('a function error is reported with its message', async () => {
    // Prepare
    lambda.on(InvokeCommand).resolves({
      ...meta,
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: payload({ errorType: 'Error', errorMessage: 'boom' }),
    });

    // Act / Assess
    await expect(remoteStats(target())).rejects.toThrow(
      'the ingest function chatbot-ingest failed: Error: boom',
    );
  });
});

describe('db stats and db init --remote through the CLI', () => {
  it('names the default bucket from the account and region, and prints the stats', async () => {
    // Prepare
    const config = join(scratchDir(), 'config.json');
    writeFileSync(config, '{"region":"eu-west-1"}\n');
    sts
      .on(GetCallerIdentityCommand)
      .resolves({ Account: '111122223333', Arn: 'arn:aws:iam::111122223333:user/me' });
    lambda.on(InvokeCommand).resolves({
      ...meta,
      StatusCode: 200,
      Payload: payload({
        ok: true,
        action: 'stats',
        result: {
          rows: 7,
          first: null,
          last: null,
          perDay: [],
          statusClasses: { '1xx': 0, '2xx': 7, '3xx': 0, '4xx': 0, '5xx': 0 },
          sizes: { dataBytes: 0, indexBytes: 0, perIndexBytes: null },
          indexes: [],
          loadHistory: { files: 1, lastLoadedAt: null },
        },
      }),
    });
    const ui = recordingUi({ json: true });

    // Act
    const code = await main(
      ['node', 'chatbot-ops', '--config', config, '--json', 'db', 'stats', '--remote'],
      {
        ui,
        awsFactory: createAwsClients,
      },
    );

    // Assess
    expect(code).toBe(0);
    expect(ui.results[0]).toMatchObject({ rows: 7 });
    expect(
      JSON.parse(
        new TextDecoder().decode(lambda.commandCalls(InvokeCommand)[0]?.args[0].input.Payload as Uint8Array),
      ),
    ).toEqual({
      action: 'stats',
    });
  });

  it('db init --remote says how many rows the function left to count, and that running it again continues', async () => {
    // Prepare: the function ran short of time while building the rollups
    const config = join(scratchDir(), 'config.json');
    writeFileSync(config, '{"region":"eu-west-1"}\n');
    sts
      .on(GetCallerIdentityCommand)
      .resolves({ Account: '111122223333', Arn: 'arn:aws:iam::111122223333:user/me' });
    const backfilled = {
      tables: ['rollup_endpoint_v2', 'rollup_ip_v2', 'rollup_status_v2'],
      ids: 0,
      remaining: 1_500_000,
    };
    lambda.on(InvokeCommand).resolves({
      ...meta,
      StatusCode: 200,
      Payload: payload({
        ok: true,
        action: 'init',
        result: { database: 'chatbot_db', databaseCreated: false, created: [], unchanged: [], backfilled },
      }),
    });
    const ui = recordingUi();

    // Act
    const code = await main(['node', 'chatbot-ops', '--config', config, 'db', 'init', '--remote'], {
      ui,
      awsFactory: createAwsClients,
    });

    // Assess
    expect(code).toBe(0);
    expect(ui.err.join('\n')).toContain(
      'rollups: 1,500,000 existing rows still to count (the function ran short of time); run the same db init again to continue.',
    );
    expect(ui.out.join('\n')).not.toContain('Nothing to do');
    expect(ui.results[0]).toMatchObject({ backfilled });
    expect(
      JSON.parse(
        new TextDecoder().decode(lambda.commandCalls(InvokeCommand)[0]?.args[0].input.Payload as Uint8Array),
      ),
    ).toEqual({ action: 'init', createDatabase: true });
  });

  it('refuses --local without --remote, and --db-host with --remote, before any call', async () => {
    // Act
    const ui = recordingUi();
    const local = await main(['node', 'chatbot-ops', 'db', 'stats', '--local'], {
      ui,
      awsFactory: createAwsClients,
    });
    const host = await main(['node', 'chatbot-ops', 'db', 'stats', '--remote', '--db-host', 'x'], {
      ui,
      awsFactory: createAwsClients,
    });

    // Assess
    expect([local, host]).toEqual([2, 2]);
    expect(ui.err.join('\n')).toMatch(
      /--local goes with --remote[\s\S]*--db-host cannot be used with --remote/,
    );
    expect(lambda.calls()).toHaveLength(0);
  });
});

describe('src/aws/s3', () => {
  it('HeadObject: a missing object is undefined', async () => {
    s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'nf', ...meta }));
    expect(
      await headObject(new S3Client({ region: 'eu-west-1' }), { bucket: 'b-1', key: 'k' }),
    ).toBeUndefined();
  });

  it.each(['s3://Bad_Bucket/k', 'https://b/k', 's3://bucket-only'])('refuses %s as an object URL', (url) => {
    expect(() => parseS3Url(url)).toThrow(/is not an S3 object URL/);
  });

  it('an emulator endpoint gets path-style addressing and checksums only where required', () => {
    expect(s3ClientConfig({ region: 'x' }, undefined)).toEqual({ region: 'x' });
    expect(s3ClientConfig({ region: 'x' }, 'http://127.0.0.1:4566')).toEqual({
      region: 'x',
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });
});
