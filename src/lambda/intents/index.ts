/** The intent table the handler dispatches through (documented in docs/backend.md, "Intents"). */
import { bandwidth } from './bandwidth.js';
import { endpointStats } from './endpoint-stats.js';
import { health } from './health.js';
import type { Intent } from './intent.js';
import { ipActivity } from './ip-activity.js';
import { listIntents } from './list-intents.js';
import { accessLogs, errorLogs } from './log-entries.js';
import { notFound } from './not-found.js';
import { referrers } from './referrers.js';
import { trafficSummary } from './traffic-summary.js';
import { trafficTimeseries } from './traffic-timeseries.js';
import { userAgents } from './user-agents.js';
import { visitors } from './visitors.js';

export const INTENTS: readonly Intent[] = [
  trafficSummary,
  accessLogs,
  errorLogs,
  ipActivity,
  endpointStats,
  trafficTimeseries,
  visitors,
  notFound,
  referrers,
  userAgents,
  bandwidth,
  health,
  listIntents,
];

const BY_NAME = new Map(INTENTS.map((intent) => [intent.name, intent]));

export function findIntent(name: string): Intent | undefined {
  return BY_NAME.get(name);
}
