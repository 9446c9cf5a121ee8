/** Where SQLite keeps its file when DATABASE_URL is not set (created on first start). */
export const DEFAULT_SQLITE_FILE = './data/polystore.db';

/**
 * Used only outside production when AUTH_JWT_SECRET is unset, so the README's first commands work
 * on a fresh clone (the server and `polystore token` agree on it). The server logs a warning.
 */
export const DEV_JWT_SECRET = 'polystore-development-secret-do-not-use-in-production';
