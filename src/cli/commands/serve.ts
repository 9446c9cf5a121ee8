import { runServer } from '../../server.js';
import { parseArgs } from '../args.js';
import { SETTINGS_HINT, type Command } from '../command.js';

export const serve: Command = {
  name: 'serve',
  summary: 'Run the HTTP API',
  usage: `polystore serve [--port 3000] [--host 127.0.0.1] [--database-type sqlite] [--database-url ./data/polystore.db] ...

Opens the database, applies pending migrations when MIGRATE_ON_START allows, and serves the API
until SIGTERM or SIGINT, then finishes in-flight requests (up to SHUTDOWN_TIMEOUT_MS) and exits 0.
${SETTINGS_HINT}`,
  async run(argv) {
    const { settings } = parseArgs(argv, { settings: true });
    await runServer({ flags: settings });
    return undefined;
  },
};
