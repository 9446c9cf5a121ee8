import './provided-context.js';
import type { TestProject } from 'vitest/node';
import { envImageName, envUrlName, requiredBackends, SERVER_KINDS, type ServerInfo, type ServerKind, type ServerMap } from './servers.js';

/**
 * Runs once per `vitest run`: finds a server for each database kind and provides the result to
 * the workers. Containers started here are stopped in the returned teardown.
 */

const DEFAULT_IMAGES: Record<ServerKind, string> = {
  postgres: 'postgres:16-alpine',
  mariadb: 'mariadb:11',
  mysql: 'mysql:8.4',
  mongodb: 'mongo:8',
};

type Stoppable = { stop(): Promise<unknown> };
const started: Stoppable[] = [];

async function containerRuntimeAvailable(): Promise<string | undefined> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return undefined;
  } catch (error) {
    return `no container runtime for Testcontainers (${(error as Error).message.split('\n')[0]})`;
  }
}

async function startContainer(kind: ServerKind, image: string): Promise<string> {
  switch (kind) {
    case 'postgres': {
      const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
      const c = await new PostgreSqlContainer(image).start();
      started.push(c);
      return c.getConnectionUri();
    }
    case 'mariadb':
    case 'mysql': {
      const { MariaDbContainer } = await import('@testcontainers/mariadb');
      const c = await new MariaDbContainer(image).withUsername('root').withUserPassword('test').start();
      started.push(c);
      return `mysql://root:test@${c.getHost()}:${c.getPort()}/${c.getDatabase()}`;
    }
    case 'mongodb':
      return startMongoContainer(image);
  }
}

async function startMongoContainer(image: string): Promise<string> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const c = await new GenericContainer(image)
    .withCommand(['--replSet', 'rs0', '--bind_ip_all'])
    .withExposedPorts(27017)
    .withWaitStrategy(Wait.forLogMessage(/Waiting for connections/))
    .start();
  started.push(c);
  const init = await c.exec(['mongosh', '--quiet', '--eval', `rs.initiate({_id:'rs0',members:[{_id:0,host:'127.0.0.1:27017'}]}); while (!db.hello().isWritablePrimary) sleep(100);`]);
  if (init.exitCode !== 0) throw new Error(`replica-set initiation failed: ${init.output}`);
  return `mongodb://${c.getHost()}:${c.getMappedPort(27017)}/?directConnection=true`;
}

/**
 * What a kind falls back to when neither an env URL nor Testcontainers gives a server
 * (MongoDB: mongodb-memory-server, then the wire-protocol emulator in test/support).
 */
export type FallbackResult = { url: string; source: string; stop?: () => Promise<unknown> } | { skip: string };
const fallbacks: Partial<Record<ServerKind, () => Promise<FallbackResult>>> = {
  mongodb: async () => (await import('./mongo-fallback.js')).mongoFallback(),
};

export default async function setup(project: TestProject) {
  const env = process.env;
  const required = requiredBackends(env);
  let runtimeProblem: string | undefined | null = null;
  const servers = {} as ServerMap;

  for (const kind of SERVER_KINDS) {
    let info: ServerInfo;
    const url = env[envUrlName(kind)];
    if (url) {
      info = { kind, url, source: envUrlName(kind) };
    } else {
      if (runtimeProblem === null) runtimeProblem = await containerRuntimeAvailable();
      if (runtimeProblem === undefined) {
        const image = env[envImageName(kind)] ?? DEFAULT_IMAGES[kind];
        try {
          info = { kind, url: await startContainer(kind, image), source: `Testcontainers (${image})` };
        } catch (error) {
          info = { kind, skip: `Testcontainers could not start ${image}: ${(error as Error).message.split('\n')[0]}` };
        }
      } else {
        info = { kind, skip: `${envUrlName(kind)} is not set and ${runtimeProblem}` };
      }
      if ('skip' in info) {
        const fallback = fallbacks[kind];
        if (fallback) {
          const found = await fallback();
          if ('url' in found) {
            if (found.stop) started.push({ stop: found.stop });
            info = { kind, url: found.url, source: found.source };
          } else info = { kind, skip: `${info.skip}; ${found.skip}` };
        }
      }
    }
    servers[kind] = info;
    const line = 'url' in info ? `${kind}: ${info.source}` : `${kind}: SKIPPED — ${info.skip}`;
    console.log(`[polystore tests] ${line}`);
    if ('skip' in info && required.has(kind)) {
      await teardown();
      throw new Error(`TEST_REQUIRE names ${kind}, but it cannot run: ${info.skip}`);
    }
  }
  project.provide('servers', servers);
  return teardown;
}

async function teardown(): Promise<void> {
  await Promise.allSettled(started.splice(0).map((c) => c.stop()));
}
