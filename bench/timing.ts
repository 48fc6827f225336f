/** Small helpers the benchmarks share: percentiles, millisecond formatting, the machine's load. */
import { cpus, loadavg } from 'node:os';

/** The p-th quantile (0..1) of sorted values, nearest rank. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;
}

export const ms = (v: number): string => `${v.toFixed(v < 10 ? 2 : 1)} ms`;

/** "load average 1.20 1.05 0.90 on 2 CPUs": what every figure should be read against. */
export function machineLoad(): string {
  return `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} on ${cpus().length} CPUs`;
}
