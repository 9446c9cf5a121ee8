import './provided-context.js';
import type { TestProject } from 'vitest/node';
import { BACKENDS } from '../../database/registry.js';
import {
  envImageName,
  envUrlName,
  requiredBackends,
  SERVER_KINDS,
  type ServerInfo,
  type ServerMap,
} from './servers.js';

/**
 * Runs once per `vitest run`: finds a server for each kind the registered backends need and
 * provides the result to the workers. Containers started here are stopped in the returned teardown.
 */

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

/** The registered backend that needs `kind` of server: its default image and its test kit. */
function serverRule(kind: string) {
  for (const backend of BACKENDS) {
    if (backend.testing.needs === 'server' && backend.testing.server === kind) return backend.testing;
  }
  throw new Error(`no registered backend needs a ${kind} server`);
}

async function startContainer(kind: string, image: string): Promise<string> {
  const kit = await serverRule(kind).kit();
  if (!kit.startContainer) throw new Error(`the ${kind} test kit cannot start containers`);
  const container = await kit.startContainer(image);
  started.push(container);
  return container.url;
}

/**
 * What a kind falls back to when neither an env URL nor Testcontainers gives a server
 * (MongoDB: mongodb-memory-server, then the wire-protocol emulator in test/support).
 */
export type FallbackResult = { url: string; source: string; stop?: () => Promise<unknown> } | { skip: string };
const fallbacks: Record<string, () => Promise<FallbackResult>> = {
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
        const image = env[envImageName(kind)] ?? serverRule(kind).image;
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
