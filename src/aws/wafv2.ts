/**
 * AWS WAF (v2), narrowed to one regional web ACL in front of the API stage: find it by name, read
 * its rules, create, update and delete it (every change but creation needs the lock token WAF
 * hands out with each read), associate it with a stage and take it off again. WAF reports its
 * errors as exception classes: translated here. Nothing here prints.
 */
import {
  AssociateWebACLCommand,
  CreateWebACLCommand,
  DeleteWebACLCommand,
  DisassociateWebACLCommand,
  GetWebACLCommand,
  ListWebACLsCommand,
  type Rule,
  UpdateWebACLCommand,
  WAFNonexistentItemException,
  WAFOptimisticLockException,
  WAFUnavailableEntityException,
  type WAFV2Client,
} from '@aws-sdk/client-wafv2';
import type { Clock } from './timing.js';

/** Regional scope: the one API Gateway stages take (CLOUDFRONT is for distributions). */
const SCOPE = 'REGIONAL';

export interface WebAclSummary {
  name: string;
  id: string;
  arn: string;
  lockToken: string;
}

/** The rules chatbot-ops sets, in a shape that compares as plain data. */
export interface WebAclRules {
  /** Requests per 5 minutes from one address before it is blocked. */
  rateLimit: number | undefined;
  /** The AWS managed rule groups in the ACL, by name (`AWSManagedRulesCommonRuleSet`). */
  managedGroups: string[];
  defaultAction: 'allow' | 'block';
}

export interface WebAclDetail extends WebAclSummary, WebAclRules {}

/** The web ACL with exactly this name in the region, or undefined. */
export async function findWebAcl(waf: WAFV2Client, name: string): Promise<WebAclSummary | undefined> {
  let marker: string | undefined;
  do {
    const out = await waf.send(new ListWebACLsCommand({ Scope: SCOPE, Limit: 100, NextMarker: marker }));
    const hit = out.WebACLs?.find((a) => a.Name === name);
    if (hit?.Id && hit.ARN) return { name, id: hit.Id, arn: hit.ARN, lockToken: hit.LockToken ?? '' };
    marker = out.WebACLs?.length ? out.NextMarker : undefined;
  } while (marker);
  return undefined;
}

/** The rules of a web ACL, with a fresh lock token; undefined when it is gone. */
export async function getWebAcl(
  waf: WAFV2Client,
  acl: { name: string; id: string },
): Promise<WebAclDetail | undefined> {
  try {
    const out = await waf.send(new GetWebACLCommand({ Name: acl.name, Id: acl.id, Scope: SCOPE }));
    const rules = out.WebACL?.Rules ?? [];
    return {
      name: acl.name,
      id: acl.id,
      arn: out.WebACL?.ARN ?? '',
      lockToken: out.LockToken ?? '',
      rateLimit: rules.find((r) => r.Statement?.RateBasedStatement)?.Statement?.RateBasedStatement?.Limit,
      managedGroups: rules
        .flatMap((r) =>
          r.Statement?.ManagedRuleGroupStatement?.Name ? [r.Statement.ManagedRuleGroupStatement.Name] : [],
        )
        .sort(),
      defaultAction: out.WebACL?.DefaultAction?.Block ? 'block' : 'allow',
    };
  } catch (err) {
    if (err instanceof WAFNonexistentItemException) return undefined;
    throw err;
  }
}

const visibility = (metricName: string) => ({
  SampledRequestsEnabled: true,
  CloudWatchMetricsEnabled: true,
  MetricName: metricName,
});

/**
 * The rules as WAF takes them: the rate-based rule first (it blocks a flood before the managed
 * rules spend their capacity on it), then each managed group with its own actions.
 */
export function wafRules(metricPrefix: string, rules: WebAclRules): Rule[] {
  return [
    ...(rules.rateLimit !== undefined
      ? [
          {
            Name: 'rate-limit-per-ip',
            Priority: 0,
            Statement: { RateBasedStatement: { Limit: rules.rateLimit, AggregateKeyType: 'IP' as const } },
            Action: { Block: {} },
            VisibilityConfig: visibility(`${metricPrefix}-rate-limit`),
          },
        ]
      : []),
    ...rules.managedGroups.map((group, i) => ({
      Name: group,
      Priority: i + 1,
      Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: group } },
      OverrideAction: { None: {} },
      VisibilityConfig: visibility(`${metricPrefix}-${group}`),
    })),
  ];
}

