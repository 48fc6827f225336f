/**
 * The `bots` filter every aggregate intent takes: `include` (default) counts every request,
 * `exclude` only those whose user agent is not a bot, `only` only the bots. Rows carry `is_bot`
 * from the moment they are written (src/db/user-agent.ts); a row still unclassified (NULL: written
 * by another tool before `db init` classified it) counts as not a bot, so `exclude` and `only`
 * always add up to `include`.
 *
 * The status, path and address rollups count bots' requests (and bytes, errors, response times)
 * beside all requests (`n_bot` beside `n`), so `only` reads the twin and `exclude` the difference
 * (rollup-queries.ts). What they do not split, an address's status classes and first and last
 * request, is read from the rows under a filter (rollupsFor).
 */
import { enumParam, withDefault } from './params.js';
import type { RollupView } from './rollup-queries.js';

export type BotsFilter = 'include' | 'exclude' | 'only';

export const BOTS_PARAM = withDefault(
  enumParam(
    'Bots (crawlers, monitors, scripts; told by their user agent): include them, exclude them, or count only them.',
    ['include', 'exclude', 'only'] as BotsFilter[],
  ),
  'include' as BotsFilter,
);

/** The condition on access_logs a filter adds, or null for `include`. Fixed text, no values. */
export function botCondition(bots: BotsFilter): string | null {
  if (bots === 'only') return 'is_bot = 1';
  if (bots === 'exclude') return 'COALESCE(is_bot, 0) = 0';
  return null;
}

/** The rollups a request may read when it needs measures with no bots twin: none once it filters by bots. */
export function rollupsFor(view: RollupView, bots: BotsFilter): RollupView {
  return bots === 'include' ? view : { ready: new Set(), floor: view.floor };
}
