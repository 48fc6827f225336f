/**
 * `deploy` and the guide's steps one by one: `create-role` (step 2), `configure-vpc` (step 4),
 * `create-function` (step 3), `create-api` (step 5), `create-usage-plan` (step 6), `alarms`
 * (step 8). Each validates its input, reads what AWS has, plans (create / update / unchanged per
 * resource), asks, applies with a spinner per step, and reports. `deploy` runs them all as one
 * plan and ends with a smoke test. All share the runner below, so they behave alike.
 */
import type { Command } from 'commander';
import { invokeUrl } from '../aws/apigateway.js';
import { resolveAwsSession } from '../aws/sts.js';
import type { CommandModule, Context } from '../cli/context.js';
import { type LoadedCode, loadFunctionCode } from '../deploy/code.js';
import { applyPlan, readAndPlan } from '../deploy/deploy.js';
import { databasePassword } from '../deploy/function.js';
import { askForMissingSettings } from '../deploy/interactive.js';
import { formatPlan, hasChanges, isPending, STEPS, type StepName, summarizePlan } from '../deploy/plan.js';
import { runSmokeTest, type SmokeResult } from '../deploy/smoke-test.js';
import { deployTiming } from '../deploy/step-env.js';
import { generateApiKeyValue } from '../deploy/usage-plan.js';
import { UsageError, UserError } from '../errors.js';

interface DeployFlags {
  dryRun?: boolean;
  interactive?: boolean;
  zip?: string;
  showKey?: boolean;
  smokeTest?: boolean;
  redeploy?: boolean;
}

async function runSteps(ctx: Context, steps: StepName[], flags: DeployFlags): Promise<number> {
  const { ui } = ctx;
  if (ui.json && !ctx.options.yes && !flags.dryRun) {
    throw new UsageError(
      '--json cannot ask for confirmation',
      'Add --yes to apply, or --dry-run to only see the plan.',
    );
  }
  let promptedPassword: string | undefined;
  if (flags.interactive) promptedPassword = (await askForMissingSettings(ctx)).dbPassword;
  const config = ctx.config();
  const aws = ctx.aws();
  const session = await resolveAwsSession(aws);
  ui.debug(`account ${session.account} (${session.callerArn}), region ${session.region}`);

  const withFunction = steps.includes('function');
  const dbPassword = withFunction ? (promptedPassword ?? databasePassword(config, !flags.dryRun)) : undefined;
  let code: LoadedCode | undefined;
  if (withFunction) {
    const spinner = ui.spinner(flags.zip ? `Reading ${flags.zip}` : 'Packaging src/lambda');
    code = await loadFunctionCode(flags.zip);
    spinner.succeed(
      `Package ${code.source}: ${(code.sizeBytes / 1024).toFixed(0)} KiB, SHA-256 ${code.sha256Base64}`,
    );
  }
  // A new key is only made by the usage-plan step; without it the function must not expect one.
  const inputs = {
    config,
    code,
    dbPassword,
    newKeyValue: steps.includes('usage-plan') ? generateApiKeyValue() : '',
    redeployStage: flags.redeploy === true,
  };
  const plan = await readAndPlan({ aws, session }, inputs, steps);

  ui.info(`Plan for account ${session.account} in ${session.region}:`);
  for (const line of formatPlan(plan.items)) ui.info(line);
  ui.info(summarizePlan(plan.items));
  for (const w of plan.warnings) ui.warn(w);
  const summary = {
    account: session.account,
    region: session.region,
    plan: plan.items,
    warnings: plan.warnings,
  };

  if (flags.dryRun) {
    ui.info('Dry run: nothing was changed.');
    ui.result({ ...summary, dryRun: true, applied: false });
    return 0;
  }
  const changes = hasChanges(plan.items);
  if (changes && !ctx.options.yes && !(await ui.prompt.confirm('Apply these changes?', false))) {
    ui.info('Nothing was changed.');
    ui.result({ ...summary, applied: false, cancelled: true });
    return 1;
  }

  const result = await applyPlan(aws, session, deployTiming(), inputs, plan, {
    onStep: (step) => {
      const spinner = ui.spinner(`${step.title} (${step.command})`);
      return {
        progress: (text) => spinner.text(`${step.title}: ${text}`),
        done: (ok) =>
          ok
            ? spinner.succeed(`${step.title} (${step.command})`)
            : spinner.fail(`${step.title} (${step.command})`),
      };
    },
  });
  if (!changes) ui.info('Everything is already in place: nothing changed.');
  const keyCreated = plan.items.some((i) => i.kind === 'API key' && i.action === 'create');
  if (keyCreated && !steps.includes('function')) {
    ui.warn(
      "the new API key is not in the function's API_KEYS yet: run `chatbot-ops create-function` (or `deploy`) so the function accepts it",
    );
  }

  const url =
    !isPending(result.refs.apiId) && (steps.includes('api') || steps.includes('usage-plan'))
      ? invokeUrl({
          apiId: result.refs.apiId,
          region: session.region,
          stage: config.api.stage,
          resource: config.api.resource,
          // --endpoint-url or AWS_ENDPOINT_URL: the emulator serves the API at its own address.
          ...(aws.endpointUrl ? { endpointUrl: aws.endpointUrl } : {}),
        })
      : undefined;

  let smoke: SmokeResult | undefined;
  if (steps.length === STEPS.length && flags.smokeTest !== false && url && result.apiKeyValue) {
    const spinner = ui.spinner('Smoke test: health, directly and through the API');
    smoke = await runSmokeTest(
      aws,
      { functionName: config.function.name, url, apiKey: result.apiKeyValue },
      deployTiming().clock,
    );
    const ok = smoke.direct.ok && smoke.api.ok;
    if (ok)
      spinner.succeed(`Smoke test passed (direct: ${smoke.direct.detail}; API: HTTP ${smoke.api.status})`);
    else spinner.fail(`Smoke test failed (direct: ${smoke.direct.detail}; API: ${smoke.api.detail})`);
  }

  if (url) ui.info(`Invoke URL: ${url}`);
  if (flags.showKey && result.apiKeyValue)
    ui.info(`API key (${config.usagePlan.keyName}): ${result.apiKeyValue}`);
  if (steps.length === STEPS.length) {
    ui.info('Next:');
    ui.info(
      '  chatbot-ops invoke get_traffic_summary     ask the deployed API (the key is read from API Gateway)',
    );
    ui.info(
      "  chatbot-ops doctor                         check everything the guide's troubleshooting lists",
    );
    if (!flags.showKey)
      ui.info(
        '  chatbot-ops deploy --show-key              print the API key for your chatbot (keep it secret)',
      );
  }
  ui.result({
    ...summary,
    applied: true,
    ...(url ? { url } : {}),
    ...(flags.showKey && result.apiKeyValue ? { apiKey: result.apiKeyValue } : {}),
    ...(smoke ? { smokeTest: smoke } : {}),
  });
  if (smoke && !(smoke.direct.ok && smoke.api.ok)) {
    throw new UserError('deployed, but the smoke test failed', {
      hint: 'Run `chatbot-ops doctor` to find out why (database reachability, key, stage), then `chatbot-ops deploy` again.',
    });
  }
  return 0;
}

