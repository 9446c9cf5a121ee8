import { newerSchema } from '../../repositories/schema.js';
import { parseArgs } from '../args.js';
import { SETTINGS_HINT, type Command } from '../command.js';
import { withStore } from './store-session.js';

const list = (names: string[]) => (names.length === 0 ? '(none)' : names.join(', '));

export const migrate: Command = {
  name: 'migrate',
  summary: 'Apply pending database migrations, or show their status',
  usage: `polystore migrate [--status] [--database-type postgres --database-url postgres://...]

Without --status: applies the pending migrations in order and prints each one applied.
With --status: prints the known, applied, pending and unknown migrations; exits 1 when the
database has migrations this build does not know (its schema is newer than the code).
${SETTINGS_HINT}`,
  async run(argv) {
    const { settings, options } = parseArgs(argv, { settings: true, options: { status: 'boolean' } });
    return withStore(settings, async (store) => {
      const status = await store.migrator.status();
      if (options.status === true) {
        process.stdout.write(
          `${[
            `database: ${store.kind}`,
            `known:    ${list(status.known)}`,
            `applied:  ${list(status.applied)}`,
            `pending:  ${list(status.pending)}`,
            `unknown:  ${list(status.unknown)}`,
          ].join('\n')}\n`,
        );
        if (status.unknown.length > 0) {
          process.stderr.write(`polystore: ${newerSchema(store.kind, status.unknown).message}\n`);
          return 1;
        }
        return 0;
      }
      if (status.unknown.length > 0) {
        process.stderr.write(`polystore: ${newerSchema(store.kind, status.unknown).message}\n`);
        return 1;
      }
      const applied = await store.migrator.up();
      if (applied.length === 0) process.stdout.write(`the ${store.kind} database is up to date; nothing to apply\n`);
      else process.stdout.write(`${applied.map((name) => `applied ${name}`).join('\n')}\n`);
      return 0;
    });
  },
};
