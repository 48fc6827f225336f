/**
 * The function's network (guide step 4; Troubleshooting "Database Connection Errors" and "VPC ENI
 * Creation Delays"; Security Checklist "Lambda in VPC", "RDS in private subnet", "Security groups
 * configured correctly").
 */
import type { SecurityGroupState, SgRule } from '../../aws/ec2.js';
import type { AwsFacts } from '../aws-facts.js';
import { type Check, fail, pass, skipBecause, warn } from '../engine.js';

const MYSQL = 3306;
const HTTPS = 443;
const CONFIGURE_VPC = 'Run `chatbot-ops configure-vpc` (guide step 4)';
/** Lambda needs an address per subnet and security-group combination, more while scaling out. */
const FEW_ADDRESSES = 16;

function coversPort(rule: SgRule, port: number): boolean {
  if (rule.protocol === '-1') return true;
  if (rule.protocol !== 'tcp' && rule.protocol !== '6') return false;
  return (rule.fromPort ?? 0) <= port && port <= (rule.toPort ?? 65535);
}

const isAnywhere = (r: SgRule) => r.cidr === '0.0.0.0/0' || r.cidrV6 === '::/0';

/** How the Lambda groups reach the RDS group on 3306: 'group' (the rule configure-vpc adds), 'anywhere', or none. */
function egressToRds(
  lambdaGroups: SecurityGroupState[],
  rdsGroupId: string,
): 'group' | 'anywhere' | undefined {
  const rules = lambdaGroups.flatMap((g) => g.egress).filter((r) => coversPort(r, MYSQL));
  if (rules.some((r) => r.groupId === rdsGroupId)) return 'group';
  if (rules.some(isAnywhere)) return 'anywhere';
  return undefined;
}

