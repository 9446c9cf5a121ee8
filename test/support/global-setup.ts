import './provided-context.js';
import type { TestProject } from 'vitest/node';
import { BACKENDS } from '../../database/registry.js';
import { cannotRun, envImageName, envUrlName, SERVER_KINDS, type ServerInfo, type ServerMap } from './servers.js';

/**
 * Runs once per `vitest run`: finds a server for each kind the registered backends need and
 * provides the result to the workers. Containers started here are stopped in the returned teardown.
 */

type Stoppable = { stop(): Promise<unknown> };
const started: Stoppable[] = [];

/**
 * Whether Testcontainers can be used: `runtime` says why not when no container runtime answers (the
 * server kinds are then skipped); `helper` says why its helper container (ryuk, which removes the
 * containers of a run that died) could not start although a runtime answered (they then fail).
 */
async function containerRuntimeAvailable(): Promise<{ runtime?: string; helper?: string }> {
  let testcontainers: typeof import('testcontainers');
  let client: Awaited<ReturnType<typeof testcontainers.getContainerRuntimeClient>>;
  try {
    testcontainers = await import('testcontainers');
    client = await testcontainers.getContainerRuntimeClient();
  } catch (error) {
    return { runtime: `no container runtime for Testcontainers (${firstLine(error)})` };
  }
  try {
    await testcontainers.getReaper(client); // started once per run; the containers started later reuse it
    return {};
  } catch (error) {
    const image = process.env.RYUK_CONTAINER_IMAGE ?? 'testcontainers/ryuk';
    return {
      helper:
        `Testcontainers could not start its helper container (${image}): ${firstLine(error)} — set ` +
        'RYUK_CONTAINER_IMAGE to a copy of that image, or TESTCONTAINERS_RYUK_DISABLED=true',
    };
  }
}

const firstLine = (error: unknown) => (String((error as Error)?.message ?? error).split('\n')[0] ?? '').trim();

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
  let runtime: { runtime?: string; helper?: string } | undefined;
  const servers = {} as ServerMap;
  const failures: string[] = [];

  for (const kind of SERVER_KINDS) {
    let info: ServerInfo;
    /** Testcontainers was chosen for this kind: a runtime answered and no TEST_<KIND>_URL was given. */
    let meantToRun = false;
    const url = env[envUrlName(kind)];
    if (url) {
      info = { kind, url, source: envUrlName(kind) };
    } else {
      runtime ??= await containerRuntimeAvailable();
      if (runtime.runtime) {
        info = { kind, skip: `${envUrlName(kind)} is not set and ${runtime.runtime}` };
      } else if (runtime.helper) {
        meantToRun = true;
        info = { kind, skip: runtime.helper };
      } else {
        meantToRun = true;
        const image = env[envImageName(kind)] ?? serverRule(kind).image;
        try {
          info = { kind, url: await startContainer(kind, image), source: `Testcontainers (${image})` };
        } catch (error) {
          info = { kind, skip: `Testcontainers could not start ${image}: ${firstLine(error)}` };
        }
      }
      if ('skip' in info) {
        const fallback = fallbacks[kind];
        if (fallback) {
          const found = await fallback();
          if ('url' in found) {
            if (found.stop) started.push({ stop: found.stop });
            // Says why the container was not used: a fallback is never silently taken for the real server.
            info = { kind, url: found.url, source: `${found.source}, because ${info.skip}` };
          } else info = { kind, skip: `${info.skip}; ${found.skip}` };
        }
      }
    }
    let line = 'url' in info ? `${kind}: ${info.source}` : `${kind}: SKIPPED — ${info.skip}`;
    if ('skip' in info) {
      const outcome = cannotRun(kind, info.skip, meantToRun, env);
      if ('fail' in outcome) {
        failures.push(outcome.fail);
        line = `${kind}: FAILED — ${info.skip}`;
      }
    }
    servers[kind] = info;
    console.log(`[polystore tests] ${line}`);
  }
  if (failures.length > 0) {
    await teardown();
    throw new Error(failures.join('\n'));
  }
  project.provide('servers', servers);
  return teardown;
}

async function teardown(): Promise<void> {
  await Promise.allSettled(started.splice(0).map((c) => c.stop()));
}
