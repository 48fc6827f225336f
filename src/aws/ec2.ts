/**
 * EC2, narrowed to what the Lambda's network needs: VPCs, subnets (with whether they route to an
 * internet gateway, and through which route table), security groups and their rules, the network
 * interfaces Lambda leaves in a group, VPC endpoints (interface endpoints such as Secrets Manager's;
 * gateway endpoints such as S3's use the same calls with route tables) and AWS-managed prefix lists.
 * EC2 reports errors by code only (`InvalidPermission.Duplicate`, `InvalidGroup.NotFound`),
 * carried as the exception's `name`: translated here, never by message text. Nothing here prints.
 */
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateVpcEndpointCommand,
  DeleteSecurityGroupCommand,
  DeleteVpcEndpointsCommand,
  type EC2Client,
  EC2ServiceException,
  type Filter,
  type IpPermission,
  ModifyVpcEndpointCommand,
  paginateDescribeManagedPrefixLists,
  paginateDescribeNetworkInterfaces,
  paginateDescribeRouteTables,
  paginateDescribeSecurityGroups,
  paginateDescribeSubnets,
  paginateDescribeVpcEndpoints,
  paginateDescribeVpcs,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import { pagesOf } from './pages.js';

/** One security group rule with exactly one peer, so rule sets compare as plain lists. */
export interface SgRule {
  /** `tcp`, `udp`, `icmp` or `-1` (all). */
  protocol: string;
  fromPort?: number;
  toPort?: number;
  groupId?: string;
  cidr?: string;
  cidrV6?: string;
  prefixListId?: string;
}

export interface SecurityGroupState {
  id: string;
  name: string;
  vpcId: string;
  ingress: SgRule[];
  egress: SgRule[];
  tags: Record<string, string>;
}

export interface VpcInfo {
  id: string;
  cidr: string;
  isDefault: boolean;
  name: string | undefined;
}

export interface SubnetInfo {
  id: string;
  vpcId: string;
  az: string;
  cidr: string;
  name: string | undefined;
  /** Addresses left for network interfaces (Lambda needs one per subnet and security group set). */
  availableIps: number;
}

/** True when the error is EC2's error with this code (EC2 has no per-code exception classes). */
export function isEc2Error(err: unknown, code: string): boolean {
  return err instanceof EC2ServiceException && err.name === code;
}

const nameTag = (tags: { Key?: string; Value?: string }[] | undefined) =>
  tags?.find((t) => t.Key === 'Name')?.Value;

/** What a rule lets through, without its peer: `TCP 3306`, `all traffic`. */
export function describePorts(rule: SgRule): string {
  return rule.protocol === '-1'
    ? 'all traffic'
    : `${rule.protocol.toUpperCase()} ${rule.fromPort === rule.toPort ? rule.fromPort : `${rule.fromPort}-${rule.toPort}`}`;
}

/** A stable text form of a rule, for comparing and for showing in a plan. */
export function describeRule(rule: SgRule): string {
  const peer = rule.groupId ?? rule.cidr ?? rule.cidrV6 ?? rule.prefixListId ?? '?';
  return `${describePorts(rule)} ${peer}`;
}

function flattenPermissions(perms: IpPermission[] | undefined): SgRule[] {
  const rules: SgRule[] = [];
  for (const p of perms ?? []) {
    const base: SgRule = {
      protocol: p.IpProtocol ?? '-1',
      ...(p.IpProtocol !== '-1' && p.FromPort !== undefined ? { fromPort: p.FromPort } : {}),
      ...(p.IpProtocol !== '-1' && p.ToPort !== undefined ? { toPort: p.ToPort } : {}),
    };
    for (const g of p.UserIdGroupPairs ?? []) if (g.GroupId) rules.push({ ...base, groupId: g.GroupId });
    for (const r of p.IpRanges ?? []) if (r.CidrIp) rules.push({ ...base, cidr: r.CidrIp });
    for (const r of p.Ipv6Ranges ?? []) if (r.CidrIpv6) rules.push({ ...base, cidrV6: r.CidrIpv6 });
    for (const r of p.PrefixListIds ?? [])
      if (r.PrefixListId) rules.push({ ...base, prefixListId: r.PrefixListId });
  }
  return rules;
}

