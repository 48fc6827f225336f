/**
 * vitest globalSetup: one private MariaDB for the whole run (unless DB_HOST names a server),
 * handed to test files through `inject('mariadb')`. Each test file makes its own database.
 */
import type { TestProject } from 'vitest/node';
import { startMariaDb } from '../../src/db/server.js';

export interface TestServer {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Pid when this set-up started the server (tests that stop and restart it need it). */
  pid: number | null;
  dataDir: string | null;
}

declare module 'vitest' {
  export interface ProvidedContext {
    mariadb: TestServer;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.DB_HOST) {
    project.provide('mariadb', {
      host: process.env.DB_HOST,
      port: Number(process.env.DB_PORT ?? 3306),
      user: process.env.DB_USER ?? 'root',
      password: process.env.DB_PASSWORD ?? '',
      pid: null,
      dataDir: null,
    });
    return async () => {};
  }
  const server = await startMariaDb();
  project.provide('mariadb', {
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    pid: server.pid,
    dataDir: server.dataDir,
  });
  return () => server.stop();
}
