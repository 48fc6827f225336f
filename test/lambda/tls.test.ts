/** Which database connections use TLS: every host but loopback by default, DB_SSL overriding. */
import { rootCertificates } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { buildTlsOptions, isLoopbackHost } from '../../src/lambda/database.js';

const RDS_HOST = 'chatbot-db.c9akciq32.eu-west-1.rds.amazonaws.com';

describe('isLoopbackHost', () => {
  it.each(['127.0.0.1', '127.10.0.254', 'localhost', 'LOCALHOST', '::1', '[::1]', '::ffff:127.0.0.1'])(
    '%s is loopback',
    (host) => {
      expect(isLoopbackHost(host)).toBe(true);
    },
  );

  it.each([RDS_HOST, '10.0.1.12', '128.0.0.1', '127.0.0.256', 'localhost.example.com', '::2', '0.0.0.0'])(
    '%s is not',
    (host) => {
      expect(isLoopbackHost(host)).toBe(false);
    },
  );
});

describe('buildTlsOptions', () => {
  it('verifies an RDS host against the public roots plus the Amazon RDS authorities', async () => {
    const tls = await buildTlsOptions(RDS_HOST, undefined);

    expect(tls).toMatchObject({ rejectUnauthorized: true, verifyIdentity: true, minVersion: 'TLSv1.2' });
    const ca = (tls as { ca: string[] }).ca;
    expect(ca.slice(0, rootCertificates.length)).toEqual([...rootCertificates]);
    expect(ca.length).toBeGreaterThan(rootCertificates.length);
  });

  it.each<[string, boolean | undefined, boolean]>([
    ['127.0.0.1', undefined, false],
    ['127.0.0.1', true, true],
    [RDS_HOST, false, false],
    ['10.0.1.12', undefined, true],
  ])('host %s with DB_SSL %s: TLS %s', async (host, ssl, expected) => {
    expect((await buildTlsOptions(host, ssl)) !== undefined).toBe(expected);
  });
});