function toPermission(rule: SgRule, description?: string): IpPermission {
  const d = description ? { Description: description } : {};
  return {
    IpProtocol: rule.protocol,
    ...(rule.fromPort !== undefined ? { FromPort: rule.fromPort } : {}),
    ...(rule.toPort !== undefined ? { ToPort: rule.toPort } : {}),
    ...(rule.groupId ? { UserIdGroupPairs: [{ GroupId: rule.groupId, ...d }] } : {}),
    ...(rule.cidr ? { IpRanges: [{ CidrIp: rule.cidr, ...d }] } : {}),
    ...(rule.cidrV6 ? { Ipv6Ranges: [{ CidrIpv6: rule.cidrV6, ...d }] } : {}),
    ...(rule.prefixListId ? { PrefixListIds: [{ PrefixListId: rule.prefixListId, ...d }] } : {}),
  };
}

function toState(g: SecurityGroup): SecurityGroupState {
  return {
    id: g.GroupId ?? '',
    name: g.GroupName ?? '',
    vpcId: g.VpcId ?? '',
    ingress: flattenPermissions(g.IpPermissions),
    egress: flattenPermissions(g.IpPermissionsEgress),
    tags: Object.fromEntries((g.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
  };
}

async function describeGroups(
  ec2: EC2Client,
  input: { GroupIds?: string[]; Filters?: Filter[] },
): Promise<SecurityGroup[]> {
  const groups: SecurityGroup[] = [];
  for await (const page of paginateDescribeSecurityGroups(pagesOf(ec2), input))
    groups.push(...(page.SecurityGroups ?? []));
  return groups;
}

/** The security groups with this name in this VPC (one at most), or in every VPC when none is given. */
export async function findSecurityGroupsByName(
  ec2: EC2Client,
  vpcId: string | undefined,
  name: string,
): Promise<SecurityGroupState[]> {
  const groups = await describeGroups(ec2, {
    Filters: [
      ...(vpcId ? [{ Name: 'vpc-id', Values: [vpcId] }] : []),
      { Name: 'group-name', Values: [name] },
    ],
  });
  return groups.map(toState);
}

/** The security group with this id, or undefined when it does not exist. */
export async function findSecurityGroup(
  ec2: EC2Client,
  groupId: string,
): Promise<SecurityGroupState | undefined> {
  try {
    const groups = await describeGroups(ec2, { GroupIds: [groupId] });
    return groups[0] ? toState(groups[0]) : undefined;
  } catch (err) {
    if (isEc2Error(err, 'InvalidGroup.NotFound') || isEc2Error(err, 'InvalidGroupId.Malformed'))
      return undefined;
    throw err;
  }
}

/** Every security group of a VPC (for choosing the RDS group interactively). */
export async function listSecurityGroups(ec2: EC2Client, vpcId: string): Promise<SecurityGroupState[]> {
  return (await describeGroups(ec2, { Filters: [{ Name: 'vpc-id', Values: [vpcId] }] })).map(toState);
}

export async function createSecurityGroup(
  ec2: EC2Client,
  group: { vpcId: string; name: string; description: string; tags: Record<string, string> },
): Promise<string> {
  const out = await ec2.send(
    new CreateSecurityGroupCommand({
      VpcId: group.vpcId,
      GroupName: group.name,
      Description: group.description,
      TagSpecifications: [
        {
          ResourceType: 'security-group',
          Tags: Object.entries(group.tags).map(([Key, Value]) => ({ Key, Value })),
        },
      ],
    }),
  );
  return out.GroupId ?? '';
}

/** Add rules; a rule that is already there (InvalidPermission.Duplicate) is not an error. */
export async function authorizeRules(
  ec2: EC2Client,
  groupId: string,
  direction: 'ingress' | 'egress',
  rules: SgRule[],
  description?: string,
): Promise<void> {
  if (rules.length === 0) return;
  const input = { GroupId: groupId, IpPermissions: rules.map((r) => toPermission(r, description)) };
  try {
    if (direction === 'ingress') await ec2.send(new AuthorizeSecurityGroupIngressCommand(input));
    else await ec2.send(new AuthorizeSecurityGroupEgressCommand(input));
  } catch (err) {
    if (isEc2Error(err, 'InvalidPermission.Duplicate')) return;
    throw err;
  }
}

/**
 * Remove rules; a rule or group already gone is not an error. Returns the rules EC2 says it did not
 * match: for these it may answer success and list them (`UnknownIpPermissions`) instead of failing,
 * so a caller that must know a rule is gone reads the group again.
 */
export async function revokeRules(
  ec2: EC2Client,
  groupId: string,
  direction: 'ingress' | 'egress',
  rules: SgRule[],
): Promise<SgRule[]> {
  if (rules.length === 0) return [];
  const input = { GroupId: groupId, IpPermissions: rules.map((r) => toPermission(r)) };
  try {
    const out =
      direction === 'ingress'
        ? await ec2.send(new RevokeSecurityGroupIngressCommand(input))
        : await ec2.send(new RevokeSecurityGroupEgressCommand(input));
    return flattenPermissions(out.UnknownIpPermissions);
  } catch (err) {
    if (isEc2Error(err, 'InvalidPermission.NotFound') || isEc2Error(err, 'InvalidGroup.NotFound')) return [];
    throw err;
  }
}

/**
 * Revoke a group's rules that name `peerId`, sent exactly as EC2 describes them (descriptions
 * included). AWS matches a revoked rule without its description; an AWS API emulator may not (moto
 * 5.2 answers InvalidPermission.NotFound), so this is the second try when revokeRules left one.
 */
export async function revokeRulesAsDescribed(
  ec2: EC2Client,
  groupId: string,
  direction: 'ingress' | 'egress',
  peerId: string,
): Promise<void> {
  const [group] = await describeGroups(ec2, { GroupIds: [groupId] });
  const perms = (direction === 'ingress' ? group?.IpPermissions : group?.IpPermissionsEgress) ?? [];
  const naming = perms
    .map((p) => ({
      IpProtocol: p.IpProtocol,
      ...(p.FromPort !== undefined ? { FromPort: p.FromPort } : {}),
      ...(p.ToPort !== undefined ? { ToPort: p.ToPort } : {}),
      UserIdGroupPairs: (p.UserIdGroupPairs ?? [])
        .filter((g) => g.GroupId === peerId)
        .map((g) => ({ GroupId: g.GroupId, ...(g.Description ? { Description: g.Description } : {}) })),
    }))
    .filter((p) => p.UserIdGroupPairs.length > 0);
  if (naming.length === 0) return;
  const input = { GroupId: groupId, IpPermissions: naming };
  try {
    if (direction === 'ingress') await ec2.send(new RevokeSecurityGroupIngressCommand(input));
    else await ec2.send(new RevokeSecurityGroupEgressCommand(input));
  } catch (err) {
    if (!isEc2Error(err, 'InvalidPermission.NotFound') && !isEc2Error(err, 'InvalidGroup.NotFound'))
      throw err;
  }
}

/**
 * The groups with a rule whose peer is `groupId`: ingress (`ip-permission.group-id`) or egress
 * (`egress.ip-permission.group-id`). While any such rule exists EC2 refuses to delete the group
 * (DependencyViolation), whatever the config says the RDS group is.
 */
export async function findGroupsReferencing(ec2: EC2Client, groupId: string): Promise<SecurityGroupState[]> {
  const [ingress, egress] = await Promise.all([
    describeGroups(ec2, { Filters: [{ Name: 'ip-permission.group-id', Values: [groupId] }] }),
    describeGroups(ec2, { Filters: [{ Name: 'egress.ip-permission.group-id', Values: [groupId] }] }),
  ]);
  const byId = new Map([...ingress, ...egress].map((g) => [g.GroupId ?? '', toState(g)]));
  return [...byId.values()];
}

/**
 * Delete a group. Returns 'deleted', 'missing', or 'in-use' (DependencyViolation: an ENI or another
 * group's rule still refers to it) so the caller can wait or explain.
 */
export async function deleteSecurityGroup(
  ec2: EC2Client,
  groupId: string,
): Promise<'deleted' | 'missing' | 'in-use'> {
  try {
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: groupId }));
    return 'deleted';
  } catch (err) {
    if (isEc2Error(err, 'InvalidGroup.NotFound')) return 'missing';
    if (isEc2Error(err, 'DependencyViolation')) return 'in-use';
    throw err;
  }
}

