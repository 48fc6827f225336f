/**
 * The tools our benchmarks measure against, installed on first use and never as project
 * dependencies:
 * - GoAccess, the field's standard access-log analyser, from Debian's packages (apt-get, as root);
 * - the Serverless Framework v3 with serverless-offline, the usual way to run a Lambda behind a
 *   local API Gateway, from the npm registry into bench/.peers/ (ignored by git, by the type check
 *   and by the linter).
 * A peer that cannot be installed is skipped with a line saying why, never silently.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PEERS_DIR = fileURLToPath(new URL('../.peers/', import.meta.url));

/** Pinned majors: serverless-offline 13 is the line that supports the Serverless Framework v3. */
const SERVERLESS_PACKAGES = ['serverless@3', 'serverless-offline@13'];

export type Peer<T> = { ok: true; value: T } | { ok: false; why: string };

function which(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function lastLines(text: string, n = 3): string {
  return text.trim().split('\n').slice(-n).join(' | ');
}

/** The goaccess binary and its version, installing Debian's package when missing. */
export function ensureGoAccess(): Peer<{ bin: string; version: string }> {
  let bin = which('goaccess');
  if (!bin) {
    if (process.getuid?.() !== 0)
      return { ok: false, why: 'goaccess is not installed and this is not root (apt-get install goaccess)' };
    if (!which('apt-get'))
      return { ok: false, why: 'goaccess is not installed and apt-get is not available' };
    console.log('peers: installing goaccess from Debian packages (apt-get)...');
    const update = spawnSync('apt-get', ['update', '-qq'], { encoding: 'utf8', timeout: 300_000 });
    const install = spawnSync('apt-get', ['install', '-y', '-qq', 'goaccess'], {
      encoding: 'utf8',
      timeout: 600_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (install.status !== 0)
      return {
        ok: false,
        why: `apt-get install goaccess failed: ${lastLines(`${update.stderr}\n${install.stderr}`)}`,
      };
    bin = which('goaccess');
    if (!bin) return { ok: false, why: 'apt-get installed goaccess but it is not on PATH' };
  }
  const v = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  const version = /GoAccess - ([\d.]+)/.exec(v.stdout)?.[1] ?? 'unknown version';
  return { ok: true, value: { bin, version } };
}

/** The serverless CLI's entry script and the installed versions, installing them into bench/.peers/ once. */
export function ensureServerlessOffline(): Peer<{ cli: string; versions: string }> {
  const cli = join(PEERS_DIR, 'node_modules/serverless/bin/serverless.js');
  const offline = join(PEERS_DIR, 'node_modules/serverless-offline/package.json');
  if (!existsSync(cli) || !existsSync(offline)) {
    mkdirSync(PEERS_DIR, { recursive: true });
    const pkg = join(PEERS_DIR, 'package.json');
    if (!existsSync(pkg))
      writeFileSync(
        pkg,
        `${JSON.stringify({ name: 'chatbot-ops-bench-peers', private: true, description: 'Benchmark peers, not project dependencies' }, null, 2)}\n`,
      );
    console.log(`peers: installing ${SERVERLESS_PACKAGES.join(' and ')} into bench/.peers/ (npm, once)...`);
    const r = spawnSync(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        '--prefix',
        PEERS_DIR,
        ...SERVERLESS_PACKAGES,
      ],
      { encoding: 'utf8', timeout: 900_000 },
    );
    if (r.status !== 0 || !existsSync(cli))
      return {
        ok: false,
        why: `npm install ${SERVERLESS_PACKAGES.join(' ')} failed: ${lastLines(r.stderr || r.stdout)}`,
      };
  }
  const version = (name: string) => {
    const r = spawnSync(
      process.execPath,
      ['-p', `require(${JSON.stringify(join(PEERS_DIR, 'node_modules', name, 'package.json'))}).version`],
      {
        encoding: 'utf8',
      },
    );
    return r.stdout.trim();
  };
  return {
    ok: true,
    value: {
      cli,
      versions: `serverless ${version('serverless')}, serverless-offline ${version('serverless-offline')}`,
    },
  };
}
