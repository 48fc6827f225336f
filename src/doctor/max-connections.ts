/**
 * How many connections an RDS MariaDB (or MySQL) instance accepts: the `max_connections` its
 * parameter group sets, or, where the group keeps the engine's default, that default's formula
 * `{DBInstanceClassMemory/12582880}` worked out from the instance class's memory. Pure.
 */

/** The divisor of RDS's default max_connections formula for MariaDB and MySQL. */
export const DEFAULT_DIVISOR = 12_582_880;

const GIB = 1024 ** 3;

/** Memory of the common instance sizes, in GiB, for the general-purpose (m) and burstable (t) classes. */
const GENERAL_GIB: Record<string, number> = {
  micro: 1,
  small: 2,
  medium: 4,
  large: 8,
  xlarge: 16,
  '2xlarge': 32,
  '4xlarge': 64,
  '8xlarge': 128,
  '12xlarge': 192,
  '16xlarge': 256,
  '24xlarge': 384,
  '32xlarge': 512,
  '48xlarge': 768,
};

/**
 * The memory of an instance class (`db.t3.micro`, `db.m6g.large`, `db.r7g.2xlarge`) in GiB, or
 * undefined for a class not in the table. Memory-optimised classes (r) have twice the memory of
 * the general-purpose size of the same name.
 */
export function instanceClassMemoryGiB(instanceClass: string): number | undefined {
  const m = /^db\.([a-z]+)\d+[a-z]*\.([a-z0-9]+)$/.exec(instanceClass);
  if (!m) return undefined;
  const [, family = '', size = ''] = m;
  const base = GENERAL_GIB[size];
  if (base === undefined) return undefined;
  if (family === 't' || family === 'm') return base;
  if (family === 'r') return base * 2;
  return undefined;
}

export interface MaxConnections {
  value: number;
  /** Where it came from, for the evidence. */
  source: string;
}

/**
 * max_connections of the instance: the parameter group's value where it sets a number (or the
 * default formula with another divisor), else the default formula over the class's memory. The
 * formula uses all of the class's memory, a little more than the DBInstanceClassMemory RDS puts in
 * it, so it is an upper bound. Undefined when neither the group's value nor the class is known.
 */
export function maxConnectionsOf(
  instanceClass: string,
  parameter: { group: string; value: string } | undefined,
): MaxConnections | undefined {
  if (parameter && /^\d+$/.test(parameter.value.trim()))
    return { value: Number(parameter.value), source: `parameter group ${parameter.group}` };
  const memory = instanceClassMemoryGiB(instanceClass);
  const divisor = parameter
    ? Number(/^\{DBInstanceClassMemory\/(\d+)\}$/.exec(parameter.value.replace(/\s/g, ''))?.[1] ?? Number.NaN)
    : DEFAULT_DIVISOR;
  if (memory === undefined || !Number.isFinite(divisor) || divisor <= 0) return undefined;
  return {
    value: Math.floor((memory * GIB) / divisor),
    source: `${parameter ? `parameter group ${parameter.group}'s formula` : 'the default formula'} over ${instanceClass}'s ${memory} GiB (an upper bound)`,
  };
}
