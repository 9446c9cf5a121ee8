import type { BackendDescriptor } from '../src/repositories/backend.js';
import { memoryBackend } from './memory/backend.js';
import { mongodbBackend } from './mongodb/backend.js';
import { mariadbBackend, mysqlBackend, postgresBackend, sqliteBackend } from './typeorm/backends.js';

/**
 * Every backend polystore can serve, one line each. Adding a backend is a folder under database/
 * exporting a descriptor (src/repositories/backend.ts), its migrations, and a line here; the
 * configuration, the store factory, the transfer commands, the test harness and the benchmark
 * read this list. test/registry.test.ts fails while a listed backend is missing from a suite.
 */
export const BACKENDS = [
  memoryBackend,
  sqliteBackend,
  postgresBackend,
  mysqlBackend,
  mariadbBackend,
  mongodbBackend,
] as const;

type Registered = (typeof BACKENDS)[number];
export type DatabaseType = Registered['type'];

/** One backend's configuration: its type plus its own typed options (a union discriminated by `type`). */
export type DatabaseConfig = Registered extends infer B
  ? B extends BackendDescriptor<infer Type, infer Options>
    ? { type: Type } & Options
    : never
  : never;

/** Any registered descriptor, with its config type erased for code that treats them alike. */
export type AnyBackend = BackendDescriptor<DatabaseType, object>;

export function registeredTypes(): readonly DatabaseType[] {
  return BACKENDS.map((b) => b.type);
}

/** The descriptor of a DATABASE_TYPE, or undefined for a name no backend has. */
export function backendFor(type: string): AnyBackend | undefined {
  return (BACKENDS as readonly AnyBackend[]).find((b) => b.type === type);
}
