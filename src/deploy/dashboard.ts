/**
 * The guide's Next Steps, "Set up CloudWatch Dashboards": one dashboard with the function's
 * invocations, errors, duration p50/p95/p99, throttles and concurrent executions, and the API's
 * requests, 4XX, 5XX and latency. Opt-in (`dashboard.enabled`); switched off, the next deploy
 * deletes it, and so does destroy. Put only when the body differs from what CloudWatch has.
 */
import { deleteDashboards, getDashboard, putDashboard } from '../aws/cloudwatch.js';
import type { ChatbotConfig } from '../config.js';
import type { Deployment } from '../deployment/deployment.js';
import { item, optInItem, type PlanItem } from './plan.js';
import { defineStep } from './step.js';

const STEP = 'dashboard';
const PERIOD = 300;

/** A metric line of a widget, in CloudWatch's array form: namespace, name, dimension pairs, options. */
type Metric = (string | Record<string, string>)[];

export interface Widget {
  type: 'metric' | 'text';
  x: number;
  y: number;
  width: number;
  height: number;
  properties: Record<string, unknown>;
}

/** What a section of the dashboard shows, before it is laid out. */
interface Graph {
  title: string;
  metrics: Metric[];
  stat: string;
}

/** A titled group of graphs, made from the config. */
export interface DashboardSection {
  title: string;
  graphs(config: ChatbotConfig): Graph[];
}

const functionSection: DashboardSection = {
  title: 'Function',
  graphs: (config) => {
    const fn = ['FunctionName', config.function.name];
    return [
      {
        title: 'Invocations and errors',
        stat: 'Sum',
        metrics: [
          ['AWS/Lambda', 'Invocations', ...fn],
          ['AWS/Lambda', 'Errors', ...fn],
        ],
      },
      {
        title: 'Duration (ms)',
        stat: 'p50',
        metrics: [
          ['AWS/Lambda', 'Duration', ...fn, { stat: 'p50', label: 'p50' }],
          ['AWS/Lambda', 'Duration', ...fn, { stat: 'p95', label: 'p95' }],
          ['AWS/Lambda', 'Duration', ...fn, { stat: 'p99', label: 'p99' }],
        ],
      },
      { title: 'Throttles', stat: 'Sum', metrics: [['AWS/Lambda', 'Throttles', ...fn]] },
      {
        title: 'Concurrent executions',
        stat: 'Maximum',
        metrics: [['AWS/Lambda', 'ConcurrentExecutions', ...fn]],
      },
    ];
  },
};

const apiSection: DashboardSection = {
  title: 'API',
  graphs: (config) => {
    const api = ['ApiName', config.api.name, 'Stage', config.api.stage];
    return [
      { title: 'Requests', stat: 'Sum', metrics: [['AWS/ApiGateway', 'Count', ...api]] },
      {
        title: '4XX and 5XX answers',
        stat: 'Sum',
        metrics: [
          ['AWS/ApiGateway', '4XXError', ...api],
          ['AWS/ApiGateway', '5XXError', ...api],
        ],
      },
      {
        title: 'Latency (ms)',
        stat: 'p50',
        metrics: [
          ['AWS/ApiGateway', 'Latency', ...api, { stat: 'p50', label: 'p50' }],
          ['AWS/ApiGateway', 'Latency', ...api, { stat: 'p95', label: 'p95' }],
          ['AWS/ApiGateway', 'IntegrationLatency', ...api, { stat: 'p95', label: 'integration p95' }],
        ],
      },
    ];
  },
};

/**
 * ==== HOOK: the ingest function's section (issue 8, phase B) ====
 * The sections of the dashboard, top to bottom. The ingest step adds its own section here: the
 * ingest function's Errors (AWS/Lambda, FunctionName = the ingest function) and the data's
 * freshness (the age of the newest row, a metric the ingest function publishes), as one
 * `DashboardSection` appended to this list. The body, the plan, status and doctor's
 * `dashboard` check pick it up from here; nothing else in this file changes.
 */
export const DASHBOARD_SECTIONS: readonly DashboardSection[] = [functionSection, apiSection];

/** The dashboard body: each section a text header, then its graphs two to a row. */
export function dashboardBody(
  config: ChatbotConfig,
  region: string,
  sections: readonly DashboardSection[] = DASHBOARD_SECTIONS,
): string {
  const widgets: Widget[] = [];
  let y = 0;
  for (const section of sections) {
    widgets.push({
      type: 'text',
      x: 0,
      y,
      width: 24,
      height: 1,
      properties: { markdown: `## ${section.title}` },
    });
    y += 1;
    section.graphs(config).forEach((g, i) => {
      widgets.push({
        type: 'metric',
        x: (i % 2) * 12,
        y: y + Math.floor(i / 2) * 6,
        width: 12,
        height: 6,
        properties: {
          title: g.title,
          region,
          stat: g.stat,
          period: PERIOD,
          view: 'timeSeries',
          metrics: g.metrics,
        },
      });
    });
    y += Math.ceil(section.graphs(config).length / 2) * 6;
  }
  return JSON.stringify({ widgets });
}

/** The dashboard's name: the config's, else the function's. */
export function dashboardName(config: ChatbotConfig): string {
  return config.dashboard.name ?? config.function.name;
}

/** The dashboard's body as CloudWatch has it (undefined: none), read once per run. */
export const readDashboard = (d: Deployment): Promise<string | undefined> =>
  d.cached('dashboard', () => getDashboard(d.aws.cloudwatch, dashboardName(d.config)));

/** Two bodies show the same dashboard (CloudWatch may give back the JSON re-spaced). */
export function sameBody(a: string, b: string): boolean {
  try {
    return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
  } catch {
    return a === b;
  }
}

export interface DashboardDesired {
  enabled: boolean;
  name: string;
  body: string;
}

export function planDashboard(current: string | undefined, desired: DashboardDesired): PlanItem[] {
  const widgets = (JSON.parse(desired.body) as { widgets: Widget[] }).widgets.filter(
    (w) => w.type === 'metric',
  );
  return optInItem(
    STEP,
    'dashboard',
    desired.name,
    desired.enabled,
    current !== undefined,
    current === undefined
      ? [{ field: 'graphs', from: null, to: widgets.length }]
      : sameBody(current, desired.body)
        ? []
        : [{ field: 'body', from: '(other widgets)', to: `${widgets.length} graphs` }],
  );
}

export const dashboardStep = defineStep({
  name: STEP,
  command: 'dashboard',
  title: 'CloudWatch dashboard',
  guideStep: 'Next Steps 2',
  description: "A CloudWatch dashboard of the function's and the API's metrics (dashboard.enabled)",
  desired: (ctx): DashboardDesired => ({
    enabled: ctx.inputs.config.dashboard.enabled,
    name: dashboardName(ctx.inputs.config),
    body: dashboardBody(ctx.inputs.config, ctx.session.region),
  }),
  read: (d) => readDashboard(d),
  plan: (current, desired) => planDashboard(current, desired),
  async apply(env, _current, desired) {
    if (desired.enabled) await putDashboard(env.aws.cloudwatch, desired.name, desired.body);
    else await deleteDashboards(env.aws.cloudwatch, [desired.name]);
    return undefined;
  },
  destroy: {
    read: async (d) => ((await readDashboard(d)) === undefined ? undefined : dashboardName(d.config)),
    plan: (name) => (name ? [item(STEP, 'dashboard', name, 'delete')] : []),
    async apply(env, name) {
      if (!name) return;
      env.removing(`dashboard ${name}`);
      await deleteDashboards(env.aws.cloudwatch, [name]);
    },
  },
});