/** Ids of the network interfaces that still use a security group (Lambda's hyperplane ENIs). */
export async function listNetworkInterfaceIds(ec2: EC2Client, groupId: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const page of paginateDescribeNetworkInterfaces(pagesOf(ec2), {
    Filters: [{ Name: 'group-id', Values: [groupId] }],
  }))
    for (const n of page.NetworkInterfaces ?? []) if (n.NetworkInterfaceId) ids.push(n.NetworkInterfaceId);
  return ids;
}

/** All VPCs of the region, or only the given one. An unknown id gives an empty list. */
export async function listVpcs(ec2: EC2Client, vpcId?: string): Promise<VpcInfo[]> {
  const vpcs: VpcInfo[] = [];
  try {
    for await (const page of paginateDescribeVpcs(pagesOf(ec2), vpcId ? { VpcIds: [vpcId] } : {}))
      for (const v of page.Vpcs ?? [])
        vpcs.push({
          id: v.VpcId ?? '',
          cidr: v.CidrBlock ?? '',
          isDefault: Boolean(v.IsDefault),
          name: nameTag(v.Tags),
        });
  } catch (err) {
    if (isEc2Error(err, 'InvalidVpcID.NotFound')) return [];
    throw err;
  }
  return vpcs;
}

/** Subnets by id, or all subnets of a VPC. Unknown ids are simply absent from the result. */
export async function listSubnets(
  ec2: EC2Client,
  query: { subnetIds?: string[]; vpcId?: string },
): Promise<SubnetInfo[]> {
  const subnets: SubnetInfo[] = [];
  const input = query.subnetIds
    ? { SubnetIds: query.subnetIds }
    : { Filters: [{ Name: 'vpc-id', Values: [query.vpcId ?? ''] }] };
  try {
    for await (const page of paginateDescribeSubnets(pagesOf(ec2), input))
      for (const s of page.Subnets ?? [])
        subnets.push({
          id: s.SubnetId ?? '',
          vpcId: s.VpcId ?? '',
          az: s.AvailabilityZone ?? '',
          cidr: s.CidrBlock ?? '',
          name: nameTag(s.Tags),
          availableIps: s.AvailableIpAddressCount ?? 0,
        });
  } catch (err) {
    // One unknown id fails the whole call; the caller reports which ids are missing.
    if (isEc2Error(err, 'InvalidSubnetID.NotFound') && query.subnetIds && query.subnetIds.length > 1) {
      const found = await Promise.all(query.subnetIds.map((id) => listSubnets(ec2, { subnetIds: [id] })));
      return found.flat();
    }
    if (isEc2Error(err, 'InvalidSubnetID.NotFound')) return [];
    throw err;
  }
  return subnets;
}

