/**
 * `db init | stats | load --remote`: the database work done by the ingest function, so the CLI
 * needs no network path to the database (in AWS it sits in a private subnet). Only two services
 * are called: Lambda Invoke (IAM-authorised, never through API Gateway) and S3.
 *
 * load: each file is named by the SHA-256 of its text and uploaded to <prefix>chatbot-ops/ (a
 * re-run finds it there and uploads nothing); the bucket's notification makes the ingest function
 * load it, and the CLI follows the object's result document until it is done. `--force`,
 * `--format` and `--max-errors` cannot travel with an S3 event, so with them (and to retry an
 * object whose load failed, or one that never got a result) the CLI invokes the function's `load`
 * directly and waits for its answer instead.
 */
import { closeSync, createWriteStream, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { invokeFunction } from '../aws/lambda.js';
import { getJsonObject, headObject, type S3, type S3Location, s3Url, uploadFile } from '../aws/s3.js';
import type { InitResult } from '../db/init.js';
import {
  FIRST_ERRORS_KEPT,
  type LoadedFile,
  type LoadReport,
  LoadStoppedError,
  sha256OfLogFile,
} from '../db/load.js';
import type { LogFormat } from '../db/log-formats.js';
import type { DbStats } from '../db/stats.js';
import { UserError } from '../errors.js';
import type { DirectAnswer } from './handler.js';
import { type IngestResult, resultKey, uploadKey } from './layout.js';

export interface IngestTarget {
  /** For messages: "AWS (eu-west-1)", "the local stack". */
  where: string;
  lambda: LambdaClient;
  s3: S3;
  functionName: string;
  bucket: string;
  prefix: string;
  resultsPrefix: string;
  /** The ingest function's timeout, seconds: how long a running load may take. */
  timeoutSeconds: number;
  /** How often result documents are read (default 1 s). */
  pollMs?: number;
  /** How long an upload may go without any result before the CLI gives up (default 60 s). */
  firstResultMs?: number;
}

/** Send a direct action and return its result; a failure becomes a UserError. */
export async function invokeIngest(
  target: IngestTarget,
  event: Record<string, unknown>,
): Promise<DirectAnswer> {
  const out = await invokeFunction(target.lambda, target.functionName, event);
  if (out.functionError) {
    throw new UserError(`the ingest function ${target.functionName} failed: ${out.functionError}`, {
      hint: 'Its log has the details (chatbot-ops logs, or .chatbot-ops/local/function.log for the local stack).',
    });
  }
  try {
    return JSON.parse(out.body) as DirectAnswer;
  } catch (err) {
    throw new UserError(`the ingest function ${target.functionName} answered something that is not JSON`, {
      hint: 'Is ingest.functionName the ingest function (not the API function)?',
      cause: err,
    });
  }
}

function answerOrThrow<T>(answer: DirectAnswer): T {
  if (!answer.ok)
    throw new UserError(answer.error.message, answer.error.hint ? { hint: answer.error.hint } : {});
  return answer.result as T;
}

export async function remoteInit(
  target: IngestTarget,
  options: { createDatabase: boolean },
): Promise<InitResult> {
  return answerOrThrow<InitResult>(
    await invokeIngest(target, { action: 'init', createDatabase: options.createDatabase }),
  );
}

export async function remoteStats(target: IngestTarget): Promise<DbStats> {
  return answerOrThrow<DbStats>(await invokeIngest(target, { action: 'stats' }));
}

export interface RemoteLoadOptions {
  format?: 'auto' | LogFormat;
  maxErrors?: number;
  force?: boolean;
  stdin?: NodeJS.ReadableStream;
  /** One line saying what is happening (uploading, waiting, lines loaded so far). */
  onProgress?: (text: string) => void;
  sleep?: (ms: number) => Promise<void>;
}

const count = (n: number) => n.toLocaleString('en-US');
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

/** Is the file gzip (by its magic bytes, as the loader decides)? */
function isGzipFile(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/** Standard input saved to a file first: its content names the object, so it must be read before the upload. */
async function spoolStdin(stdin: NodeJS.ReadableStream): Promise<{ path: string; cleanup: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'chatbot-ops-stdin-'));
  const path = join(dir, 'stdin.log');
  await pipeline(stdin, createWriteStream(path, { mode: 0o600 }));
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A result written after `before` (a new invocation), not the one already there. */
const isNewer = (doc: IngestResult | undefined, before: IngestResult | undefined) =>
  doc !== undefined &&
  (before === undefined || doc.requestId !== before.requestId || doc.startedAt !== before.startedAt);

/** Follow the object's result document until the load finishes. */
async function waitForResult(
  target: IngestTarget,
  label: string,
  at: S3Location,
  before: IngestResult | undefined,
  options: RemoteLoadOptions,
): Promise<IngestResult> {
  const sleep = options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const pollMs = target.pollMs ?? 1000;
  const started = Date.now();
  let deadline = started + (target.firstResultMs ?? 60_000);
  let running = false;
  for (;;) {
    const doc = await getJsonObject<IngestResult>(target.s3, at);
    const seconds = Math.round((Date.now() - started) / 1000);
    if (isNewer(doc, before)) {
      const result = doc as IngestResult;
      if (result.status !== 'running') return result;
      if (!running) {
        running = true;
        // Once the function has started, it has its whole timeout (plus time to write the result).
        deadline = Date.now() + (target.timeoutSeconds + 30) * 1000;
      }
      const p = result.progress;
      const share = p?.totalBytes ? `, ${Math.floor((p.bytes / p.totalBytes) * 100)}%` : '';
      options.onProgress?.(
        `${label}: the ingest function is loading it (${count(p?.lines ?? 0)} lines${share}, ${seconds} s)`,
      );
    } else {
      options.onProgress?.(`${label}: waiting for the ingest function to pick it up (${seconds} s)`);
    }
    if (Date.now() >= deadline) {
      throw new UserError(
        running
          ? `the ingest function did not finish ${label} within ${target.timeoutSeconds + 30} s`
          : `the ingest function has not picked up ${label} after ${seconds} s`,
        {
          hint: running
            ? 'Its log says why; a re-run of the same command waits again or reports the result.'
            : `Is the bucket notification from ${target.bucket} to ${target.functionName} set up (chatbot-ops doctor)? --force loads it by invoking the function directly.`,
        },
      );
    }
    await sleep(pollMs);
  }
}

/** A finished result as the entry `db load` prints for the file. */
function entryOf(
  label: string,
  result: IngestResult,
  sha256: string,
): { file: LoadedFile; errors: LoadReport['firstErrors'] } {
  const report = result.report;
  const file = report?.files[0];
  if (result.status === 'skipped' || file?.skipped) {
    return {
      file: { file: label, lines: file?.lines ?? 0, loaded: 0, errors: 0, skipped: true, sha256 },
      errors: [],
    };
  }
  if (!report || !file) {
    throw new UserError(`${label}: ${result.error?.message ?? 'the ingest function failed'}`, {
      ...(result.error?.hint ? { hint: result.error.hint } : {}),
    });
  }
  return {
    file: { ...file, file: label },
    errors: report.firstErrors.map((e) => ({ ...e, file: label })),
  };
}

/**
 * Load files (paths or '-') through the ingest function. Returns the report `db load` prints, with
 * the local file names; throws a UserError for a file whose load failed (after the ones before it).
 */
export async function remoteLoad(
  target: IngestTarget,
  inputs: string[],
  options: RemoteLoadOptions = {},
): Promise<LoadReport> {
  const files: LoadedFile[] = [];
  const firstErrors: LoadReport['firstErrors'] = [];
  const direct =
    options.force === true ||
    (options.format !== undefined && options.format !== 'auto') ||
    options.maxErrors !== undefined;
  for (const input of inputs) {
    const label = input === '-' ? '(stdin)' : input;
    const spooled = input === '-' ? await spoolStdin(options.stdin ?? process.stdin) : undefined;
    try {
      const path = spooled?.path ?? input;
      const size = statSync(path).size;
      const sha256 = await sha256OfLogFile(path);
      const object = { bucket: target.bucket, key: uploadKey(target.prefix, sha256, isGzipFile(path)) };
      const resultAt = { bucket: target.bucket, key: resultKey(target.resultsPrefix, object.key) };
      const existing = await headObject(target.s3, object);
      const before = await getJsonObject<IngestResult>(target.s3, resultAt);
      if (!existing) {
        options.onProgress?.(`${label}: uploading ${mb(size)} to ${s3Url(object)}`);
        await uploadFile(target.s3, object, { path, size, metadata: { 'chatbot-ops-sha256': sha256 } });
      }
      let result: IngestResult;
      if (existing && !direct && (before?.status === 'loaded' || before?.status === 'skipped')) {
        // Loaded by an earlier run: reported as `db load` reports a file it has loaded before.
        result = { ...before, status: 'skipped' };
      } else if (direct || (existing && (before === undefined || before.status === 'failed'))) {
        options.onProgress?.(`${label}: the ingest function is loading ${s3Url(object)}`);
        const answer = await invokeIngest(target, {
          action: 'load',
          object: s3Url(object),
          ...(options.format && options.format !== 'auto' ? { format: options.format } : {}),
          ...(options.force ? { force: true } : {}),
          ...(options.maxErrors !== undefined ? { maxErrors: options.maxErrors } : {}),
        });
        if (!answer.ok && !answer.result?.report)
          throw new UserError(
            `${label}: ${answer.error.message}`,
            answer.error.hint ? { hint: answer.error.hint } : {},
          );
        result = answer.result as IngestResult;
      } else {
        result = await waitForResult(target, label, resultAt, before, options);
      }
      const entry = entryOf(label, result, sha256);
      files.push(entry.file);
      for (const e of entry.errors) if (firstErrors.length < FIRST_ERRORS_KEPT) firstErrors.push(e);
      if (result.status === 'failed') {
        // Stopped by --max-errors, or not a log at all: the lines read are reported, nothing was loaded.
        throw new LoadStoppedError(
          `${label}: ${result.error?.message ?? 'the ingest function failed'}`,
          result.error?.hint ?? 'Fix or remove the bad lines and run the same command again.',
          summarise(files, firstErrors),
        );
      }
    } finally {
      spooled?.cleanup();
    }
  }
  return summarise(files, firstErrors);
}

function summarise(files: LoadedFile[], firstErrors: LoadReport['firstErrors']): LoadReport {
  return {
    files,
    loaded: files.reduce((n, f) => n + f.loaded, 0),
    errors: files.reduce((n, f) => n + f.errors, 0),
    firstErrors,
  };
}
