/**
 * The RDS instance behind `database.host` (the guide's Security Checklist "RDS in private subnet",
 * Next Steps "Set up automated backups for RDS", Troubleshooting "Database Connection Errors": RDS
 * in the same VPC, its security group, and too many connections), read with DescribeDBInstances;
 * and, with Secrets Manager, what the function's role may read. chatbot-ops never changes the
 * database: each fix says what to change in RDS.
 */
import { type IamStatement, policyStatements, policyValues } from '../../aws/iam.js';
import { POOL_SIZE } from '../../lambda/database.js';
import type { AwsFacts } from '../aws-facts.js';
import { type Check, fail, pass, skipBecause, warn } from '../engine.js';
import { maxConnectionsOf } from '../max-connections.js';

const GROUP = 'Database (RDS)';
/** Engines the backend's driver (mysql2) speaks; the guide uses MariaDB. */
const ENGINES = new Set(['mariadb', 'mysql']);

const modify = (id: string, option: string) =>
  `aws rds modify-db-instance --db-instance-identifier ${id} ${option} --apply-immediately`;

export const databaseChecks: Check<AwsFacts>[] = [
  {
    id: 'rds.instance',
    group: GROUP,
    title: 'RDS instance behind database.host',
    async run(f) {
      const db = await f.dbLookup();
      if (!db)
        return warn(
          `no RDS instance in this account and region has the endpoint ${f.config.database.host}: the RDS checks cannot run`,
          'Check database.host (the instance endpoint, from `aws rds describe-db-instances`) and --region; an RDS Proxy, a cluster endpoint or an instance in another account is not read.',
        );
      const seen = `${db.id} (${db.instanceClass}, ${db.engine} ${db.engineVersion}, ${db.status})`;
      if (db.status !== 'available')
        return warn(
          `${seen}: not available`,
          'Wait for the instance to be available, or see its events in the RDS console.',
        );
      return pass(seen);
    },
  },
  {
    id: 'rds.public',
    group: GROUP,
    title: 'not publicly accessible',
    async run(f) {
      const db = await f.dbInstance();
      if (db.publiclyAccessible)
        return fail(
          `${db.id} is publicly accessible: its endpoint resolves to a public address, one security group rule away from the internet`,
          `Turn it off: ${modify(db.id, '--no-publicly-accessible')} (the function reaches it inside the VPC).`,
        );
      return pass(`${db.id} is reachable only inside its VPC`);
    },
  },
  {
    id: 'rds.encryption',
    group: GROUP,
    title: 'storage encrypted',
    async run(f) {
      const db = await f.dbInstance();
      if (!db.storageEncrypted)
        return warn(
          `${db.id}'s storage is not encrypted`,
          'Encryption cannot be switched on in place: snapshot the instance, copy the snapshot with encryption (a KMS key), restore from the copy and point database.host at the new endpoint.',
        );
      return pass('storage encrypted at rest');
    },
  },
  {
    id: 'rds.backups',
    group: GROUP,
    title: 'automated backups',
    async run(f) {
      const db = await f.dbInstance();
      if (db.backupRetentionDays <= 0)
        return fail(
          `${db.id} keeps no automated backups (retention 0 days): a failure loses the access logs`,
          `Keep 7 days or more: ${modify(db.id, '--backup-retention-period 7')}.`,
        );
      return pass(`kept ${db.backupRetentionDays} day${db.backupRetentionDays === 1 ? '' : 's'}`);
    },
  },
  {
    id: 'rds.deletion-protection',
    group: GROUP,
    title: 'deletion protection',
    async run(f) {
      const db = await f.dbInstance();
      if (!db.deletionProtection)
        return warn(
          `${db.id} can be deleted in one call`,
          `Turn it on: ${modify(db.id, '--deletion-protection')}.`,
        );
      return pass('on');
    },
  },
  {
    id: 'rds.multi-az',
    group: GROUP,
    title: 'Multi-AZ',
    async run(f) {
      const db = await f.dbInstance();
      if (!db.multiAz)
        return warn(
          `${db.id} runs in one availability zone: an outage of that zone stops the backend`,
          `For production, add a standby: ${modify(db.id, '--multi-az')} (it doubles the instance cost).`,
        );
      return pass('a standby in another availability zone');
    },
  },
  {
    id: 'rds.engine',
    group: GROUP,
    title: 'engine version supported',
    async run(f) {
      const db = await f.dbInstance();
      const seen = `${db.engine} ${db.engineVersion}`;
      if (!ENGINES.has(db.engine))
        return fail(
          `${seen}: the backend speaks MariaDB or MySQL`,
          'Point database.host at a MariaDB (or MySQL) instance.',
        );
      const status = await f.engineStatus();
      const upgrade = `Upgrade to a supported version: ${modify(db.id, '--engine-version <version>')} (see \`aws rds describe-db-engine-versions --engine ${db.engine}\`).`;
      if (status === undefined) return fail(`RDS no longer lists ${seen}`, upgrade);
      if (status !== 'available')
        return fail(`${seen} is ${status}: RDS will upgrade it on its own schedule`, upgrade);
      return pass(`${seen}, available`);
    },
  },
  {
    id: 'rds.security-groups',
    group: GROUP,
    title: "instance uses the config's RDS security group",
    async run(f) {
      const wanted = f.config.vpc.rdsSecurityGroupId;
      if (!wanted) skipBecause('vpc.rdsSecurityGroupId is not in the config');
      const db = await f.dbInstance();
      if (!db.securityGroupIds.includes(wanted))
        return fail(
          `${db.id} uses ${db.securityGroupIds.join(', ') || 'no security group'}, not ${wanted}: the rule that admits the function is on a group the instance does not use`,
          `Set vpc.rdsSecurityGroupId to one of ${db.securityGroupIds.join(', ')} and run \`chatbot-ops configure-vpc\`, or add ${wanted} to the instance (${modify(db.id, `--vpc-security-group-ids ${[...db.securityGroupIds, wanted].join(' ')}`)}).`,
        );
      return pass(`${db.securityGroupIds.join(', ')}`);
    },
  },
  {
    id: 'rds.vpc',
    group: GROUP,
    title: 'same VPC as the function',
    async run(f) {
      const [db, vpc] = await Promise.all([f.dbInstance(), f.vpcId()]);
      if (db.vpcId !== vpc)
        return fail(
          `${db.id} is in ${db.vpcId ?? 'no VPC'}, the function in ${vpc}: the function cannot reach it (RDS must be in the same VPC as Lambda)`,
          "Set vpc.vpcId and vpc.subnetIds to the instance's VPC and its private subnets, then `chatbot-ops configure-vpc` and `create-function`.",
        );
      return pass(vpc);
    },
  },
  {
    id: 'rds.connections',
    group: GROUP,
    title: 'concurrency × pool size within max_connections',
    async run(f) {
      const [db, parameter, reserved] = await Promise.all([
        f.dbInstance(),
        f.maxConnectionsParameter(),
        f.reservedConcurrency(),
      ]);
      const max = maxConnectionsOf(db.instanceClass, parameter);
      if (!max)
        skipBecause(
          `max_connections of ${db.instanceClass} is not known here (set max_connections in its parameter group)`,
        );
      const concurrency =
        reserved ?? (await f.accountConcurrency()).unreserved ?? (await f.accountConcurrency()).limit ?? 1000;
      const connections = concurrency * POOL_SIZE;
      const seen = `${reserved === undefined ? `no reserved concurrency: up to ${concurrency} instances (the account's unreserved concurrency)` : `reserved concurrency ${reserved}`} × ${POOL_SIZE} connections each = ${connections}; max_connections ${max.value} (${max.source})`;
      if (connections > max.value) {
        const fits = Math.max(1, Math.floor((max.value * 0.8) / POOL_SIZE));
        return warn(
          `${seen}: under load the database refuses connections ("Too many connections") and the backend answers 503`,
          `Set function.reservedConcurrency to ${fits} or less (80 % of max_connections over ${POOL_SIZE} connections per instance, room left for other clients) and run \`chatbot-ops concurrency\`, or raise max_connections in a custom parameter group.`,
        );
      }
      return pass(seen);
    },
  },
  {
    id: 'secrets.role',
    group: 'Secrets Manager',
    title: 'role may read the secret, and only it',
    async run(f) {
      const fn = await f.deployedFn();
      const secretArn = fn.environment.DB_SECRET_ARN ?? f.config.database.secretArn;
      if (!secretArn) skipBecause('the function does not read a secret (no DB_SECRET_ARN)');
      const role = await f.role();
      const grants = role.inline.flatMap((p) =>
        policyStatements(p.document)
          .filter((s) => s.Effect === 'Allow' && actionsOf(s).some(readsSecrets))
          .map((s) => ({ policy: p.name, resources: policyValues(s.Resource) })),
      );
      const broadManaged = role.attached.filter((a) =>
        /:policy\/(SecretsManagerReadWrite|AdministratorAccess|PowerUserAccess)$/.test(a),
      );
      const readsIt =
        grants.some((g) => g.resources.some((r) => covers(r, secretArn))) || broadManaged.length > 0;
      if (!readsIt)
        return fail(
          `no policy of role ${role.name} allows secretsmanager:GetSecretValue on ${secretArn}: the function cannot read its database credentials`,
          'Run `chatbot-ops create-role`: it adds SecretsManagerReadPolicy for the secret database.secretArn names.',
        );
      const others = [
        ...grants.flatMap((g) =>
          g.resources.filter((r) => !sameSecret(r, secretArn)).map((r) => `${g.policy} (${r})`),
        ),
        ...broadManaged.map((a) => a.split('/').pop() ?? a),
      ];
      if (others.length > 0)
        return warn(
          `role ${role.name} may read other secrets too: ${others.join('; ')}`,
          `Scope secret reads to ${secretArn} alone (\`chatbot-ops create-role\` writes SecretsManagerReadPolicy so) and detach broad policies.`,
        );
      return pass(`only ${secretArn}`);
    },
  },
];

const actionsOf = (s: IamStatement) => policyValues(s.Action);
const readsSecrets = (a: string) => /^(\*|secretsmanager:(\*|GetSecretValue|Get\*))$/i.test(a);

/** An IAM resource pattern (`*`, `?`) as a RegExp. */
const pattern = (glob: string) =>
  new RegExp(
    `^${glob
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );

/**
 * A secret's full ARN ends in `-` and six random characters; configs and policies often name it
 * without them, or with `-??????`. Two names are the same secret when they agree up to that suffix.
 */
const secretBase = (arn: string) => arn.replace(/-([A-Za-z0-9]{6}|\?{6}|\*)$/, '');
const sameSecret = (resource: string, secretArn: string) => secretBase(resource) === secretBase(secretArn);
const covers = (resource: string, secretArn: string) =>
  sameSecret(resource, secretArn) ||
  pattern(resource).test(secretArn) ||
  pattern(resource).test(`${secretBase(secretArn)}-AbCdEf`);