export interface SubnetRouting {
  /** A default route to an internet gateway: the subnet is public. */
  internetGateway: boolean;
  /** A default route to a NAT gateway or NAT instance: the subnet reaches AWS public endpoints. */
  nat: boolean;
  /** The route table the subnet uses (its own association, else the VPC's main table). */
  routeTableId?: string | undefined;
}

/**
 * Where each subnet's default route goes. A subnet without an explicit route table association
 * uses the VPC's main table.
 */
export async function describeSubnetRouting(
  ec2: EC2Client,
  vpcId: string,
  subnetIds: string[],
): Promise<Map<string, SubnetRouting>> {
  const tables: { id: string; main: boolean; subnets: string[]; routing: SubnetRouting }[] = [];
  for await (const page of paginateDescribeRouteTables(pagesOf(ec2), {
    Filters: [{ Name: 'vpc-id', Values: [vpcId] }],
  })) {
    for (const t of page.RouteTables ?? []) {
      const live = (t.Routes ?? []).filter(
        (r) =>
          r.State !== 'blackhole' &&
          (r.DestinationCidrBlock === '0.0.0.0/0' || r.DestinationIpv6CidrBlock === '::/0'),
      );
      tables.push({
        id: t.RouteTableId ?? '',
        main: (t.Associations ?? []).some((a) => a.Main),
        subnets: (t.Associations ?? []).flatMap((a) => (a.SubnetId ? [a.SubnetId] : [])),
        routing: {
          internetGateway: live.some((r) => r.GatewayId?.startsWith('igw-')),
          nat: live.some((r) => Boolean(r.NatGatewayId) || Boolean(r.InstanceId)),
        },
      });
    }
  }
  const main = tables.find((t) => t.main);
  const result = new Map<string, SubnetRouting>();
  for (const id of subnetIds) {
    const table = tables.find((t) => t.subnets.includes(id)) ?? main;
    result.set(
      id,
      table ? { ...table.routing, routeTableId: table.id } : { internetGateway: false, nat: false },
    );
  }
  return result;
}