export interface WebAclSpec extends WebAclRules {
  name: string;
  description: string;
  /** Prefix of the CloudWatch metric names WAF publishes for the ACL and its rules. */
  metricName: string;
  tags: Record<string, string>;
}

const defaultActionOf = (spec: WebAclRules) =>
  spec.defaultAction === 'block' ? { Block: {} } : { Allow: {} };

/** Create the web ACL; returns its id, ARN and lock token. */
export async function createWebAcl(waf: WAFV2Client, spec: WebAclSpec): Promise<WebAclSummary> {
  const out = await waf.send(
    new CreateWebACLCommand({
      Name: spec.name,
      Scope: SCOPE,
      Description: spec.description,
      DefaultAction: defaultActionOf(spec),
      Rules: wafRules(spec.metricName, spec),
      VisibilityConfig: visibility(spec.metricName),
      Tags: Object.entries(spec.tags).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
  return {
    name: spec.name,
    id: out.Summary?.Id ?? '',
    arn: out.Summary?.ARN ?? '',
    lockToken: out.Summary?.LockToken ?? '',
  };
}

/** Replace the ACL's rules and default action (UpdateWebACL replaces the whole definition). */
export async function updateWebAcl(waf: WAFV2Client, acl: WebAclSummary, spec: WebAclSpec): Promise<void> {
  await waf.send(
    new UpdateWebACLCommand({
      Name: acl.name,
      Id: acl.id,
      Scope: SCOPE,
      LockToken: acl.lockToken,
      Description: spec.description,
      DefaultAction: defaultActionOf(spec),
      Rules: wafRules(spec.metricName, spec),
      VisibilityConfig: visibility(spec.metricName),
    }),
  );
}

/**
 * Delete the ACL. The lock token read earlier may be stale (an association changed since): on
 * WAFOptimisticLockException read a fresh one and try once more. Gone already is fine.
 */
export async function deleteWebAcl(waf: WAFV2Client, acl: WebAclSummary): Promise<void> {
  const send = (lockToken: string) =>
    waf.send(new DeleteWebACLCommand({ Name: acl.name, Id: acl.id, Scope: SCOPE, LockToken: lockToken }));
  try {
    await send(acl.lockToken);
  } catch (err) {
    if (err instanceof WAFNonexistentItemException) return;
    if (!(err instanceof WAFOptimisticLockException)) throw err;
    const fresh = await getWebAcl(waf, acl);
    if (fresh) await send(fresh.lockToken);
  }
}

/** How long to retry an association while WAF does not see a stage that was just made. */
export const ASSOCIATION_BUDGET_MS = 60_000;

/**
 * Put the ACL in front of a resource (an API stage). A stage created seconds ago is not yet
 * visible to WAF, which says so with WAFUnavailableEntityException: retried within a minute.
 */
export async function associateWebAcl(
  waf: WAFV2Client,
  webAclArn: string,
  resourceArn: string,
  clock: Clock,
): Promise<void> {
  const started = clock.now();
  for (let attempt = 1; ; attempt++) {
    try {
      await waf.send(new AssociateWebACLCommand({ WebACLArn: webAclArn, ResourceArn: resourceArn }));
      return;
    } catch (err) {
      if (!(err instanceof WAFUnavailableEntityException) || clock.now() - started >= ASSOCIATION_BUDGET_MS)
        throw err;
      await clock.sleep(Math.min(2000 * attempt, 10_000));
    }
  }
}

/** Take whatever ACL is associated off the resource; nothing associated is fine. */
export async function disassociateWebAcl(waf: WAFV2Client, resourceArn: string): Promise<void> {
  try {
    await waf.send(new DisassociateWebACLCommand({ ResourceArn: resourceArn }));
  } catch (err) {
    if (!(err instanceof WAFNonexistentItemException)) throw err;
  }
}
