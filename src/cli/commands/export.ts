import { exportStore } from '../../transfer/export.js';
import { locationHint } from '../../transfer/open.js';
import { parseArgs, UsageError } from '../args.js';
import { SETTINGS_HINT, type Command } from '../command.js';
import { batchSize, openFor, progressFor, sum, transferConfig } from './transfer-session.js';

export const exportCommand: Command = {
  name: 'export',
  summary: 'Write the whole store to a newline-delimited JSON file (or stdout)',
  usage: `polystore export --out FILE [--from LOCATION] [--batch-size N] [--quiet]

Writes users, conversations, participants, messages and audit entries as NDJSON: a header line
(format and schema version, source backend, counts), one line per record, and a trailer with
counts and a checksum. FILE ending in .gz is gzipped; --out - writes to stdout.
--from defaults to the configured database (DATABASE_TYPE / DATABASE_URL); it takes the same
locations as copy: ${locationHint()}.
${SETTINGS_HINT}`,
  async run(argv) {
    const { settings, options } = parseArgs(argv, {
      settings: true,
      options: { out: 'string', from: 'string', 'batch-size': 'string', quiet: 'boolean' },
    });
    if (typeof options.out !== 'string') throw new UsageError('--out FILE is required (use --out - for stdout)');
    const size = batchSize(options['batch-size']);
    const { config, logger } = transferConfig(settings);
    const store = await openFor(
      'from',
      typeof options.from === 'string' ? options.from : undefined,
      config,
      logger,
      false,
    );
    try {
      const total = sum(await store.bulk.counts());
      const result = await exportStore(store, options.out, {
        batchSize: size,
        progress: progressFor(`export ${store.kind}`, options.quiet === true, total),
      });
      if (options.quiet !== true)
        process.stderr.write(
          `exported ${sum(result.counts)} records from ${store.kind} to ${options.out === '-' ? 'stdout' : options.out} (${result.checksum})\n`,
        );
      return 0;
    } finally {
      await store.close();
    }
  },
};
