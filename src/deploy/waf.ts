/**
 * The guide's Next Steps, "Configure AWS WAF on API Gateway": a regional web ACL with a rate-based
 * rule (requests per 5 minutes from one address, `waf.rateLimit`) and AWS's managed common rule set
 * (AWSManagedRulesCommonRuleSet), allowing everything else, associated with the API stage. Opt-in
 * (`waf.enabled`); switched off, the next deploy takes it off the stage and deletes it, and so does
 * destroy.
 */
import { type StageState, stageArn } from '../aws/apigateway.js';
import {
  associateWebAcl,
  createWebAcl,
  deleteWebAcl,
  disassociateWebAcl,
  findWebAcl,
  getWebAcl,
  updateWebAcl,
  type WebAclDetail,
  type WebAclSpec,
  type WebAclSummary,
} from '../aws/wafv2.js';
import type { ChatbotConfig } from '../config.js';
import type { Deployment } from '../deployment/deployment.js';
import { type FieldChange, item, optInItem, type PlanItem } from './plan.js';
import { defineStep } from './step.js';

const STEP = 'waf';
export const COMMON_RULE_SET = 'AWSManagedRulesCommonRuleSet';

export interface WafDesired extends WebAclSpec {
  enabled: boolean;
  apiName: string;
  stage: string;
}

export interface WafCurrent {
  acl: WebAclDetail | undefined;
  stage: StageState | undefined;
}

/** The web ACL's name: the config's, else the API's and stage's. */
export function webAclName(config: ChatbotConfig): string {
  return config.waf.name ?? `${config.api.name}-${config.api.stage}`;
}

/** The web ACL with its rules, read once per run (deploy, destroy and doctor share it). */
export const readWebAcl = (d: Deployment): Promise<WebAclDetail | undefined> =>
  d.cached('webAcl', async () => {
    const found = await findWebAcl(d.aws.wafv2, webAclName(d.config));
    return found ? getWebAcl(d.aws.wafv2, found) : undefined;
  });

export function desiredWaf(config: ChatbotConfig): WafDesired {
  const name = webAclName(config);
  return {
    enabled: config.waf.enabled,
    name,
    description: `Rate limit per address and AWS's common rule set for ${config.api.name}/${config.api.stage} (chatbot-ops)`,
    // WAF metric names take letters, digits and - only.
    metricName: name.replace(/[^A-Za-z0-9-]/g, '-'),
    rateLimit: config.waf.rateLimit,
    managedGroups: [COMMON_RULE_SET],
    defaultAction: 'allow',
    tags: config.tags,
    apiName: config.api.name,
    stage: config.api.stage,
  };
}

export function webAclChanges(acl: WebAclDetail, desired: WafDesired): FieldChange[] {
  const changes: FieldChange[] = [];
  if (acl.rateLimit !== desired.rateLimit)
    changes.push({ field: 'rate limit per 5 min', from: acl.rateLimit ?? null, to: desired.rateLimit });
  if (JSON.stringify(acl.managedGroups) !== JSON.stringify(desired.managedGroups))
    changes.push({ field: 'managed rule groups', from: acl.managedGroups, to: desired.managedGroups });
  if (acl.defaultAction !== desired.defaultAction)
    changes.push({ field: 'default action', from: acl.defaultAction, to: desired.defaultAction });
  return changes;
}

export function planWaf(current: WafCurrent, desired: WafDesired): PlanItem[] {
  const acl = current.acl;
  const associated = acl !== undefined && current.stage?.webAclArn === acl.arn;
  const stage = `${desired.apiName}/${desired.stage}`;
  if (!desired.enabled) {
    return [
      ...optInItem(STEP, 'web ACL association', `${desired.name} → ${stage}`, false, associated),
      ...optInItem(STEP, 'web ACL', desired.name, false, acl !== undefined),
    ];
  }
  return [
    ...optInItem(
      STEP,
      'web ACL',
      acl ? `${desired.name} (${acl.id})` : desired.name,
      true,
      acl !== undefined,
      acl
        ? webAclChanges(acl, desired)
        : [
            { field: 'rate limit per 5 min', from: null, to: desired.rateLimit },
            { field: 'managed rule groups', from: null, to: desired.managedGroups },
          ],
    ),
    ...optInItem(
      STEP,
      'web ACL association',
      `${desired.name} → ${stage}`,
      true,
      associated,
      // Another ACL on the stage is replaced: a stage takes one.
      current.stage?.webAclArn && !associated
        ? [{ field: 'web ACL', from: current.stage.webAclArn, to: desired.name }]
        : [],
    ),
  ];
}

const stageResourceArn = (session: { partition: string; region: string }, apiId: string, stage: string) =>
  stageArn({ partition: session.partition, region: session.region, apiId, stage });

export const wafStep = defineStep({
  name: STEP,
  command: 'waf',
  title: 'WAF web ACL',
  guideStep: 'Next Steps 3',
  description:
    "A regional WAF web ACL (rate limit per address, AWS's common rule set) on the API stage (waf.enabled)",
  needs: ['api'],
  desired: (ctx) => desiredWaf(ctx.inputs.config),
  read: async (d): Promise<WafCurrent> => {
    const [acl, stage] = await Promise.all([readWebAcl(d), d.stage()]);
    return { acl, stage };
  },
  plan: (current, desired) => planWaf(current, desired),
  async apply(env, current, desired, items, ctx) {
    const { wafv2 } = env.aws;
    const action = (kind: string) => items.find((i) => i.kind === kind)?.action ?? 'unchanged';
    const resourceArn = () =>
      stageResourceArn(env.session, ctx.refs.require('apiId', 'the web ACL association'), desired.stage);
    if (!desired.enabled) {
      if (action('web ACL association') === 'delete') await disassociateWebAcl(wafv2, resourceArn());
      if (current.acl && action('web ACL') === 'delete') await deleteWebAcl(wafv2, current.acl);
      return undefined;
    }
    let acl: WebAclSummary | undefined = current.acl;
    if (!acl) acl = await createWebAcl(wafv2, desired);
    else if (action('web ACL') === 'update') await updateWebAcl(wafv2, acl, desired);
    if (action('web ACL association') !== 'unchanged') {
      env.progress('associating the web ACL with the stage (WAF may need a moment to see a new stage)');
      await associateWebAcl(wafv2, acl.arn, resourceArn(), env.timing.clock);
    }
    return undefined;
  },
  destroy: {
    read: async (d): Promise<WafCurrent & { apiId: string | undefined }> => {
      const [acl, stage, api] = await Promise.all([readWebAcl(d), d.stage(), d.restApi()]);
      return { acl, stage, apiId: api?.id };
    },
    plan: (found) =>
      found.acl ? [item(STEP, 'web ACL', `${found.acl.name} (${found.acl.id})`, 'delete')] : [],
    async apply(env, found, config) {
      const acl = found.acl;
      if (!acl) return;
      // WAF refuses to delete an ACL that is still in front of a resource.
      if (found.apiId && found.stage?.webAclArn === acl.arn) {
        env.removing(`the web ACL association of ${config.api.name}/${config.api.stage}`);
        await disassociateWebAcl(env.aws.wafv2, stageResourceArn(env.session, found.apiId, config.api.stage));
      }
      env.removing(`web ACL ${acl.name}`);
      await deleteWebAcl(env.aws.wafv2, acl);
    },
  },
});
