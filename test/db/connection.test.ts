import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type GlobalOptions, makeContext } from '../../src/cli/context.js';
import { recordingUi } from '../../src/cli/ui.js';
import { type DbTarget, describeDbTarget, resolveDbTarget } from '../../src/db/connection.js';
import { runningLocalDatabase } from '../../src/local/lifecycle.js';
import { type LocalState, writeLocalState } from '../../src/local/state.js';
import { scratchDir } from './db-cli.js';

const ENV = ['DB_HOST', 'DB_PORT', 'DB_USER', 'DB_PASSWORD', 'DB_NAME', 'DB_SSL', 'RDS_PASS'] as const;

function context(config: unknown = {}) {
  const file = join(scratchDir(), 'config.json');
  writeFileSync(file, JSON.stringify(config));
  const options: GlobalOptions = { config: file, json: false, yes: false, verbose: false };
  return makeContext(options, recordingUi(), {});
}

/**
 * A folder with a local stack's state file (its database "managed" by a live process: this one),
 * with the writer login the stack keeps unless `writer` is false (a state from before it existed).
 */
function localStackDir({ writer = true } = {}): string {
  const cwd = scratchDir();
  const state: LocalState = {
    version: 1,
    startedAt: new Date().toISOString(),
    dir: join(cwd, '.chatbot-ops', 'local'),
    pids: { mariadb: process.pid },
    gateway: {
      url: 'http://127.0.0.1:3000/prod/chatbot',
      host: '127.0.0.1',
      port: 3000,
      stage: 'prod',
      resource: 'chatbot',
    },
    apiKey: 'k',
    usagePlan: { rateLimit: 100, burstLimit: 200, quotaLimit: 100000, quotaPeriod: 'MONTH' },
    db: {
      host: '127.0.0.1',
      port: 40001,
      user: 'chatbot',
      password: 'local-secret',
      ...(writer ? { writer: { user: 'chatbot_writer', password: 'writer-secret' } } : {}),
      database: 'chatbot_local',
      managed: true,
    },
  };
  writeLocalState(state, cwd);
  return cwd;
}

describe('resolveDbTarget', () => {
  const saved: Record<string, string | undefined> = {};
  beforeEach(() => {
    for (const k of ENV) {
      saved[k] = process.env[k];
      delete process.env[k];
    }
  });
  afterEach(() => {
    for (const k of ENV) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it('takes flags first, the password only from the environment, TLS on for a remote host', () => {
    // Prepare
    Object.assign(process.env, { DB_HOST: 'env-host', DB_USER: 'env-user', DB_PASSWORD: 'pw-from-env' });

    // Act
    const target = resolveDbTarget(
      context(),
      {
        dbHost: 'db.example.com',
        dbPort: '3307',
        dbUser: 'flag-user',
        dbName: 'flag_db',
      },
      { localDb: runningLocalDatabase(localStackDir()) },
    );

    // Assess
    expect(target).toEqual<DbTarget>({
      host: 'db.example.com',
      port: 3307,
      user: 'flag-user',
      password: 'pw-from-env',
      database: 'flag_db',
      ssl: true,
      source: 'flags',
    });
  });

  it('uses DB_* when there are no flags, before the local stack', () => {
    // Prepare
    Object.assign(process.env, {
      DB_HOST: '127.0.0.1',
      DB_PORT: '3310',
      DB_USER: 'u',
      DB_PASSWORD: 'p',
      DB_NAME: 'n',
    });

    // Act
    const target = resolveDbTarget(context(), {}, { localDb: runningLocalDatabase(localStackDir()) });

    // Assess
    expect(target).toEqual<DbTarget>({
      host: '127.0.0.1',
      port: 3310,
      user: 'u',
      password: 'p',
      database: 'n',
      ssl: false,
      source: 'env',
    });
  });

  it("uses the running local stack's writer login, never the function's, when nothing is given", () => {
    // Act
    const target = resolveDbTarget(
      context({ database: { host: 'config-host' } }),
      {},
      { localDb: runningLocalDatabase(localStackDir()) },
    );

    // Assess
    expect(target).toEqual<DbTarget>({
      host: '127.0.0.1',
      port: 40001,
      user: 'chatbot_writer',
      password: 'writer-secret',
      database: 'chatbot_local',
      ssl: false,
      source: 'local',
    });
  });

  it('uses the login a local state from before the writer holds', () => {
    // Act
    const target = resolveDbTarget(
      context(),
      {},
      { localDb: runningLocalDatabase(localStackDir({ writer: false })) },
    );

    // Assess
    expect(target).toMatchObject({ user: 'chatbot', password: 'local-secret', source: 'local' });
  });

  it('falls back to the config, with the password from the variable it names', () => {
    // Prepare
    process.env.RDS_PASS = 'named-secret';

    // Act
    const target = resolveDbTarget(
      context({
        database: {
          host: 'mydb.abc.us-east-1.rds.amazonaws.com',
          user: 'app',
          name: 'logs',
          passwordEnv: 'RDS_PASS',
        },
      }),
      {},
      { localDb: runningLocalDatabase(scratchDir()) },
    );

    // Assess
    expect(target).toEqual<DbTarget>({
      host: 'mydb.abc.us-east-1.rds.amazonaws.com',
      port: 3306,
      user: 'app',
      password: 'named-secret',
      database: 'logs',
      ssl: true,
      source: 'config',
    });
    expect(describeDbTarget(target)).toBe('app@mydb.abc.us-east-1.rds.amazonaws.com:3306/logs');
  });

  it.each([
    ['false', false],
    ['0', false],
    ['true', true],
  ])('DB_SSL=%s turns TLS %s', (value, ssl) => {
    // Prepare
    Object.assign(process.env, { DB_HOST: 'db.example.com', DB_SSL: value });

    // Act
    const target = resolveDbTarget(context(), {}, { localDb: runningLocalDatabase(scratchDir()) });

    // Assess
    expect(target.ssl).toBe(ssl);
  });

  it.each<[string, Record<string, string>, Record<string, string>, RegExp]>([
    ['no target at all', {}, {}, /no database to connect to/],
    ['a bad port flag', { dbHost: 'h', dbPort: '99999' }, {}, /--db-port must be a port number/],
    ['a bad DB_PORT', {}, { DB_HOST: 'h', DB_PORT: 'abc' }, /DB_PORT must be a port number/],
    ['a bad DB_SSL', {}, { DB_HOST: 'h', DB_SSL: 'maybe' }, /DB_SSL must be true or false/],
  ])('refuses %s with a usage error', (_name, flags, env, message) => {
    // Prepare
    Object.assign(process.env, env);

    // Act
    const act = () => resolveDbTarget(context(), flags, { localDb: runningLocalDatabase(scratchDir()) });

    // Assess
    expect(act).toThrow(message);
  });
});
