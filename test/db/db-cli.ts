/**
 * Running `chatbot-ops db ...` through the real parser against the test server: DB_* point at
 * it for the duration of the call (and are restored after), the config is an empty file so a
 * stray chatbot-ops.config.json in the working folder cannot change the outcome.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { recordingUi } from '../../src/cli/ui.js';
import { testServer } from '../support/database.js';

export const scratchDir = (): string => mkdtempSync(join(tmpdir(), 'chatbot-ops-db-test-'));

const emptyConfig = (() => {
  let file: string | undefined;
  return () => {
    if (!file) {
      file = join(scratchDir(), 'config.json');
      writeFileSync(file, '{}\n');
    }
    return file;
  };
})();

const DB_ENV = ['DB_HOST', 'DB_PORT', 'DB_USER', 'DB_PASSWORD', 'DB_NAME', 'DB_SSL'] as const;

/** Run the env-changing body with DB_* set for `database` (overrides win), then put the environment back. */
export async function withDbEnv<T>(
  database: string,
  body: () => Promise<T>,
  overrides: Partial<Record<(typeof DB_ENV)[number], string | undefined>> = {},
): Promise<T> {
  const server = testServer();
  const saved = Object.fromEntries(DB_ENV.map((k) => [k, process.env[k]]));
  const wanted: Record<string, string | undefined> = {
    DB_HOST: server.host,
    DB_PORT: String(server.port),
    DB_USER: server.user,
    DB_PASSWORD: server.password,
    DB_NAME: database,
    DB_SSL: undefined,
    ...overrides,
  };
  for (const [k, v] of Object.entries(wanted)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return await body();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** `chatbot-ops [--json] db <args>` on the test server's `database`. */
export async function runDb(
  database: string,
  args: string[],
  options: { json?: boolean; env?: Parameters<typeof withDbEnv>[2]; config?: string } = {},
) {
  const ui = recordingUi({ json: options.json ?? false });
  const argv = [
    'node',
    'chatbot-ops',
    '--config',
    options.config ?? emptyConfig(),
    ...(options.json ? ['--json'] : []),
    'db',
    ...args,
  ];
  const code = await withDbEnv(database, () => main(argv, { ui }), options.env);
  return { code, ui, out: ui.out.join('\n'), err: ui.err.join('\n'), result: ui.results[0] };
}
