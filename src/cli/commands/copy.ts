import { ENTITY_KINDS } from '../../repositories/ports.js';
import { copyStores, CopyTargetError } from '../../transfer/copy.js';
import { locationHint } from '../../transfer/open.js';
import { formatVerifyReport } from '../../transfer/verify.js';
import { parseArgs, UsageError } from '../args.js';
import { SETTINGS_HINT, type Command } from '../command.js';
import { batchSize, conflictPolicy, progressFor, sum, TransferError, withSourceAndTarget } from './transfer-session.js';

export const LOCATIONS = `A location is one of: ${locationHint()}.`;

export const copyCommand: Command = {
  name: 'copy',
  summary: 'Stream every record from one database to another, then verify',
  usage: `polystore copy --from LOCATION --to LOCATION [--merge [--on-conflict skip|replace]] [--batch-size N] [--quiet]

Streams users, conversations, participants, messages and audit entries in batches (one
transaction per batch), without loading the store into memory, runs the target's migrations
first, and ends with a verify. Re-running an interrupted copy resumes it: records already copied
are skipped, nothing is duplicated. A target holding other records needs --merge.
${LOCATIONS}
${SETTINGS_HINT}`,
  async run(argv) {
    const { settings, options } = parseArgs(argv, {
      settings: true,
      options: {
        from: 'string',
        to: 'string',
        merge: 'boolean',
        'on-conflict': 'string',
        'batch-size': 'string',
        quiet: 'boolean',
      },
    });
    if (typeof options.from !== 'string' || typeof options.to !== 'string')
      throw new UsageError('--from and --to are both required');
    const merge = options.merge === true;
    const onConflict = conflictPolicy(options['on-conflict'], merge);
    const size = batchSize(options['batch-size']);
    const quiet = options.quiet === true;
    return withSourceAndTarget(options.from, options.to, settings, true, async (source, target) => {
      const total = sum(await source.bulk.counts());
      let report;
      try {
        report = await copyStores(source, target, {
          merge,
          onConflict,
          batchSize: size,
          progress: progressFor(`copy ${source.kind} → ${target.kind}`, quiet, total),
          verifyProgress: progressFor('verify', quiet, total),
        });
      } catch (error) {
        if (error instanceof CopyTargetError) throw new TransferError(error.message);
        throw error;
      }
      const rows = ENTITY_KINDS.map((k) => {
        const r = report.results[k];
        return `  ${k.padEnd(14)} ${String(r.inserted).padStart(9)} copied ${String(r.skipped).padStart(9)} already there ${String(r.replaced).padStart(9)} replaced`;
      });
      process.stderr.write(
        `${report.resumed ? 'resumed an interrupted copy' : 'copied'} ${source.kind} → ${target.kind}:\n${rows.join('\n')}\n${formatVerifyReport(report.verify)}\n`,
      );
      return report.verify.equal ? 0 : 1;
    });
  },
};