/** The subnets (of those given) whose default route goes to an internet gateway: public subnets. */
export async function findPublicSubnets(
  ec2: EC2Client,
  vpcId: string,
  subnetIds: string[],
): Promise<Set<string>> {
  const routing = await describeSubnetRouting(ec2, vpcId, subnetIds);
  return new Set(subnetIds.filter((id) => routing.get(id)?.internetGateway));
}

export interface VpcEndpointInfo {
  id: string;
  /** `Interface` (network interfaces in subnets, with security groups) or `Gateway` (route tables). */
  type: string;
  serviceName: string;
  vpcId: string;
  /** Lower case: `available`, `pending`, `deleting`... */
  state: string;
  privateDns: boolean;
  subnetIds: string[];
  securityGroupIds: string[];
  routeTableIds: string[];
  tags: Record<string, string>;
}

/** An endpoint that is or will be usable: not being deleted, deleted, failed, rejected or expired. */
export function liveEndpoint(e: VpcEndpointInfo): boolean {
  return !['deleting', 'deleted', 'failed', 'rejected', 'expired'].includes(e.state);
}

/**
 * The endpoints of a VPC for one service, e.g. `com.amazonaws.us-east-1.secretsmanager`; with a
 * type, only endpoints of that type (the S3 service has both gateway and interface endpoints).
 */
