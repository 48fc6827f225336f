/**
 * `chatbot-ops cost --requests N`: the monthly cost for a request volume (prices in src/cost/estimate.ts),
 * as a table with every assumption shown (memory and architecture from the config).
 * Reads no AWS: prices are list prices, not the account's bill.
 */
import { describeCommand } from '../cli/catalog.js';
import type { CommandModule } from '../cli/context.js';
import { DEFAULT_ASSUMPTIONS, estimateMonthlyCost, renderCostTable } from '../cost/estimate.js';
import { UsageError } from '../errors.js';

/** "250000", "250k", "1.5M", "2m" → a whole number of requests. */
export function parseRequestCount(text: string, flag = '--requests'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmMbB]?)\s*$/.exec(text.replaceAll(/[,_]/g, ''));
  const scale: Record<string, number> = { '': 1, k: 1e3, m: 1e6, b: 1e9 };
  const n = m ? Math.round(Number(m[1]) * (scale[(m[2] ?? '').toLowerCase()] ?? 1)) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0 || n > 1e12) {
    throw new UsageError(`${flag} must be a number of requests such as 500000, 250k or 2M (got "${text}")`);
  }
  return n;
}

function positive(text: string, flag: string, max: number): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || n > max)
    throw new UsageError(`${flag} must be a number above 0 and at most ${max} (got "${text}")`);
  return n;
}

interface CostFlags {
  requests: string;
  avgDurationMs?: string;
  memory?: string;
  responseBytes?: string;
  logBytes?: string;
}

export const register: CommandModule = (program, run) => {
  program
    .command('cost')
    .description(describeCommand('cost'))
    .option('--requests <n>', 'requests per month (500000, 250k, 2M)', '1M')
    .option(
      '--avg-duration-ms <ms>',
      `average billed duration per invocation (default ${DEFAULT_ASSUMPTIONS.avgDurationMs})`,
    )
    .option('--memory <mb>', 'function memory in MB (default: the config, 256)')
    .option(
      '--response-bytes <n>',
      `average response size sent out (default ${DEFAULT_ASSUMPTIONS.responseBytes})`,
    )
    .option(
      '--log-bytes <n>',
      `CloudWatch Logs bytes per request (default ${DEFAULT_ASSUMPTIONS.logBytesPerRequest})`,
    )
    .action(
      run(async (ctx, flags: CostFlags) => {
        const config = ctx.config();
        const estimate = estimateMonthlyCost({
          requestsPerMonth: parseRequestCount(flags.requests),
          avgDurationMs: flags.avgDurationMs
            ? positive(flags.avgDurationMs, '--avg-duration-ms', 900_000)
            : DEFAULT_ASSUMPTIONS.avgDurationMs,
          memoryMb: flags.memory ? positive(flags.memory, '--memory', 10240) : config.function.memory,
          architecture: config.function.architecture,
          logBytesPerRequest: flags.logBytes
            ? positive(flags.logBytes, '--log-bytes', 262_144)
            : DEFAULT_ASSUMPTIONS.logBytesPerRequest,
          responseBytes: flags.responseBytes
            ? positive(flags.responseBytes, '--response-bytes', 10 * 1024 * 1024)
            : DEFAULT_ASSUMPTIONS.responseBytes,
        });
        if (ctx.ui.json) {
          ctx.ui.result(estimate);
          return 0;
        }
        const a = estimate.assumptions;
        ctx.ui.info(
          ctx.ui.style.bold(
            `Monthly estimate for ${a.requestsPerMonth.toLocaleString('en-US')} requests (USD, list prices)`,
          ),
        );
        for (const line of renderCostTable(estimate)) ctx.ui.info(line);
        ctx.ui.info('');
        ctx.ui.info(
          ctx.ui.style.dim(
            `Assumed: ${a.avgDurationMs} ms per invocation, ${a.memoryMb} MB ${a.architecture}, ${a.logBytesPerRequest} log bytes per request, ` +
              `${a.responseBytes} bytes per response. Change them with --avg-duration-ms, --memory, --log-bytes, --response-bytes.`,
          ),
        );
        ctx.ui.info(
          ctx.ui.style.dim(
            'Not included: the CloudWatch Logs (5 GB) and data transfer (100 GB) free tiers, NAT gateway or VPC endpoints, alarms, Secrets Manager, taxes.',
          ),
        );
        return 0;
      }),
    );
};
