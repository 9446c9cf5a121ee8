import { formatVerifyReport, verifyStores } from '../../transfer/verify.js';
import { parseArgs, UsageError } from '../args.js';
import { SETTINGS_HINT, type Command } from '../command.js';
import { LOCATIONS } from './copy.js';
import { batchSize, progressFor, sum, withSourceAndTarget } from './transfer-session.js';

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'Compare two databases record by record; exit 1 on any difference',
  usage: `polystore verify --from LOCATION --to LOCATION [--batch-size N] [--quiet]

Compares per-kind counts and an order-independent checksum of every record's content, and names
the first record that is missing on one side or differs. Exits 0 when the stores are equal, 1
otherwise.
${LOCATIONS}
${SETTINGS_HINT}`,
  async run(argv) {
    const { settings, options } = parseArgs(argv, {
      settings: true,
      options: { from: 'string', to: 'string', 'batch-size': 'string', quiet: 'boolean' },
    });
    if (typeof options.from !== 'string' || typeof options.to !== 'string')
      throw new UsageError('--from and --to are both required');
    const size = batchSize(options['batch-size']);
    return withSourceAndTarget(options.from, options.to, settings, false, async (source, target) => {
      const total = sum(await source.bulk.counts());
      const report = await verifyStores(source, target, {
        batchSize: size,
        progress: progressFor('verify', options.quiet === true, total),
      });
      process.stdout.write(`${formatVerifyReport(report)}\n`);
      return report.equal ? 0 : 1;
    });
  },
};
