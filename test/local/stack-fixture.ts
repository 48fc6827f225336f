/**
 * Local stacks for tests: on the shared test MariaDB (one database per file, seeded once), each stack
 * with its own function user, a free gateway port and a temporary state folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig } from '../../src/config.js';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../src/local/stack.js';
import { writeLocalState } from '../../src/local/state.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

export const SEEDED_ROWS = 300;

export interface StackFixture {
  db: TestDatabase;
  start(
    options?: Omit<LocalStackOptions, 'server' | 'database' | 'dbUser' | 'stateDir' | 'config'> & {
      usagePlan?: Partial<ReturnType<typeof defaultConfig>['usagePlan']>;
      /** The function's timeout setting, in seconds (default the config's 30). */
      functionTimeoutS?: number;
    },
  ): Promise<LocalStack>;
  stopAll(): Promise<void>;
}

export async function stackFixture(prefix: string): Promise<StackFixture> {
  const db = await createTestDatabase(prefix);
  const stacks: LocalStack[] = [];
  const dirs: string[] = [];
  return {
    db,
    async start(options = {}) {
      const { usagePlan, functionTimeoutS, ...rest } = options;
      const config = defaultConfig();
      config.usagePlan = { ...config.usagePlan, ...usagePlan };
      if (functionTimeoutS !== undefined) config.function.timeout = functionTimeoutS;
      config.logLevel = 'ERROR';
      const stateDir = mkdtempSync(join(tmpdir(), 'local-stack-'));
      dirs.push(stateDir);
      const stack = await startLocalStack({
        config,
        stateDir,
        port: 0,
        server: { host: db.host, port: db.port, user: db.user, password: db.password },
        database: db.database,
        dbUser: `${db.database}_${stacks.length}`,
        rows: SEEDED_ROWS,
        containers: 2,
        // The ingest chain only where a test asks for it (test/ingest): it adds processes and a port.
        ingest: false,
        ...rest,
      });
      stacks.push(stack);
      return stack;
    },
    async stopAll() {
      for (const stack of stacks.splice(0)) await stack.stop();
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
      await db.drop();
    },
  };
}

/** POST a body to the stack's URL; `key: null` sends no key. */
export async function post(url: string, body: unknown, key: string | null, init: { method?: string } = {}) {
  const res = await fetch(url, {
    method: init.method ?? 'POST',
    headers: { 'content-type': 'application/json', ...(key === null ? {} : { 'x-api-key': key }) },
    ...(init.method === 'GET' ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

/**
 * Make `dir` look like a folder where `local up` runs this stack, so `--local` finds it there; the
 * test process stands in for the stack's supervisor. `url` replaces the gateway's URL (a proxy in front
 * of it, for example).
 */
export function writeStateFor(stack: LocalStack, dir: string, url = stack.url): void {
  writeLocalState(
    {
      version: 1,
      startedAt: new Date().toISOString(),
      dir,
      pids: { supervisor: process.pid },
      gateway: { url, host: '127.0.0.1', port: stack.port, stage: stack.stage, resource: stack.resource },
      apiKey: stack.apiKey,
      usagePlan: stack.usagePlan,
      db: stack.db,
    },
    dir,
  );
}
