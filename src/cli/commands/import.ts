import { ImportFileError } from '../../transfer/format.js';
import { importFile, ImportTargetError } from '../../transfer/import.js';
import { formatVerifyReport } from '../../transfer/verify.js';
import { ENTITY_KINDS } from '../../repositories/ports.js';
import { parseArgs, UsageError } from '../args.js';
import { SETTINGS_HINT, type Command } from '../command.js';
import { batchSize, conflictPolicy, openFor, progressFor, transferConfig, TransferError } from './transfer-session.js';

export const importCommand: Command = {
  name: 'import',
  summary: 'Load an export file into the database (after running its migrations)',
  usage: `polystore import --in FILE [--to LOCATION] [--merge [--on-conflict skip|replace]] [--batch-size N] [--quiet]

Checks the whole file first (header, every line's JSON and schema, references, trailer counts and
checksum): a bad file stops with its line number and changes nothing. Then writes one batch per
transaction and verifies the target against the file. FILE ending in .gz is gunzipped; --in -
reads stdin. A non-empty target is refused unless --merge is given; with --merge, records whose id
exists are skipped (default) or, with --on-conflict replace, replaced.
--to defaults to the configured database.
${SETTINGS_HINT}`,
  async run(argv) {
    const { settings, options } = parseArgs(argv, {
      settings: true,
      options: {
        in: 'string',
        to: 'string',
        merge: 'boolean',
        'on-conflict': 'string',
        'batch-size': 'string',
        quiet: 'boolean',
      },
    });
    if (typeof options.in !== 'string') throw new UsageError('--in FILE is required (use --in - for stdin)');
    const merge = options.merge === true;
    const onConflict = conflictPolicy(options['on-conflict'], merge);
    const size = batchSize(options['batch-size']);
    const quiet = options.quiet === true;
    const { config, logger } = transferConfig(settings);
    const store = await openFor('to', typeof options.to === 'string' ? options.to : undefined, config, logger, true);
    try {
      const report = await importFile(store, options.in, {
        merge,
        onConflict,
        batchSize: size,
        progress: progressFor(`import into ${store.kind}`, quiet),
      });
      const rows = ENTITY_KINDS.map((k) => {
        const r = report.results[k];
        return `  ${k.padEnd(14)} ${String(r.inserted).padStart(9)} inserted ${String(r.skipped).padStart(9)} skipped ${String(r.replaced).padStart(9)} replaced`;
      });
      process.stderr.write(
        `imported ${options.in} (exported from ${report.header.source} at ${report.header.exportedAt}) into ${store.kind}:\n${rows.join('\n')}\n`,
      );
      if (report.verify) {
        process.stderr.write(`${formatVerifyReport(report.verify)}\n`);
        if (!report.verify.equal) return 1;
      }
      return 0;
    } catch (error) {
      if (error instanceof ImportFileError)
        throw new TransferError(
          `import stopped at line ${error.line} of ${options.in}: ${error.reason}; nothing was written`,
        );
      if (error instanceof ImportTargetError) throw new TransferError(error.message);
      throw error;
    } finally {
      await store.close();
    }
  },
};
