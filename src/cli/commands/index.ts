import type { Command } from '../command.js';
import { migrate } from './migrate.js';
import { serve } from './serve.js';
import { token } from './token.js';

/**
 * The subcommands, in the order `polystore help` lists them. Data-moving commands (export, import,
 * copy, verify) are added here as their own files.
 */
export const COMMANDS: Command[] = [serve, migrate, token];
