/**
 * `deploy` and each deploy step's own command (`create-role` for guide step 2 ... `alarms` for
 * step 8: the list is src/deploy/steps.ts). Each validates its input, reads what AWS has, plans
 * (create / update / unchanged per resource), asks, applies with a spinner per step, and reports.
 * `deploy` runs them all as one plan and ends with a smoke test. All share the runner below, so
 * they behave alike.
 */
import type { Command } from 'commander';
import { invokeUrl } from '../aws/apigateway.js';
import { resolveAwsSession } from '../aws/sts.js';
import { describeCommand } from '../cli/catalog.js';
import type { CommandModule, Context } from '../cli/context.js';
import type { Spinner } from '../cli/ui.js';
import { type LoadedCode, loadFunctionCode } from '../deploy/code.js';
import { applyPlan, readAndPlan } from '../deploy/deploy.js';
import { databasePassword, missingPasswordError } from '../deploy/function.js';
import { askForMissingSettings } from '../deploy/interactive.js';
import { formatPlan, hasChanges, type StepName, summarizePlan } from '../deploy/plan.js';
import { runSmokeTest, type SmokeResult } from '../deploy/smoke-test.js';
import type { DeployStep, StepOption } from '../deploy/step.js';
import { STEP_GROUPS, STEPS } from '../deploy/steps.js';
import { currentKeyReport, openDeployment } from '../deployment/deployment.js';
import { UsageError, UserError } from '../errors.js';
import { generateApiKeyValue } from '../lambda/api-keys.js';

interface DeployFlags {
  dryRun?: boolean;
  interactive?: boolean;
  zip?: string;
  showKey?: boolean;
  smokeTest?: boolean;
  [option: string]: unknown;
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
  // A dry run shows the plan all the same, then says the deploy would stop for the password.
  const passwordMissing = withFunction && !config.database.secretArn && dbPassword === undefined;
  let code: LoadedCode | undefined;
  if (STEPS.some((s) => s.usesCode && steps.includes(s.name))) {
    const spinner = ui.spinner(flags.zip ? `Reading ${flags.zip}` : 'Packaging src/lambda');
    code = await loadFunctionCode(flags.zip);
    for (const w of code.warnings) ui.warn(w);
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
    flags,
  };
  const deployment = openDeployment(aws, config);
  const plan = await readAndPlan({ aws, session, deployment }, inputs, steps);

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
    const key = flags.showKey ? await currentKeyReport(deployment) : undefined;
    if (key) ui.info(key.line);
    ui.result({ ...summary, dryRun: true, applied: false, ...(key?.value ? { apiKey: key.value } : {}) });
    if (passwordMissing) throw missingPasswordError(config, true);
    return 0;
  }
  const changes = hasChanges(plan.items);
  if (changes && !ctx.options.yes && !(await ui.prompt.confirm('Apply these changes?', false))) {
    ui.info('Nothing was changed.');
    ui.result({ ...summary, applied: false, cancelled: true });
    return 1;
  }

  // Where the run stands, for a Ctrl-C: the step applying now and what its spinner last said.
  let current: { step: DeployStep; spinner: Spinner; doing: string } | undefined;
  let lastDone: DeployStep | undefined;
  const command =
    steps.length === STEPS.length ? 'deploy' : (STEPS.find((s) => s.name === steps[0])?.command ?? 'deploy');
  const stopped = (): string[] => {
    const rerun = `Run \`chatbot-ops ${command}\` again: it reads what exists and continues from there (nothing is made twice).`;
    if (current) {
      current.spinner.fail(`${current.step.title} (${current.step.command}) interrupted`);
      return [
        `Interrupted during step "${current.step.command}" (guide step ${current.step.guideStep})${current.doing ? `, ${current.doing}` : ''}: AWS may have finished part of it.`,
        rerun,
      ];
    }
    if (lastDone) return [`Interrupted after step "${lastDone.command}", before the next one.`, rerun];
    return ['Interrupted before any change: nothing was changed.'];
  };
  const result = await ctx.interruptible(stopped, () =>
    applyPlan(aws, session, ctx.timing(), inputs, plan, {
      onStep: (step) => {
        const spinner = ui.spinner(`${step.title} (${step.command})`);
        current = { step, spinner, doing: '' };
        return {
          progress: (text) => {
            if (current) current.doing = text;
            spinner.text(`${step.title}: ${text}`);
          },
          done: (ok) => {
            current = undefined;
            if (ok) lastDone = step;
            if (ok) spinner.succeed(`${step.title} (${step.command})`);
            else spinner.fail(`${step.title} (${step.command})`);
          },
        };
      },
    }),
  );
  if (!changes) ui.info('Everything is already in place: nothing changed.');
  const keyCreated = plan.items.some((i) => i.kind === 'API key' && i.action === 'create');
  if (keyCreated && !steps.includes('function')) {
    ui.warn(
      "the new API key is not in the function's API_KEYS yet: run `chatbot-ops create-function` (or `deploy`) so the function accepts it",
    );
  }

  const apiKeyValue = result.outputs.apiKey || undefined;
  const url =
    result.refs.known('apiId') && (steps.includes('api') || steps.includes('usage-plan'))
      ? invokeUrl({
          apiId: result.refs.get('apiId'),
          region: session.region,
          stage: config.api.stage,
          resource: config.api.resource,
          // --endpoint-url or AWS_ENDPOINT_URL: the emulator serves the API at its own address.
          ...(aws.endpointUrl ? { endpointUrl: aws.endpointUrl } : {}),
        })
      : undefined;

  let smoke: SmokeResult | undefined;
  if (steps.length === STEPS.length && flags.smokeTest !== false && url && apiKeyValue) {
    const spinner = ui.spinner('Smoke test: health, directly and through the API');
    smoke = await runSmokeTest(
      aws,
      { functionName: config.function.name, url, apiKey: apiKeyValue },
      ctx.timing().clock,
    );
    const parts = `direct: ${smoke.direct.detail}; API: ${smoke.api.outcome === 'passed' ? `HTTP ${smoke.api.status}` : smoke.api.detail}`;
    if (smoke.outcome === 'passed') spinner.succeed(`Smoke test passed (${parts})`);
    else if (smoke.outcome === 'failed') spinner.fail(`Smoke test failed (${parts})`);
    else {
      spinner.warn(`Smoke test could not reach the backend (${parts})`);
      ui.warn(
        "deployed, but the smoke test could not run: this is not a failed check. Run `chatbot-ops test` once the API is reachable from here, or skip it with --no-smoke-test (AWS API emulators often neither serve the stage URL nor run the function's code).",
      );
    }
  }

  if (url) ui.info(`Invoke URL: ${url}`);
  if (flags.showKey && apiKeyValue) ui.info(`API key (${config.usagePlan.keyName}): ${apiKeyValue}`);
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
    ...(flags.showKey && apiKeyValue ? { apiKey: apiKeyValue } : {}),
    ...(smoke ? { smokeTest: smoke } : {}),
  });
  if (smoke?.outcome === 'failed') {
    throw new UserError('deployed, but the smoke test failed', {
      hint: 'Run `chatbot-ops doctor` to find out why (database reachability, key, stage), then `chatbot-ops deploy` again.',
    });
  }
  return 0;
}

