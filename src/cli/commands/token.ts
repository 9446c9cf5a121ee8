import { loadConfig } from '../../config/load.js';
import { isUserId } from '../../domain/ids.js';
import { mintToken } from '../../http/auth/jwt.js';
import { parseArgs, UsageError } from '../args.js';
import type { Command } from '../command.js';

export const token: Command = {
  name: 'token',
  summary: 'Mint a bearer token for a user (development and scripts)',
  usage: `polystore token --sub alice [--name "Alice"] [--username alice] [--expires-in 1h]

Prints only the token, so TOKEN=$(npm run -s polystore -- token --sub alice) works. Signed with
AUTH_JWT_SECRET (HS256) and carrying AUTH_JWT_ISSUER / AUTH_JWT_AUDIENCE when set, exactly as the
server verifies. --name sets the name claim and --username preferred_username, which seed the
display name and handle when the user is created on first sight. --expires-in takes 30m, 12h,
7d, ... (default 1h).`,
  async run(argv) {
    const { settings, options } = parseArgs(argv, {
      settings: true,
      options: { sub: 'string', name: 'string', username: 'string', 'expires-in': 'string' },
    });
    const sub = options.sub;
    if (typeof sub !== 'string') throw new UsageError('--sub is required');
    if (!isUserId(sub)) throw new UsageError('--sub must be 1–128 of letters, digits and ._:@|-');
    const expiresIn = typeof options['expires-in'] === 'string' ? options['expires-in'] : '1h';
    if (
      !/^\d+\s*(s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days|w|week|weeks|y|yr|yrs|year|years)$/i.test(
        expiresIn,
      )
    ) {
      throw new UsageError('--expires-in must look like 30m, 12h or 7d');
    }
    const config = loadConfig({ flags: settings });
    if (config.auth.jwtSecret === undefined) {
      process.stderr.write(
        'polystore: token signs with AUTH_JWT_SECRET, which is not set; tokens from the identity provider (AUTH_JWKS_URL / AUTH_OIDC_ISSUER) come from the provider itself\n',
      );
      return 1;
    }
    if (config.auth.usingDevSecret)
      process.stderr.write('polystore: warning: AUTH_JWT_SECRET is not set; signing with the development secret\n');
    const jwt = await mintToken(config.auth, {
      sub,
      name: typeof options.name === 'string' ? options.name : undefined,
      preferredUsername: typeof options.username === 'string' ? options.username : undefined,
      expiresIn,
    });
    process.stdout.write(`${jwt}\n`);
    return 0;
  },
};
