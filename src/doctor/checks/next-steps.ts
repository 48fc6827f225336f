/**
 * The guide's Next Steps that the config switched on (tracing, dashboard, WAF) and the API's access
 * logs (Support: "Review API Gateway logs"): each check skips while its switch is off, and
 * otherwise says whether AWS has what the deploy step makes. The Secrets Manager route is checked
 * under Network (`vpc.secrets-route`), reserved concurrency under Database (`rds.connections`).
 */
import { ACCESS_LOG_FORMAT, accessLogGroupName } from '../../deploy/access-logs.js';
import { DASHBOARD_SECTIONS, dashboardName } from '../../deploy/dashboard.js';
import { XRAY_POLICY } from '../../deploy/tracing.js';
import { COMMON_RULE_SET, webAclName } from '../../deploy/waf.js';
import type { AwsFacts } from '../aws-facts.js';
import { type Check, fail, pass, skipBecause, warn } from '../engine.js';

const GROUP = 'Next Steps';
const off = (switchName: string) => skipBecause(`${switchName} is false in the config`);

export const nextStepChecks: Check<AwsFacts>[] = [
  {
    id: 'tracing',
    group: GROUP,
    title: 'X-Ray tracing on the function and the stage',
    async run(f) {
      if (!f.config.tracing.enabled) off('tracing.enabled');
      const [fn, role] = await Promise.all([f.deployedFn(), f.role()]);
      await f.restApi();
      const stage = await f.stage();
      const problems = [
        ...(fn.tracingMode === 'Active' ? [] : [`the function's tracing mode is ${fn.tracingMode}`]),
        ...(stage?.tracingEnabled ? [] : [`the stage ${f.config.api.stage} does not trace`]),
        ...(role.attached.some((a) => a.endsWith(`/${XRAY_POLICY}`))
          ? []
          : [`role ${role.name} lacks ${XRAY_POLICY}: the function cannot send its segments`]),
      ];
      if (problems.length > 0)
        return warn(
          problems.join('; '),
          'Run `chatbot-ops tracing`: it turns tracing on for both and attaches the policy.',
        );
      return pass(`function Active, stage ${f.config.api.stage} traced, ${XRAY_POLICY} on ${role.name}`);
    },
  },
  {
    id: 'dashboard',
    group: GROUP,
    title: 'CloudWatch dashboard',
    async run(f) {
      if (!f.config.dashboard.enabled) off('dashboard.enabled');
      const name = dashboardName(f.config);
      const body = await f.dashboard();
      if (body === undefined) return warn(`no dashboard named ${name}`, 'Run `chatbot-ops dashboard`.');
      let widgets: { type?: string; properties?: { metrics?: unknown[] } }[] = [];
      try {
        widgets = (JSON.parse(body) as { widgets?: typeof widgets }).widgets ?? [];
      } catch {
        widgets = [];
      }
      const shown = JSON.stringify(widgets.map((w) => w.properties?.metrics ?? []));
      const missing = [
        ...(shown.includes(`"FunctionName","${f.config.function.name}"`)
          ? []
          : [`the function ${f.config.function.name}`]),
        ...(shown.includes(`"ApiName","${f.config.api.name}","Stage","${f.config.api.stage}"`)
          ? []
          : [`the API ${f.config.api.name}/${f.config.api.stage}`]),
      ];
      if (missing.length > 0)
        return warn(
          `the dashboard ${name} shows no metrics of ${missing.join(' or ')}`,
          'Run `chatbot-ops dashboard`: it puts the graphs back.',
        );
      const graphs = widgets.filter((w) => w.type === 'metric').length;
      return pass(`${name}: ${graphs} graphs in ${DASHBOARD_SECTIONS.length} sections`);
    },
  },
  {
    id: 'waf',
    group: GROUP,
    title: 'WAF web ACL in front of the stage',
    async run(f) {
      if (!f.config.waf.enabled) off('waf.enabled');
      const name = webAclName(f.config);
      const acl = await f.webAcl();
      if (!acl)
        return fail(
          `no web ACL named ${name}: the API takes any rate from any address, without WAF's common rules`,
          'Run `chatbot-ops waf`.',
        );
      await f.restApi();
      const stage = await f.stage();
      if (stage?.webAclArn !== acl.arn)
        return fail(
          `the web ACL ${name} is not in front of ${f.config.api.name}/${f.config.api.stage} (the stage has ${stage?.webAclArn ?? 'none'})`,
          'Run `chatbot-ops waf`: it associates the ACL with the stage.',
        );
      const gaps = [
        ...(acl.rateLimit === undefined ? ['no rate-based rule'] : []),
        ...(acl.managedGroups.includes(COMMON_RULE_SET) ? [] : [`no ${COMMON_RULE_SET}`]),
      ];
      if (gaps.length > 0)
        return warn(
          `the web ACL ${name} has ${gaps.join(' and ')}`,
          'Run `chatbot-ops waf`: it puts the rules back.',
        );
      return pass(
        `${name}: at most ${acl.rateLimit} requests per 5 minutes per address, ${acl.managedGroups.join(', ')}`,
      );
    },
  },
  {
    id: 'access-logs',
    group: GROUP,
    title: 'API access logs',
    async run(f) {
      if (!f.config.accessLogs.enabled) off('accessLogs.enabled');
      await f.restApi();
      const [stage, group, accountRole] = await Promise.all([
        f.stage(),
        f.accessLogGroup(),
        f.accountCloudWatchRole(),
      ]);
      const name = accessLogGroupName(f.config);
      const run = 'Run `chatbot-ops access-logs`';
      if (!accountRole)
        return warn(
          "API Gateway has no CloudWatch role in this account and region: it cannot write any stage's logs",
          `${run}: it creates chatbot-ops-apigateway-cloudwatch and sets it (one setting for every API in the region).`,
        );
      const log = stage?.accessLog;
      if (!log) return warn(`the stage ${f.config.api.stage} writes no access logs`, `${run}.`);
      if (!log.destinationArn.endsWith(`:log-group:${name}`))
        return warn(`the stage writes its access logs to ${log.destinationArn}, not ${name}`, `${run}.`);
      if (!group) return warn(`the log group ${name} does not exist: the access logs go nowhere`, `${run}.`);
      const fields = Object.keys(JSON.parse(ACCESS_LOG_FORMAT) as object).filter((k) =>
        ['requestId', 'apiKeyId', 'status', 'responseLatency'].includes(k),
      );
      const lacking = fields.filter((k) => !log.format.includes(`"${k}"`));
      if (lacking.length > 0)
        return warn(`the access log format lacks ${lacking.join(', ')}`, `${run}: it sets the JSON format.`);
      if (group.retentionDays === undefined)
        return warn(`${name} is kept forever`, `${run}: it sets accessLogs.retentionDays.`);
      return pass(`JSON to ${name}, kept ${group.retentionDays} days; account role ${accountRole}`);
    },
  },
];
