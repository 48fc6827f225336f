/**
 * The local stack's state: what `local up` started, so `local status`, `local down`,
 * `invoke --local`, `test --local` and `db ... ` (with no connection flags) can find it.
 * Kept in .chatbot-ops/local/state.json with mode 0600, because it holds the local stack's
 * generated database password and API key (never printed unless asked, never in the config).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DatabaseHealth } from './db-watchdog.js';

export interface LocalState {
  version: 1;
  startedAt: string;
  /** Folder of the state (absolute). */
  dir: string;
  /** Processes `local up` started and `local down` stops: the supervisor, the private MariaDB (if ours). */
  pids: { supervisor?: number; mariadb?: number };
  gateway: { url: string; host: '127.0.0.1'; port: number; stage: string; resource: string };
  apiKey: string;
  usagePlan: { rateLimit: number; burstLimit: number; quotaLimit: number; quotaPeriod: string };
  /**
   * `user`/`password`: the function's login (SELECT only). `writer`: the login the stack keeps for
   * `db load`, `db seed` and `db init` (absent in states written before it existed).
   */
  db: {
    host: string;
    port: number;
    user: string;
    password: string;
    writer?: { user: string; password: string };
    database: string;
    managed: boolean;
  };
  /** The supervisor's last word on its private MariaDB (written when it changes). */
  database?: { health: DatabaseHealth; since: string; message: string };
  /** The ingest chain: the S3 endpoint and bucket, and the Lambda Invoke API serving both functions. */
  ingest?: {
    s3Endpoint: string;
    lambdaEndpoint: string;
    bucket: string;
    prefix: string;
    resultsPrefix: string;
    functionName: string;
    region: string;
  };
}

export function localStateDir(cwd = process.cwd()): string {
  return resolve(cwd, '.chatbot-ops', 'local');
}

export function localStatePath(cwd = process.cwd()): string {
  return join(localStateDir(cwd), 'state.json');
}

export function readLocalState(cwd = process.cwd()): LocalState | undefined {
  const file = localStatePath(cwd);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LocalState;
  } catch {
    return undefined;
  }
}

export function writeLocalState(state: LocalState, cwd = process.cwd()): void {
  mkdirSync(localStateDir(cwd), { recursive: true, mode: 0o700 });
  const file = localStatePath(cwd);
  // Written aside and renamed over, so a reader never sees half a file; created 0600, never wider.
  const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(temp, file);
}

export function removeLocalState(cwd = process.cwd()): void {
  rmSync(localStatePath(cwd), { force: true });
}
