/** One `polystore <name>` subcommand. */
export interface Command {
  name: string;
  /** One line for `polystore help`. */
  summary: string;
  /** The full usage text for `polystore help <name>`. */
  usage: string;
  /** Runs the command and returns the exit code, or undefined to keep the process alive (serve). */
  run(argv: string[]): Promise<number | undefined>;
}

export const SETTINGS_HINT =
  'Every setting (see .env.example) may also be given as a flag: DATABASE_URL as --database-url, PORT as --port, ...; flags win over the environment and .env.';
