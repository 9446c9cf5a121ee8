import type { FallbackResult } from './global-setup.js';
import { startMongoEmulator } from './mongo-emulator/server.js';

/**
 * MongoDB for the test run when neither TEST_MONGODB_URL nor Testcontainers gives one:
 *
 * 1. mongodb-memory-server, only if it is installed and finds a mongod binary already on this
 *    machine (it is not a dependency of polystore; downloads are switched off here);
 * 2. else the wire-protocol emulator in test/support/mongo-emulator: the adapter then runs
 *    through the real driver against an in-memory stand-in. It is not MongoDB, and the test
 *    output says so.
 *
 * Runs in vitest's main process (global setup); whatever starts here lives for the whole run.
 */
export async function mongoFallback(): Promise<FallbackResult> {
  const memoryServer = await localMongoMemoryServer();
  if (memoryServer) return memoryServer;
  try {
    const emulator = await startMongoEmulator();
    return {
      url: emulator.url,
      source: 'MongoDB wire-protocol emulator (test/support/mongo-emulator; not a real MongoDB)',
      stop: () => emulator.stop(),
    };
  } catch (error) {
    return { skip: `the MongoDB wire-protocol emulator could not start: ${(error as Error).message}` };
  }
}

interface MemoryReplSet {
  getUri(): string;
  stop(): Promise<unknown>;
}

async function localMongoMemoryServer(): Promise<FallbackResult | undefined> {
  // A variable specifier: the package is optional and not installed by polystore.
  const specifier = 'mongodb-memory-server';
  let module: { MongoMemoryReplSet?: { create(options: object): Promise<MemoryReplSet> } };
  try {
    module = (await import(specifier)) as typeof module;
  } catch {
    return undefined;
  }
  const previous = process.env.MONGOMS_RUNTIME_DOWNLOAD;
  process.env.MONGOMS_RUNTIME_DOWNLOAD = 'false';
  try {
    const replSet = await module.MongoMemoryReplSet?.create({ replSet: { count: 1 } });
    if (!replSet) return undefined;
    return {
      url: replSet.getUri(),
      source: 'mongodb-memory-server (a mongod binary found on this machine)',
      stop: () => replSet.stop(),
    };
  } catch {
    return undefined;
  } finally {
    if (previous === undefined) delete process.env.MONGOMS_RUNTIME_DOWNLOAD;
    else process.env.MONGOMS_RUNTIME_DOWNLOAD = previous;
  }
}
