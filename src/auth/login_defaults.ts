/**
 * The defaults of the password checks, in a module of their own so that
 * the command line's definitions can name them without loading the
 * authenticator.
 *
 * @module
 */

/** Longest a login waits for its password check by default, ms. */
export const DEFAULT_MAX_CHECK_WAIT_MS = 60_000;

/** How long a password that passed its check is remembered by default, ms. */
export const DEFAULT_LOGIN_CACHE_MS = 60_000;