/** Add options to a command; a flag two steps share is added once. */
function withOptions(cmd: Command, options: readonly StepOption[]): Command {
  const seen = new Set<string>();
  for (const o of options) {
    if (seen.has(o.flags)) continue;
    seen.add(o.flags);
    cmd.option(o.flags, o.description);
  }
  return cmd;
}

const dryRun = (cmd: Command) => cmd.option('--dry-run', 'show the plan only; change nothing', false);

export const register: CommandModule = (program, run) => {
  const deploy = dryRun(program.command('deploy'))
    .description(describeCommand('deploy'))
    .option(
      '--interactive',
      'ask for what the config lacks, with choices read from the account, and save it',
      false,
    )
    .option('--no-smoke-test', 'skip the health check (directly and through the API) after deploying');
  withOptions(
    deploy,
    STEPS.flatMap((s) => s.options),
  ).action(
    run(async (ctx, flags: DeployFlags) =>
      runSteps(
        ctx,
        STEPS.map((s) => s.name),
        flags,
      ),
    ),
  );

  for (const step of STEPS) {
    withOptions(dryRun(program.command(step.command)).description(step.description), step.options).action(
      run(async (ctx, flags: DeployFlags) => runSteps(ctx, [step.name], flags)),
    );
  }
  for (const group of STEP_GROUPS) {
    const steps = STEPS.filter((s) => group.steps.includes(s.name));
    withOptions(
      dryRun(program.command(group.command)).description(group.description),
      steps.flatMap((s) => s.options),
    ).action(
      run(async (ctx, flags: DeployFlags) =>
        runSteps(
          ctx,
          steps.map((s) => s.name),
          flags,
        ),
      ),
    );
  }
};
