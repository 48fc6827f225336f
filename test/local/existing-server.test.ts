/**
 * `local up` against a server the user named (DB_HOST): the stack must not destroy data it did not
 * create. `--rows` (which reseeds) is refused without --yes, before anything starts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { invokedAs } from '../../src/cli/invoked-as.js';
import { main } from '../../src/cli/main.js';
import { recordingUi } from '../../src/cli/ui.js';
import { freePort } from '../../src/db/server.js';

let dir: string;
const saved = { cwd: process.cwd(), host: process.env.DB_HOST, port: process.env.DB_PORT };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'local-existing-'));
  process.chdir(dir);
  // Nothing needs to listen there: the refusal comes before any connection.
  process.env.DB_HOST = '127.0.0.1';
  process.env.DB_PORT = '3306';
});

afterEach(() => {
  process.chdir(saved.cwd);
  for (const [key, value] of [
    ['DB_HOST', saved.host],
    ['DB_PORT', saved.port],
  ] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('local up on an existing server', () => {
  it('refuses --rows without --yes, naming the server, and starts nothing', async () => {
    const ui = recordingUi();
    const port = await freePort();

    const code = await main(['node', 'chatbot-ops', 'local', 'up', '--rows', '10', '--port', String(port)], {
      ui,
    });

    expect(code).toBe(1);
    expect(ui.err.join('\n')).toMatch(
      /--rows would replace every row of access_logs on 127\.0\.0\.1:3306, a server local up did not start/,
    );
    expect(ui.err.join('\n')).toMatch(/Add --yes/);
    expect(ui.err.some((line) => line.includes('Starting the local stack'))).toBe(false);
  });
});

describe('local up without MariaDB', () => {
  it('says how to install it or where to point DB_HOST, and starts nothing', async () => {
    delete process.env.DB_HOST;
    process.env.MARIADB_BIN_DIR = dir; // an empty folder: no mariadbd there
    const ui = recordingUi();
    const port = await freePort();

    let code: number;
    try {
      code = await main(['node', 'chatbot-ops', 'local', 'up', '--port', String(port)], { ui });
    } finally {
      delete process.env.MARIADB_BIN_DIR;
    }

    expect(code).toBe(1);
    const err = ui.err.join('\n');
    expect(err).toContain(`mariadbd (the MariaDB server) was not found in MARIADB_BIN_DIR (${dir})`);
    expect(err).toMatch(/apt-get install -y mariadb-server/);
    expect(err).toMatch(/DB_HOST, DB_PORT, DB_USER and DB_PASSWORD/);
  });
});

describe('the commands local up prints', () => {
  it.each([
    ['/usr/local/bin/chatbot-ops', '/home/me', 'chatbot-ops'],
    ['/home/me/chatbot-ops/bin/chatbot-ops.js', '/home/me/chatbot-ops', './bin/chatbot-ops.js'],
    ['/opt/chatbot-ops/bin/chatbot-ops.js', '/home/me', '/opt/chatbot-ops/bin/chatbot-ops.js'],
    ['/work/test/support/cli-entry.ts', '/work', 'chatbot-ops'],
  ])('run as %s from %s: %s', (script, cwd, expected) => {
    expect(invokedAs(script, cwd)).toBe(expected);
  });
});
