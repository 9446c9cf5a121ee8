import { runServer } from '../../server.js';
import { parseArgs } from '../args.js';
import { SETTINGS_HINT, type Command } from '../command.js';

export const serve: Command = {
  name: 'serve',
  summary: 'Run the HTTP API',
  usage: `polystore serve [--port 3000] [--host 127.0.0.1] [--database-type sqlite] [--database-url ./data/polystore.db] ...

Opens the database (retrying a database server that cannot be reached for up to
DATABASE_STARTUP_RETRY_MS), applies pending migrations when MIGRATE_ON_START allows, and serves
the API until SIGTERM or SIGINT, then answers in-flight requests with Connection: close, closes
idle connections and exits 0 once they are done (exit 1 after SHUTDOWN_TIMEOUT_MS). A database
that cannot be opened is reported in one line naming DATABASE_URL, exit 1.
${SETTINGS_HINT}`,
  async run(argv) {
    const { settings } = parseArgs(argv, { settings: true });
    await runServer({ flags: settings });
    return undefined;
  },
};