export async function findVpcEndpoints(
  ec2: EC2Client,
  vpcId: string,
  serviceName: string,
  type?: 'Gateway' | 'Interface',
): Promise<VpcEndpointInfo[]> {
  const found: VpcEndpointInfo[] = [];
  for await (const page of paginateDescribeVpcEndpoints(pagesOf(ec2), {
    Filters: [
      { Name: 'vpc-id', Values: [vpcId] },
      { Name: 'service-name', Values: [serviceName] },
      ...(type ? [{ Name: 'vpc-endpoint-type', Values: [type] }] : []),
    ],
  }))
    for (const e of page.VpcEndpoints ?? [])
      found.push({
        id: e.VpcEndpointId ?? '',
        type: e.VpcEndpointType ?? type ?? '',
        serviceName: e.ServiceName ?? serviceName,
        vpcId: e.VpcId ?? vpcId,
        state: (e.State ?? '').toLowerCase(),
        privateDns: Boolean(e.PrivateDnsEnabled),
        subnetIds: [...(e.SubnetIds ?? [])].sort(),
        securityGroupIds: (e.Groups ?? []).flatMap((g) => (g.GroupId ? [g.GroupId] : [])).sort(),
        routeTableIds: [...(e.RouteTableIds ?? [])].sort(),
        tags: Object.fromEntries((e.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
      });
  return found;
}

/** An endpoint to make: an interface endpoint in subnets with security groups, or a gateway endpoint on route tables. */
export type VpcEndpointSpec = {
  vpcId: string;
  serviceName: string;
  tags: Record<string, string>;
} & (
  | { type: 'Interface'; subnetIds: string[]; securityGroupIds: string[]; privateDns: boolean }
  | { type: 'Gateway'; routeTableIds: string[] }
);

/** Create the endpoint; returns its id. */
export async function createVpcEndpoint(ec2: EC2Client, spec: VpcEndpointSpec): Promise<string> {
  const out = await ec2.send(
    new CreateVpcEndpointCommand({
      VpcId: spec.vpcId,
      ServiceName: spec.serviceName,
      VpcEndpointType: spec.type,
      ...(spec.type === 'Interface'
        ? {
            SubnetIds: spec.subnetIds,
            SecurityGroupIds: spec.securityGroupIds,
            PrivateDnsEnabled: spec.privateDns,
          }
        : { RouteTableIds: spec.routeTableIds }),
      TagSpecifications: [
        {
          ResourceType: 'vpc-endpoint',
          Tags: Object.entries(spec.tags).map(([Key, Value]) => ({ Key, Value })),
        },
      ],
    }),
  );
  return out.VpcEndpoint?.VpcEndpointId ?? '';
}

/** Add route tables to a gateway endpoint (each gets a route to the service's prefix list). */
export async function addEndpointRouteTables(
  ec2: EC2Client,
  endpointId: string,
  routeTableIds: string[],
): Promise<void> {
  if (routeTableIds.length === 0) return;
  await ec2.send(
    new ModifyVpcEndpointCommand({ VpcEndpointId: endpointId, AddRouteTableIds: routeTableIds }),
  );
}

/**
 * The id of an AWS-managed prefix list by name (`com.amazonaws.<region>.s3`: S3's addresses in the
 * region, what a security group rule to S3 through a gateway endpoint names), or undefined.
 */
export async function findManagedPrefixList(ec2: EC2Client, name: string): Promise<string | undefined> {
  for await (const page of paginateDescribeManagedPrefixLists(pagesOf(ec2), {
    Filters: [{ Name: 'prefix-list-name', Values: [name] }],
  }))
    for (const p of page.PrefixLists ?? []) if (p.PrefixListId) return p.PrefixListId;
  return undefined;
}

/** Delete endpoints; ids already gone are not an error (EC2 reports them as unsuccessful items). */
export async function deleteVpcEndpoints(ec2: EC2Client, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  const out = await ec2.send(new DeleteVpcEndpointsCommand({ VpcEndpointIds: ids }));
  const failed = (out.Unsuccessful ?? []).filter((u) => u.Error?.Code !== 'InvalidVpcEndpoint.NotFound');
  if (failed.length > 0) {
    const first = failed[0];
    throw new EC2ServiceException({
      name: first?.Error?.Code ?? 'DeleteVpcEndpointsFailed',
      $fault: 'client',
      message: `could not delete ${failed.map((f) => f.ResourceId).join(', ')}: ${first?.Error?.Message ?? ''}`,
      $metadata: {},
    });
  }
}
