import type { Command } from '../command.js';
import { copyCommand } from './copy.js';
import { exportCommand } from './export.js';
import { importCommand } from './import.js';
import { migrate } from './migrate.js';
import { serve } from './serve.js';
import { token } from './token.js';
import { verifyCommand } from './verify.js';

/** The subcommands, in the order `polystore help` lists them. */
export const COMMANDS: Command[] = [serve, migrate, token, exportCommand, importCommand, copyCommand, verifyCommand];
