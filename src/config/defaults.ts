/**
 * Used only outside production when AUTH_JWT_SECRET is unset, so the README's first commands work
 * on a fresh clone (the server and `polystore token` agree on it). The server logs a warning.
 */
export const DEV_JWT_SECRET = 'polystore-development-secret-do-not-use-in-production';
