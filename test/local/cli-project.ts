/**
 * A project folder for tests that drive `chatbot-ops local ...` through the real CLI in its own
 * process, and what they need to see the processes it leaves.
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli-process.js';

export interface CliProject {
  dir: string;
  /** `chatbot-ops <args>` run in the folder, never reaching a DB_HOST the caller set. */
  cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Kill whatever a failed assertion left running there, and remove the folder. */
  remove(): void;
}

export function cliProject(prefix: string): CliProject {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  // Run as root, the private MariaDB runs as the mysql user, which must pass through this folder.
  chmodSync(dir, 0o711);
  return {
    dir,
    cli: (...args) => runCli(args, { cwd: dir, env: { DB_HOST: '' }, timeoutMs: 240_000 }),
    remove() {
      for (const pid of processesUsing(dir)) {
        try {
          process.kill(pid, 'SIGCONT');
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every process whose command line or working folder is inside `dir`. */
export function processesUsing(dir: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const where = readlinkSync(`/proc/${entry}/cwd`);
      if (cmdline.includes(dir) || where.startsWith(dir)) found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

export async function waitUntil(condition: () => boolean | Promise<boolean>, ms = 15_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return condition();
}
