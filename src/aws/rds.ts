/**
 * Amazon RDS, read-only and narrowed to what `doctor` checks about the database instance: the
 * instance behind the configured endpoint (its security posture, network and class), a parameter
 * its parameter group sets, and whether RDS still offers its engine version. chatbot-ops never
 * changes the database. Nothing here prints.
 */
import {
  type DBInstance,
  DBInstanceNotFoundFault,
  DBParameterGroupNotFoundFault,
  DescribeDBEngineVersionsCommand,
  DescribeDBInstancesCommand,
  paginateDescribeDBInstances,
  paginateDescribeDBParameters,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { pagesOf } from './pages.js';

export interface DbInstanceInfo {
  id: string;
  status: string;
  engine: string;
  engineVersion: string;
  instanceClass: string;
  endpoint: string;
  port: number | undefined;
  publiclyAccessible: boolean;
  storageEncrypted: boolean;
  backupRetentionDays: number;
  deletionProtection: boolean;
  multiAz: boolean;
  securityGroupIds: string[];
  vpcId: string | undefined;
  parameterGroups: string[];
}

function toInfo(i: DBInstance): DbInstanceInfo {
  return {
    id: i.DBInstanceIdentifier ?? '',
    status: i.DBInstanceStatus ?? '',
    engine: i.Engine ?? '',
    engineVersion: i.EngineVersion ?? '',
    instanceClass: i.DBInstanceClass ?? '',
    endpoint: i.Endpoint?.Address ?? '',
    port: i.Endpoint?.Port,
    publiclyAccessible: i.PubliclyAccessible === true,
    storageEncrypted: i.StorageEncrypted === true,
    backupRetentionDays: i.BackupRetentionPeriod ?? 0,
    deletionProtection: i.DeletionProtection === true,
    multiAz: i.MultiAZ === true,
    securityGroupIds: (i.VpcSecurityGroups ?? []).flatMap((g) =>
      g.VpcSecurityGroupId ? [g.VpcSecurityGroupId] : [],
    ),
    vpcId: i.DBSubnetGroup?.VpcId,
    parameterGroups: (i.DBParameterGroups ?? []).flatMap((g) =>
      g.DBParameterGroupName ? [g.DBParameterGroupName] : [],
    ),
  };
}

/**
 * The instance whose endpoint is `host`, or undefined when none in this region has it. An RDS
 * endpoint starts with the instance's identifier (`<id>.<hash>.<region>.rds.amazonaws.com`), so
 * that instance is asked for first (one call); a host that is not such a name (a CNAME of one, say)
 * is looked for among every instance.
 */
export async function findDbInstanceByEndpoint(
  rds: RDSClient,
  host: string,
): Promise<DbInstanceInfo | undefined> {
  const wanted = host.toLowerCase().replace(/\.$/, '');
  const id = /^([a-z][a-z0-9-]{0,62})\.[^.]+\.[a-z0-9-]+\.rds\.amazonaws\.com(\.cn)?$/.exec(wanted)?.[1];
  if (id) {
    try {
      const out = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
      const hit = out.DBInstances?.find((i) => i.Endpoint?.Address?.toLowerCase() === wanted);
      if (hit) return toInfo(hit);
    } catch (err) {
      if (!(err instanceof DBInstanceNotFoundFault)) throw err;
    }
  }
  for await (const page of paginateDescribeDBInstances(pagesOf(rds), {}))
    for (const i of page.DBInstances ?? [])
      if (i.Endpoint?.Address?.toLowerCase() === wanted) return toInfo(i);
  return undefined;
}

/**
 * A parameter's value where the user set it in a parameter group; undefined when the group leaves
 * it at the engine's default (often a formula such as `{DBInstanceClassMemory/12582880}`), or the
 * group does not exist. Only the parameters the user changed are listed (Source `user`): one page.
 */
export async function userParameter(
  rds: RDSClient,
  group: string,
  name: string,
): Promise<string | undefined> {
  try {
    for await (const page of paginateDescribeDBParameters(pagesOf(rds), {
      DBParameterGroupName: group,
      Source: 'user',
    })) {
      const hit = page.Parameters?.find((p) => p.ParameterName === name);
      if (hit) return hit.ParameterValue;
    }
  } catch (err) {
    if (err instanceof DBParameterGroupNotFoundFault) return undefined;
    throw err;
  }
  return undefined;
}

/**
 * Whether RDS offers this engine version: `available`, `deprecated` (no new instances, upgrades
 * coming), or undefined when RDS does not list it at all (including deprecated ones).
 */
export async function engineVersionStatus(
  rds: RDSClient,
  engine: string,
  version: string,
): Promise<string | undefined> {
  const out = await rds.send(
    new DescribeDBEngineVersionsCommand({ Engine: engine, EngineVersion: version, IncludeAll: true }),
  );
  return out.DBEngineVersions?.find((v) => v.EngineVersion === version)?.Status;
}
