/**
 * `deploy --interactive`: ask for what the config lacks, and again for any value the account does not
 * have (a VPC of another region, a subnet of another VPC, a deleted security group), offering choices
 * read from the account (VPCs, subnets marked private/public with their zones, security groups) with
 * what still fits already chosen; then save the config (never a secret) and carry on with the normal
 * deploy. RDS instances are not listed: that would need @aws-sdk/client-rds, which the design card
 * leaves out; the endpoint is typed in (a pasted URL is split into host and port).
 */

import { findPublicSubnets, listSecurityGroups, listSubnets, listVpcs } from '../aws/ec2.js';
import { resolveAwsSession } from '../aws/sts.js';
import type { Context } from '../cli/context.js';
import type { Choice } from '../cli/ui.js';
import { type ChatbotConfig, parseConfig, saveConfig, splitDatabaseEndpoint } from '../config.js';
import { UserError } from '../errors.js';

const REGION_RE = /^[a-z]{2}(-[a-z]+)+-\d$/;

export interface InteractiveAnswers {
  config: ChatbotConfig;
  /** Asked for when the password variable is unset; used for this run only, never saved. */
  dbPassword: string | undefined;
}

/**
 * Ask for every missing setting and every one the account check refuses; returns the completed
 * config (already saved) and a password if one was typed.
 */
export async function askForMissingSettings(ctx: Context): Promise<InteractiveAnswers> {
  const { prompt } = ctx.ui;
  const config = structuredClone(ctx.config());
  let changed = false;

  // The region must be settled before the first client is built (ctx.aws() reads config.region).
  if (!ctx.options.region && !config.region && !process.env.AWS_REGION && !process.env.AWS_DEFAULT_REGION) {
    config.region = await prompt.input('AWS region', {
      default: 'us-east-1',
      validate: (v) => REGION_RE.test(v) || 'an AWS region such as us-east-1',
    });
    ctx.config().region = config.region;
    changed = true;
  }
  const aws = ctx.aws();
  const { region } = await resolveAwsSession(aws);

  const vpcs = await listVpcs(aws.ec2);
  if (vpcs.length === 0)
    throw new UserError(`this account has no VPC in ${region}`, {
      hint: 'Create the VPC and the RDS database first (guide prerequisites), or choose another region.',
    });
  const configuredVpc = config.vpc.vpcId;
  if (!configuredVpc || !vpcs.some((v) => v.id === configuredVpc)) {
    const why = configuredVpc ? ` (the config's ${configuredVpc} is not in this account's ${region})` : '';
    config.vpc.vpcId = await prompt.select(
      `VPC of the database${why}`,
      vpcs.map((v) => ({
        name: `${v.id}${v.name ? ` (${v.name})` : ''} ${v.cidr}${v.isDefault ? ' default' : ''}`,
        value: v.id,
      })),
    );
    changed = true;
  }
  const vpcId = config.vpc.vpcId as string;

  const subnets = await listSubnets(aws.ec2, { vpcId });
  const inVpc = new Set(subnets.map((s) => s.id));
  const strangers = config.vpc.subnetIds.filter((id) => !inVpc.has(id));
  if (config.vpc.subnetIds.length === 0 || strangers.length > 0) {
    const publicIds = await findPublicSubnets(
      aws.ec2,
      vpcId,
      subnets.map((s) => s.id),
    );
    const choices: Choice<string>[] = subnets.map((s) => ({
      name: `${s.id} ${s.az} ${publicIds.has(s.id) ? 'public' : 'private'}${s.name ? ` (${s.name})` : ''}`,
      value: s.id,
      description: s.cidr,
      // What still fits stays chosen; only the strangers have to be replaced.
      ...(config.vpc.subnetIds.includes(s.id) ? { checked: true } : {}),
    }));
    const why =
      strangers.length > 0
        ? ` (${strangers.join(', ')} ${strangers.length === 1 ? 'is' : 'are'} not in ${vpcId})`
        : '';
    config.vpc.subnetIds = await prompt.checkbox(
      `Subnets for the function (private ones, in two or more zones)${why}`,
      choices,
      { required: true },
    );
    changed = true;
  }

  const groups = (await listSecurityGroups(aws.ec2, vpcId)).filter(
    (g) => g.name !== config.vpc.lambdaSecurityGroupName,
  );
  const configuredGroup = config.vpc.rdsSecurityGroupId;
  if (!configuredGroup || !groups.some((g) => g.id === configuredGroup)) {
    const why = configuredGroup ? ` (the config's ${configuredGroup} is not a group of ${vpcId})` : '';
    config.vpc.rdsSecurityGroupId = await prompt.select(
      `Security group of the RDS database${why}`,
      groups.map((g) => ({ name: `${g.id} (${g.name})`, value: g.id })),
    );
    changed = true;
  }

  if (!config.database.secretArn && !config.database.host) {
    const typed = await prompt.input('Database endpoint (RDS → Databases → Endpoint)', {
      validate: (v) => {
        const split = splitDatabaseEndpoint(v);
        return 'host' in split || `the endpoint ${split.problem}`;
      },
    });
    const split = splitDatabaseEndpoint(typed);
    if ('problem' in split) throw new UserError(`the database endpoint ${split.problem}`, { exitCode: 2 });
    config.database.host = split.host;
    if (split.port !== undefined) config.database.port = split.port;
    if (split.host !== typed.trim())
      ctx.ui.info(
        `Database host ${split.host}${split.port !== undefined ? `, port ${split.port}` : ''} (from ${typed.trim()}).`,
      );
    changed = true;
  }

  let dbPassword: string | undefined;
  if (!config.database.secretArn && !process.env[config.database.passwordEnv]) {
    dbPassword = await prompt.password(
      `Database password for ${config.database.user} (not saved; set ${config.database.passwordEnv} to skip this)`,
    );
  }

  if (changed) {
    // Validate through the same schema the loader uses before writing.
    const checked = parseConfig(JSON.parse(JSON.stringify(config)), ctx.configPath());
    saveConfig(ctx.configPath(), checked);
    ctx.ui.info(`Saved the answers to ${ctx.configPath()} (no secrets in it).`);
    Object.assign(ctx.config(), checked);
  }
  return { config: ctx.config(), dbPassword };
}
