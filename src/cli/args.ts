import { SETTINGS, type SettingName } from '../config/schema.js';

/** A mistake on the command line: the message is printed with a hint and the process exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export type OptionKind = 'string' | 'boolean';

export interface ParsedArgs {
  /** Settings given as flags (`--database-url x` → DATABASE_URL), for loadConfig's `flags`. */
  settings: Partial<Record<SettingName, string>>;
  /** The command's own options, by their flag name (`expires-in`). */
  options: Record<string, string | boolean>;
}

const settingOf = (flag: string) => flag.toUpperCase().replaceAll('-', '_');
export const flagOf = (setting: string) => `--${setting.toLowerCase().replaceAll('_', '-')}`;

/**
 * Parses `--name value`, `--name=value` and boolean `--name`. Any setting of the config schema may
 * be given as a flag when `settings` is true; each command declares its own options. Positional
 * arguments and unknown flags are usage errors.
 */
export function parseArgs(
  argv: string[],
  spec: { options?: Record<string, OptionKind>; settings?: boolean },
): ParsedArgs {
  const own = spec.options ?? {};
  const result: ParsedArgs = { settings: {}, options: {} };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--') || arg === '--') throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    const kind = own[name];
    const setting = settingOf(name);
    const isSetting = spec.settings === true && setting in SETTINGS;
    if (kind === undefined && !isSetting) throw new UsageError(`unknown option --${name}`);
    let value: string | boolean;
    if (kind === 'boolean') {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      value = true;
    } else if (inline !== undefined) {
      value = inline;
    } else {
      const next = argv[i + 1];
      const settingIsBool = isSetting && SETTINGS[setting as SettingName].kind === 'bool';
      if (next === undefined || next.startsWith('--')) {
        if (!settingIsBool) throw new UsageError(`--${name} needs a value`);
        value = 'true';
      } else {
        value = next;
        i++;
      }
    }
    if (kind !== undefined) result.options[name] = value;
    else result.settings[setting as SettingName] = String(value);
  }
  return result;
}
