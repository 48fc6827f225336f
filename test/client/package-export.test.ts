/**
 * `import { ChatbotClient } from 'chatbot-ops/client'` as a program that installed the package does it:
 * the client compiled with the package's own build settings (tsconfig.build.json), package.json's
 * "exports" and "files" resolving it, plain Node running it, and TypeScript type-checking a consumer.
 */
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiStandIn, startApiStandIn } from '../invoke/api-stand-in.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const KEY = 'consumer-key-0123456789';

let dir: string;
let pkg: string;
let consumer: string;
let standIn: ApiStandIn;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'client-package-'));
  pkg = join(dir, 'chatbot-ops');
  consumer = join(dir, 'consumer');
  // The package: its package.json, and the client compiled as `npm run build` compiles it (the build
  // config extended, only the output folder moved), so the test never reads a stale build/.
  mkdirSync(pkg);
  copyFileSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  writeFileSync(
    join(dir, 'tsconfig.client.json'),
    JSON.stringify({
      extends: join(ROOT, 'tsconfig.build.json'),
      compilerOptions: {
        rootDir: join(ROOT, 'src'),
        outDir: join(pkg, 'build'),
        typeRoots: [join(ROOT, 'node_modules/@types')],
      },
      files: [join(ROOT, 'src/client/index.ts')],
      include: [],
    }),
  );
  await run(process.execPath, [TSC, '-p', join(dir, 'tsconfig.client.json')]);
  // The consumer: the package installed under node_modules.
  mkdirSync(join(consumer, 'node_modules'), { recursive: true });
  symlinkSync(pkg, join(consumer, 'node_modules/chatbot-ops'), 'dir');
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', type: 'module', private: true }),
  );
  standIn = await startApiStandIn('consumerapi', KEY);
}, 180_000);

afterAll(async () => {
  await standIn?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the package's chatbot-ops/client export", () => {
  it('holds the client alone: nothing of the CLI, AWS or the backend comes with it', () => {
    const built = readdirSync(join(pkg, 'build'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.js') || f.endsWith('.d.ts'))
      .sort();

    expect(built).toEqual(
      [
        'client/api-client.d.ts',
        'client/api-client.js',
        'client/body-text.d.ts',
        'client/body-text.js',
        'client/chatbot-client.d.ts',
        'client/chatbot-client.js',
        'client/index.d.ts',
        'client/index.js',
        'client/intent-types.d.ts',
        'client/intent-types.js',
      ].sort(),
    );
  });

  it('is in what npm packs (package.json "files")', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: pkg });
    const [packed] = JSON.parse(stdout) as { files: { path: string }[] }[];

    const paths = packed?.files.map((f) => f.path) ?? [];
    expect(paths).toEqual(
      expect.arrayContaining(['build/client/index.js', 'build/client/index.d.ts', 'package.json']),
    );
  });

  it('imports and calls the API from plain Node, the key from CHATBOT_API_KEY', async () => {
    writeFileSync(
      join(consumer, 'main.mjs'),
      `import { ChatbotClient, ChatbotApiError } from 'chatbot-ops/client';
const client = new ChatbotClient();
const health = await client.health();
const page = await client.getAccessLogs({ ip_address: '192.168.1.1', limit: 2 });
const failure = await client.call('no_such_intent').catch((e) => e);
console.log(JSON.stringify({ health: health.status, first: page.logs[0].ip_address,
  error: failure instanceof ChatbotApiError ? [failure.status, failure.errorCode, failure.requestId] : String(failure) }));
`,
    );

    const { stdout } = await run(process.execPath, ['main.mjs'], {
      cwd: consumer,
      env: { ...process.env, CHATBOT_API_URL: standIn.url, CHATBOT_API_KEY: KEY },
    });

    expect(JSON.parse(stdout)).toEqual({
      health: 'ok',
      first: '192.168.1.1',
      error: [400, 'UNKNOWN_INTENT', '7c0ffee0-0000-4000-8000-000000000001'],
    });
    expect(standIn.seen.map((r) => r.headers['x-api-key'])).toEqual([KEY, KEY, KEY]);
  });

  it('carries its types: a consumer type-checks, and a call missing a required param does not', async () => {
    writeFileSync(
      join(consumer, 'good.ts'),
      `import { ChatbotClient, ChatbotApiError, type LogEntry } from 'chatbot-ops/client';
const client = new ChatbotClient({ url: 'http://127.0.0.1:3000/prod/chatbot', apiKey: 'k', timeoutMs: 5000, retries: 3 });
export async function errorsFrom(ip: string): Promise<number> {
  let errors = 0;
  for await (const entry of client.accessLogs({ ip_address: ip, hours: 24 })) {
    const e: LogEntry = entry;
    if (e.status_code >= 400) errors++;
  }
  const summary = await client.getTrafficSummary({ hours: 24 });
  const rate: number = summary.error_rate;
  const activity = await client.getIpActivity({ ip_address: ip });
  const methods: Record<string, number> = activity.methods;
  try { await client.health(); } catch (err) { if (err instanceof ChatbotApiError) return err.status + err.errorCode.length; }
  return errors + rate + Object.keys(methods).length;
}
`,
    );
    writeFileSync(
      join(consumer, 'bad.ts'),
      `import { ChatbotClient } from 'chatbot-ops/client';
export const missing = new ChatbotClient().getIpActivity({ hours: 1 });
`,
    );
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          strict: true,
          noEmit: true,
          typeRoots: [join(ROOT, 'node_modules/@types')],
          types: ['node'],
        },
        files: ['good.ts', 'bad.ts'],
      }),
    );

    const result = await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: consumer }).then(
      () => ({ code: 0, stdout: '' }),
      (err: { code: number; stdout: string }) => err,
    );

    const errors = result.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
    expect(result.code).not.toBe(0);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^bad\.ts\(2,\d+\): error TS2345: .*'IpActivityParams'/);
    expect(result.stdout).toContain("Property 'ip_address' is missing");
  }, 120_000);
});
