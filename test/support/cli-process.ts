/**
 * The real CLI in its own process, run from source through tsx: for tests that need what only a
 * process has (standard input, signals, a working folder, exit codes).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(new URL('./cli-entry.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

export interface CliProcess {
  child: ChildProcess;
  /** Everything written so far (complete once `exited` resolves). */
  output: { stdout: string; stderr: string };
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The command line that runs `chatbot-ops <args>` from source, for spawners of its own (the MCP SDK's). */
export function cliCommandLine(args: string[]): { command: string; args: string[] } {
  return { command: process.execPath, args: ['--import', TSX, ENTRY, ...args] };
}

/** Start `chatbot-ops <args>`; with `stdin: 'pipe'` the test writes its standard input. */
export function spawnCli(
  args: string[],
  options: {
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    stdin?: 'pipe' | 'ignore';
    detached?: boolean;
    /** Kill it (SIGTERM) after this long, so a hung CLI cannot outlive the test. */
    timeoutMs?: number;
  } = {},
): CliProcess {
  const line = cliCommandLine(args);
  const child = spawn(line.command, line.args, {
    ...(options.cwd ? { cwd: options.cwd } : {}),
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    detached: options.detached ?? false,
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
    ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
  });
  const output = { stdout: '', stderr: '' };
  child.stdout?.setEncoding('utf8').on('data', (c: string) => {
    output.stdout += c;
  });
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    output.stderr += c;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, output, exited };
}

/** Run `chatbot-ops <args>` to the end. */
export async function runCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const run = spawnCli(args, options);
  const { code } = await run.exited;
  return { code: code ?? 1, ...run.output };
}
