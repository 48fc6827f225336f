/**
 * `chatbot-ops --help` start-up (target: under 0.4 s). The compiled CLI (build/, as `npm ci` leaves
 * it) run as a user runs it, in a child process timed by /usr/bin/time: wall time, and the CPU time
 * (user + system), which a loaded machine inflates far less than wall time. Beside it, `node -e 0`
 * (Node's own start-up) and `deploy --help` (which loads the deploy steps and the AWS SDK) for scale.
 * Median of RUNS runs each, interleaved.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RUNS = 15;

interface Timed {
  wallMs: number;
  cpuMs: number;
}

function timeOnce(args: string[]): Timed {
  const out = spawnSync('/usr/bin/time', ['-f', '%e %U %S', process.execPath, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (out.status !== 0) throw new Error(`${args.join(' ')} failed: ${out.stderr}`);
  const [wall, user, sys] = (out.stderr.trim().split('\n').at(-1) ?? '').split(' ').map(Number);
  return { wallMs: (wall ?? 0) * 1000, cpuMs: ((user ?? 0) + (sys ?? 0)) * 1000 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

export async function run(): Promise<void> {
  if (!existsSync('/usr/bin/time') || !existsSync(`${ROOT}build/cli/main.js`)) {
    console.log('skipped: needs /usr/bin/time and build/ (npm run build)');
    return;
  }
  const cases: [string, string[]][] = [
    ['node -e 0', ['-e', '0']],
    ['chatbot-ops --help', ['bin/chatbot-ops.js', '--help']],
    ['chatbot-ops --version', ['bin/chatbot-ops.js', '--version']],
    ['chatbot-ops deploy --help', ['bin/chatbot-ops.js', 'deploy', '--help']],
  ];
  const before = loadavg()[0] ?? 0;
  const samples = new Map<string, Timed[]>(cases.map(([name]) => [name, []]));
  for (let i = 0; i < RUNS; i++) for (const [name, args] of cases) samples.get(name)?.push(timeOnce(args));
  const after = loadavg()[0] ?? 0;
  console.log(
    `load average (1 min): ${before.toFixed(1)} before, ${after.toFixed(1)} after; median of ${RUNS} runs`,
  );
  for (const [name, runs] of samples)
    console.log(
      `  ${name.padEnd(28)} wall ${median(runs.map((r) => r.wallMs))
        .toFixed(0)
        .padStart(5)} ms   cpu ${median(runs.map((r) => r.cpuMs))
        .toFixed(0)
        .padStart(5)} ms`,
    );
}