const commonOptions = (cmd: Command) => cmd.option('--dry-run', 'show the plan only; change nothing', false);

export const register: CommandModule = (program, run) => {
  commonOptions(program.command('deploy'))
    .description(
      'Create or update everything in AWS as one plan (guide steps 2-8): role, network, function, API, key, alarms',
    )
    .option(
      '--interactive',
      'ask for what the config lacks, with choices read from the account, and save it',
      false,
    )
    .option('--zip <file>', 'deploy this zip instead of packaging src/lambda')
    .option('--show-key', 'print the API key value at the end (a secret)', false)
    .option('--no-smoke-test', 'skip the health check after deploying')
    .option('--redeploy', 'deploy the API stage even when no API setting changed', false)
    .action(
      run(async (ctx, flags: DeployFlags) =>
        runSteps(
          ctx,
          STEPS.map((s) => s.name),
          flags,
        ),
      ),
    );

  const describe: Record<StepName, string> = {
    role: 'IAM role for the function: trust policy, VPC access, logs policy scoped to its log group (guide step 2)',
    network:
      'Lambda security group (MySQL to RDS only) and the RDS ingress rule; checks the subnets (guide step 4)',
    function: 'Create or update the Lambda function and its log group (guide step 3)',
    api: 'REST API with POST /<resource>, API key required, Lambda proxy integration, deployment (guide step 5)',
    'usage-plan': 'API key and usage plan with throttle, quota, stage and key (guide step 6)',
    alarms: 'CloudWatch alarms for Lambda errors and API 4XX (guide step 8)',
  };
  for (const step of STEPS) {
    const cmd = commonOptions(program.command(step.command)).description(describe[step.name]);
    if (step.name === 'function')
      cmd.option('--zip <file>', 'deploy this zip instead of packaging src/lambda');
    if (step.name === 'usage-plan') cmd.option('--show-key', 'print the API key value (a secret)', false);
    if (step.name === 'api')
      cmd.option('--redeploy', 'deploy the stage even when no API setting changed', false);
    cmd.action(run(async (ctx, flags: DeployFlags) => runSteps(ctx, [step.name], flags)));
  }
};
