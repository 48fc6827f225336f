/**
 * Contracts with one owner each: the liveness of a recorded pid (src/local/lifecycle.ts), API key
 * values (src/lambda/api-keys.ts), and the function's environment, written by environmentFor for
 * deploy and local up alike and read by the backend's readSettings (src/lambda/settings.ts).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultConfig } from '../src/config.js';
import { generateApiKeyValue, isAcceptedKey } from '../src/lambda/api-keys.js';
import { environmentFor, readSettings } from '../src/lambda/settings.js';
import { isProcessAlive, runningLocalDatabase } from '../src/local/lifecycle.js';
import { type LocalState, writeLocalState } from '../src/local/state.js';

afterEach(() => vi.restoreAllMocks());

const killFails = (code: string) =>
  vi.spyOn(process, 'kill').mockImplementation(() => {
    throw Object.assign(new Error(code), { code });
  });

describe('isProcessAlive', () => {
  it('no pid recorded: not alive', () => {
    expect(isProcessAlive(undefined)).toBe(false);
  });

  it('this process: alive', () => {
    expect(isProcessAlive(process.pid)).toBe(true);
  });

  it('EPERM (a process of another user): alive', () => {
    killFails('EPERM');

    expect(isProcessAlive(4242)).toBe(true);
  });

  it('ESRCH (no such process): not alive', () => {
    killFails('ESRCH');

    expect(isProcessAlive(4242)).toBe(false);
  });

  it('a local stack whose private MariaDB has no recorded pid is not used by the db commands', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'chatbot-liveness-'));
    const state: LocalState = {
      version: 1,
      startedAt: new Date().toISOString(),
      dir: join(cwd, '.chatbot-ops', 'local'),
      pids: { supervisor: process.pid },
      gateway: {
        url: 'http://127.0.0.1:3000/prod/chatbot',
        host: '127.0.0.1',
        port: 3000,
        stage: 'prod',
        resource: 'chatbot',
      },
      apiKey: 'k',
      usagePlan: { rateLimit: 1, burstLimit: 1, quotaLimit: 1, quotaPeriod: 'DAY' },
      db: { host: '127.0.0.1', port: 1, user: 'u', password: 'p', database: 'd', managed: true },
    };
    writeLocalState(state, cwd);

    expect(runningLocalDatabase(cwd)).toBeUndefined();
    writeLocalState({ ...state, pids: { ...state.pids, mariadb: process.pid } }, cwd);
    expect(runningLocalDatabase(cwd)).toEqual(state.db);
  });
});

describe('generateApiKeyValue', () => {
  /** How often the commonest character occurs, relative to a uniform draw over 64 characters. */
  const skew = (values: string[]) => {
    const counts = new Map<string, number>();
    for (const v of values) for (const c of v) counts.set(c, (counts.get(c) ?? 0) + 1);
    const total = values.join('').length;
    return Math.max(...counts.values()) / (total / 64);
  };

  it('gives 40 characters of base64url, never the same twice', () => {
    const values = Array.from({ length: 200 }, generateApiKeyValue);

    expect(new Set(values).size).toBe(200);
    for (const v of values) expect(v).toMatch(/^[A-Za-z0-9_-]{40}$/);
  });

  it('favours no character (a byte modulo 62 would favour eight of them by a quarter)', () => {
    // 80,000 characters: about 1,250 of each; 1.15 times that is five standard deviations away.
    const values = Array.from({ length: 2000 }, generateApiKeyValue);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    const moduloKeys = values.map((v) =>
      [...Buffer.from(v, 'base64url')].map((b) => alphabet[b % alphabet.length]).join(''),
    );

    expect(skew(values)).toBeLessThan(1.15);
    // The same check on the biased mapping fails: it has the power to see the bias.
    expect(skew(moduloKeys) * (62 / 64)).toBeGreaterThan(1.15);
  });
});

describe('environmentFor and readSettings: the function reads what deploy and local up write', () => {
  it('a password login: every variable read back, the key accepted by its hash only', () => {
    const config = defaultConfig();
    config.database.host = 'db.example.internal';

    const env = environmentFor(config, { dbPassword: 'pw', apiKeyValues: ['the-key', 'other-key'] });
    const read = readSettings(env);

    expect(env.API_KEYS).not.toContain('the-key');
    expect(read.ok).toBe(true);
    if (!read.ok) return;
    expect(read.settings.db).toEqual({
      kind: 'env',
      host: 'db.example.internal',
      port: 3306,
      database: 'chatbot_db',
      user: 'app_user',
      password: 'pw',
    });
    expect(isAcceptedKey(['the-key'], read.settings.apiKeyDigests)).toBe(true);
    expect(isAcceptedKey(['a-key-nobody-issued'], read.settings.apiKeyDigests)).toBe(false);
    expect([read.settings.maxPayloadSize, read.settings.maxQueryLimit, read.settings.queryTimeoutMs]).toEqual(
      [config.limits.maxPayloadSize, config.limits.maxQueryLimit, config.limits.queryTimeoutMs],
    );
  });

  it('a Secrets Manager secret: only its ARN, no password variable', () => {
    const config = defaultConfig();
    config.database.secretArn = 'arn:aws:secretsmanager:eu-west-1:1:secret:db';

    const env = environmentFor(config, { dbPassword: undefined, apiKeyValues: ['k'] });

    expect(Object.keys(env)).not.toContain('DB_PASSWORD');
    expect(readSettings(env)).toMatchObject({ ok: true, settings: { db: { kind: 'secret' } } });
  });

  it('siteHosts: SITE_HOSTS only when set, read back lower-case; a malformed one refused by name', () => {
    const config = defaultConfig();
    config.database.host = 'db.example.internal';
    expect(Object.keys(environmentFor(config, { dbPassword: 'pw', apiKeyValues: ['k'] }))).not.toContain(
      'SITE_HOSTS',
    );

    config.siteHosts = ['Example.org', 'www.example.org'];
    const env = environmentFor(config, { dbPassword: 'pw', apiKeyValues: ['k'] });

    expect(env.SITE_HOSTS).toBe('Example.org,www.example.org');
    expect(readSettings(env)).toMatchObject({
      ok: true,
      settings: { siteHosts: ['example.org', 'www.example.org'] },
    });
    expect(readSettings({ ...env, SITE_HOSTS: 'example.org, https://x/' })).toEqual({
      ok: false,
      problems: ['SITE_HOSTS must be host names separated by commas, such as example.com,www.example.com'],
      logLevel: 'INFO',
    });
  });
});
