/**
 * `chatbot-ops doctor`: every Troubleshooting and Security Checklist item (docs/operate.md maps each to
 * its check) as a check against the deployment (or, with --local, the local stack), each pass / warn /
 * fail / unknown / skip with its evidence and fix. Exit 1 when any check fails (with --strict also
 * when one could not run). Secrets are never shown: the password's presence, never its value; key
 * values never.
 */
import { describeCommand } from '../cli/catalog.js';
import type { CommandModule, Context } from '../cli/context.js';
import { AWS_CHECKS } from '../doctor/aws-checks.js';
import { createAwsFacts } from '../doctor/aws-facts.js';
import { type CheckResult, exitCodeOf, runChecks } from '../doctor/engine.js';
import { createLocalFacts, LOCAL_CHECKS } from '../doctor/local-checks.js';
import { renderReport, reportDocument } from '../doctor/report.js';
import { UsageError } from '../errors.js';

interface DoctorFlags {
  local?: boolean;
  offline?: boolean;
  apiUrl?: string;
  strict?: boolean;
}

/** Run the AWS checks. */
export async function runAwsDoctor(ctx: Context, flags: DoctorFlags): Promise<CheckResult[]> {
  const aws = ctx.aws();
  const endpointUrl = aws.endpointUrl;
  const facts = createAwsFacts({
    config: ctx.config(),
    aws,
    ...(endpointUrl ? { endpointUrl } : {}),
    ...(flags.apiUrl ? { apiUrl: flags.apiUrl } : {}),
    offline: Boolean(flags.offline),
  });
  return runChecks(AWS_CHECKS, facts, { secrets: facts.secrets });
}

export async function runLocalDoctor(ctx: Context): Promise<CheckResult[]> {
  const facts = createLocalFacts({ config: ctx.config() });
  return runChecks(LOCAL_CHECKS, facts, { secrets: facts.secrets });
}

export const register: CommandModule = (program, run) => {
  program
    .command('doctor')
    .description(describeCommand('doctor'))
    .option('--local', 'check the local stack instead of AWS', false)
    .option('--offline', 'no live calls: skip the health invocation and the API calls', false)
    .option('--api-url <url>', 'send the live API calls here (a custom domain) instead of the invoke URL')
    .option('--strict', 'exit 1 also when a check could not run (unknown), not only when one fails', false)
    .action(
      run(async (ctx, flags: DoctorFlags) => {
        if (flags.local && (flags.offline || flags.apiUrl)) {
          throw new UsageError('--offline and --api-url apply to the AWS checks, not to --local');
        }
        const spinner = ctx.ui.spinner(flags.local ? 'checking the local stack' : 'checking the deployment');
        let results: CheckResult[];
        try {
          results = flags.local ? await runLocalDoctor(ctx) : await runAwsDoctor(ctx, flags);
        } finally {
          spinner.stop();
        }
        if (ctx.ui.json) ctx.ui.result(reportDocument(results, { target: flags.local ? 'local' : 'aws' }));
        else for (const line of renderReport(results, ctx.ui.style)) ctx.ui.info(line);
        return exitCodeOf(results, { strict: Boolean(flags.strict) });
      }),
    );
};
