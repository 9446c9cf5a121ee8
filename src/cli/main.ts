#!/usr/bin/env node
import { ConfigError } from '../config/load.js';
import { SchemaMismatchError, UnavailableError } from '../domain/errors.js';
import { UsageError } from './args.js';
import type { Command } from './command.js';
import { COMMANDS } from './commands/index.js';
import { TransferError } from './commands/transfer-session.js';

/**
 * `polystore <command> [options]`. Exit codes: 0 success, 1 failure (bad configuration, database
 * problem, unknown migrations), 2 usage error (unknown command or option).
 */

function helpText(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length), 4);
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `Usage: polystore <command> [options]

Commands:
${lines.join('\n')}
  ${'help'.padEnd(width)}  Show this help, or a command's: polystore help <command>
`;
}

const help: Command = {
  name: 'help',
  summary: 'Show help',
  usage: 'polystore help [command]',
  async run(argv) {
    const [topic, ...extra] = argv;
    if (extra.length > 0) throw new UsageError('help takes at most one command name');
    if (topic === undefined) {
      process.stdout.write(helpText());
      return 0;
    }
    const command = COMMANDS.find((c) => c.name === topic);
    if (!command) throw new UsageError(`unknown command ${JSON.stringify(topic)}`);
    process.stdout.write(`Usage: ${command.usage}\n`);
    return 0;
  },
};

async function main(argv: string[]): Promise<number | undefined> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') return help.run([]);
  const command = name === 'help' ? help : COMMANDS.find((c) => c.name === name);
  try {
    if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
    if (rest.includes('--help') || rest.includes('-h')) return help.run([command.name]);
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(
        `polystore: ${error.message}\nRun "polystore help${command && command !== help ? ` ${command.name}` : ''}" for usage.\n`,
      );
      return 2;
    }
    if (
      error instanceof ConfigError ||
      error instanceof SchemaMismatchError ||
      error instanceof UnavailableError ||
      error instanceof TransferError
    ) {
      process.stderr.write(`polystore: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `polystore: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