export const networkChecks: Check<AwsFacts>[] = [
  {
    id: 'vpc.attached',
    group: 'Network',
    title: 'function in the VPC',
    async run(f) {
      const fn = await f.deployedFn();
      if (fn.subnetIds.length === 0) {
        return fail(
          'the function has no VPC configuration: it cannot reach a private RDS instance ("Failed to connect to database")',
          `${CONFIGURE_VPC}; it puts the function in the configured private subnets with the Lambda security group.`,
        );
      }
      const vpc = await f.vpcId();
      const wanted = f.config.vpc.vpcId;
      if (wanted && vpc !== wanted) {
        return fail(
          `the function is in ${vpc}, the config names ${wanted} (RDS must be in the same VPC as Lambda)`,
          `Check vpc.vpcId and vpc.subnetIds in the config, then ${CONFIGURE_VPC}.`,
        );
      }
      return pass(
        `${vpc}, subnets ${fn.subnetIds.join(', ')}, security groups ${fn.securityGroupIds.join(', ')}`,
      );
    },
  },
  {
    id: 'vpc.private-subnets',
    group: 'Network',
    title: 'subnets private',
    async run(f) {
      const routing = await f.routing();
      const publicIds = [...routing].filter(([, r]) => r.internetGateway).map(([id]) => id);
      if (publicIds.length > 0) {
        return warn(
          `${publicIds.join(', ')} route${publicIds.length === 1 ? 's' : ''} to an internet gateway: a function there gets no public address, so it has no internet access (Secrets Manager, other AWS APIs) and sits next to public hosts`,
          `Use private subnets (the ones RDS uses) in vpc.subnetIds, then ${CONFIGURE_VPC}.`,
        );
      }
      return pass(
        `${routing.size} subnet${routing.size === 1 ? '' : 's'}, none routes to an internet gateway`,
      );
    },
  },
  {
    id: 'vpc.availability-zones',
    group: 'Network',
    title: 'subnets in two or more zones',
    async run(f) {
      const subnets = await f.subnets();
      const zones = [...new Set(subnets.map((s) => s.az))].sort();
      if (zones.length < 2) {
        return warn(
          `all subnets are in ${zones[0] ?? 'one zone'}: an outage of that zone stops the function`,
          `Add a private subnet in another availability zone to vpc.subnetIds, then ${CONFIGURE_VPC}.`,
        );
      }
      return pass(`zones ${zones.join(', ')}`);
    },
  },
  {
    id: 'vpc.free-addresses',
    group: 'Network',
    title: 'free addresses for network interfaces',
    async run(f) {
      const subnets = await f.subnets();
      const fn = await f.deployedFn();
      const missing = fn.subnetIds.filter((id) => !subnets.some((s) => s.id === id));
      if (missing.length > 0) {
        return fail(
          `subnet${missing.length === 1 ? '' : 's'} ${missing.join(', ')} no longer exist${missing.length === 1 ? 's' : ''}`,
          `Fix vpc.subnetIds, then ${CONFIGURE_VPC}.`,
        );
      }
      const seen = subnets.map((s) => `${s.id} ${s.availableIps}`).join(', ');
      const empty = subnets.filter((s) => s.availableIps === 0);
      if (empty.length === subnets.length) {
        return fail(
          `no free addresses (${seen}): Lambda cannot create network interfaces`,
          'Free addresses in these subnets or add larger subnets to vpc.subnetIds (ensure sufficient ENI capacity).',
        );
      }
      if (subnets.some((s) => s.availableIps < FEW_ADDRESSES)) {
        return warn(
          `few free addresses (${seen}): cold starts may wait for network interfaces`,
          'Ensure sufficient ENI capacity: use larger subnets or more of them for redundancy.',
        );
      }
      return pass(`free addresses: ${seen}`);
    },
  },
  {
    id: 'vpc.security-groups',
    group: 'Network',
    title: 'security groups Lambda → RDS on 3306',
    async run(f) {
      const rdsId = f.config.vpc.rdsSecurityGroupId;
      if (!rdsId) skipBecause('vpc.rdsSecurityGroupId is not in the config');
      const [lambdaGroups, rds, vpc] = await Promise.all([f.lambdaGroups(), f.rdsGroup(), f.vpcId()]);
      if (!rds)
        return fail(
          `the RDS security group ${rdsId} does not exist`,
          'Set vpc.rdsSecurityGroupId to the group on the RDS instance, then `chatbot-ops configure-vpc`.',
        );
      if (lambdaGroups.length === 0) return fail('the function has no security group', `${CONFIGURE_VPC}.`);
      const lambdaIds = lambdaGroups.map((g) => g.id);
      const problems: string[] = [];
      if (rds.vpcId !== vpc)
        problems.push(
          `the RDS group is in ${rds.vpcId}, the function in ${vpc} (RDS must be in the same VPC as Lambda)`,
        );
      const egress = egressToRds(lambdaGroups, rds.id);
      if (!egress) problems.push(`no egress rule of ${lambdaIds.join(', ')} allows TCP 3306 to ${rds.id}`);
      const ingress = rds.ingress.filter((r) => coversPort(r, MYSQL));
      const admitsLambda = ingress.some((r) => r.groupId !== undefined && lambdaIds.includes(r.groupId));
      if (!admitsLambda)
        problems.push(`the RDS group ${rds.id} does not admit TCP 3306 from ${lambdaIds.join(', ')}`);
      if (problems.length > 0) {
        return fail(
          problems.join('; '),
          `${CONFIGURE_VPC}: the Lambda group's egress TCP 3306 to the RDS group, and the RDS group's ingress TCP 3306 from the Lambda group.`,
        );
      }
      const open = ingress.filter(isAnywhere);
      if (open.length > 0) {
        return warn(
          `the path works, but the RDS group ${rds.id} also admits 3306 from anywhere`,
          'Remove the 0.0.0.0/0 ingress rule from the RDS security group: only the Lambda group needs it.',
        );
      }
      if (egress === 'anywhere') {
        return warn(
          `${lambdaIds.join(', ')} reaches ${rds.id} through an allow-all egress rule`,
          `${CONFIGURE_VPC}: it narrows the Lambda group's egress to TCP 3306 to the RDS group (plus HTTPS with Secrets Manager).`,
        );
      }
      return pass(
        `egress ${lambdaIds.join(', ')} → ${rds.id}:3306 and ingress ${rds.id} ← ${lambdaIds.join(', ')}:3306, same VPC`,
      );
    },
  },
  {
    id: 'vpc.secrets-route',
    group: 'Network',
    title: 'route to Secrets Manager',
    async run(f) {
      const fn = await f.deployedFn();
      if (!fn.environment.DB_SECRET_ARN)
        return pass('not needed: the credentials come from the environment, not Secrets Manager');
      const [endpoints, routing] = await Promise.all([f.secretsEndpoints(), f.routing()]);
      const ready = endpoints.filter((e) => e.state === 'available');
      const withDns = ready.filter((e) => e.privateDns);
      if (withDns.length > 0) {
        // The endpoint's network interfaces answer only what their security groups admit.
        const groups = await f.secretsEndpointGroups();
        const admits = withDns.some((e) =>
          groups
            .filter((g) => e.securityGroupIds.includes(g.id))
            .some((g) =>
              g.ingress.some(
                (r) =>
                  coversPort(r, HTTPS) &&
                  (r.cidr !== undefined ||
                    (r.groupId !== undefined && fn.securityGroupIds.includes(r.groupId))),
              ),
            ),
        );
        if (!admits)
          return fail(
            `VPC endpoint ${withDns.map((e) => e.id).join(', ')} admits no HTTPS (TCP 443) from the function's security groups ${fn.securityGroupIds.join(', ')}: reading the secret times out`,
            "Allow TCP 443 from the Lambda security group in the endpoint's security group (`chatbot-ops secrets-endpoint` makes an endpoint with such a group).",
          );
        return pass(
          `VPC endpoint ${withDns.map((e) => e.id).join(', ')} (private DNS, HTTPS from the function's group)`,
        );
      }
      const viaNat = [...routing].filter(([, r]) => r.nat).map(([id]) => id);
      if (viaNat.length === routing.size && routing.size > 0)
        return pass('every subnet routes through a NAT gateway');
      if (ready.length > 0) {
        return fail(
          `VPC endpoint ${ready.map((e) => e.id).join(', ')} has private DNS off: the SDK still resolves the public name`,
          'Enable private DNS on the secretsmanager interface endpoint.',
        );
      }
      return fail(
        `DB_SECRET_ARN is set but ${viaNat.length === 0 ? 'no subnet' : `only ${viaNat.join(', ')}`} has a NAT route and the VPC has no secretsmanager endpoint: reading the secret times out`,
        "Set vpc.secretsManagerEndpoint and run `chatbot-ops secrets-endpoint` (an interface VPC endpoint for com.amazonaws.<region>.secretsmanager, private DNS on, HTTPS from the Lambda group), or add a NAT gateway route to the function's subnets.",
      );
    },
  },
];
