/**
 * `deploy --interactive`: ask for what the config lacks, offering choices read from the account
 * (VPCs, subnets marked private/public with their zones, security groups), then save the config
 * (never a secret) and carry on with the normal deploy. RDS instances are not listed: that would
 * need @aws-sdk/client-rds, which the design card leaves out; the endpoint is typed in.
 */

import { findPublicSubnets, listSecurityGroups, listSubnets, listVpcs } from '../aws/ec2.js';
import { resolveAwsSession } from '../aws/sts.js';
import type { Context } from '../cli/context.js';
import type { Choice } from '../cli/ui.js';
import { type ChatbotConfig, parseConfig, saveConfig } from '../config.js';
import { UserError } from '../errors.js';

const REGION_RE = /^[a-z]{2}(-[a-z]+)+-\d$/;

export interface InteractiveAnswers {
  config: ChatbotConfig;
  /** Asked for when the password variable is unset; used for this run only, never saved. */
  dbPassword: string | undefined;
}

/** Ask for every missing setting; returns the completed config (already saved) and a password if one was typed. */
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
  await resolveAwsSession(aws);

  if (!config.vpc.vpcId) {
    const vpcs = await listVpcs(aws.ec2);
    if (vpcs.length === 0)
      throw new UserError('this account has no VPC in the region', {
        hint: 'Create the VPC and the RDS database first (guide prerequisites).',
      });
    config.vpc.vpcId = await prompt.select(
      'VPC of the database',
      vpcs.map((v) => ({
        name: `${v.id}${v.name ? ` (${v.name})` : ''} ${v.cidr}${v.isDefault ? ' default' : ''}`,
        value: v.id,
      })),
    );
    changed = true;
  }
  const vpcId = config.vpc.vpcId;

  if (config.vpc.subnetIds.length === 0) {
    const subnets = await listSubnets(aws.ec2, { vpcId });
    const publicIds = await findPublicSubnets(
      aws.ec2,
      vpcId,
      subnets.map((s) => s.id),
    );
    const choices: Choice<string>[] = subnets.map((s) => ({
      name: `${s.id} ${s.az} ${publicIds.has(s.id) ? 'public' : 'private'}${s.name ? ` (${s.name})` : ''}`,
      value: s.id,
      description: s.cidr,
    }));
    config.vpc.subnetIds = await prompt.checkbox(
      'Subnets for the function (private ones, in two or more zones)',
      choices,
      {
        required: true,
      },
    );
    changed = true;
  }

  if (!config.vpc.rdsSecurityGroupId) {
    const groups = (await listSecurityGroups(aws.ec2, vpcId)).filter(
      (g) => g.name !== config.vpc.lambdaSecurityGroupName,
    );
    config.vpc.rdsSecurityGroupId = await prompt.select(
      'Security group of the RDS database',
      groups.map((g) => ({ name: `${g.id} (${g.name})`, value: g.id })),
    );
    changed = true;
  }

  if (!config.database.secretArn && !config.database.host) {
    config.database.host = await prompt.input('Database endpoint (RDS → Databases → Endpoint)', {
      validate: (v) => v.trim().length > 0 || 'the endpoint host name',
    });
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
