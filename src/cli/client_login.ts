/**
 * Logging the client in, with second tries as ssh gives them: a password
 * typed on the terminal may be mistyped, so a refused one is asked for again,
 * up to {@link PASSWORD_TRIES} times in all. A password from `--password-file`
 * or `DFOS_PASSWORD` gets one try: asking again would only repeat it.
 *
 * The server closes the connection after a failed login (once its delay for
 * failures has passed), so each try connects anew; the server is trusted by
 * then, and the password is asked for before reconnecting, so the time spent
 * typing it counts against no deadline of the server's.
 *
 * @module
 */

import { ClientConnection, type ConnectOptions } from "../client/connection.ts";
import { RemoteError } from "../client/errors.ts";
import { STATUS } from "../protocol/status.ts";
import { type PasswordSource, readPassword } from "./password.ts";

/** Tries a password typed on the terminal gets, as in ssh. */
export const PASSWORD_TRIES = 3;

/** Shown on stderr before the password is asked for again. */
export const TRY_AGAIN = "Permission denied, please try again.";

/** Options of {@link logIn}: where to connect, and where the password comes from. */
export interface LoginOptions {
  connect: Omit<ConnectOptions, "password">;
  password: PasswordSource;
}

/** Connects and logs in; rejects with the last failure once no try is left. */
export async function logIn(options: LoginOptions): Promise<ClientConnection> {
  const source = options.password;
  if (!asksOnTerminal(source)) {
    return await ClientConnection.open({
      ...options.connect,
      password: await readPassword(source),
    });
  }
  // The first time, the password is asked for once the server is trusted.
  let password: ConnectOptions["password"] = () => readPassword(source);
  for (let tries = 1;; tries++) {
    try {
      return await ClientConnection.open({ ...options.connect, password });
    } catch (error) {
      if (tries >= PASSWORD_TRIES || !isWrongPassword(error)) throw error;
    }
    console.error(TRY_AGAIN);
    password = await readPassword(source);
  }
}

/** True when the password will be typed on the terminal: no file, no DFOS_PASSWORD. */
export function asksOnTerminal(source: PasswordSource): boolean {
  return source.passwordFile === undefined && !Deno.env.get("DFOS_PASSWORD") &&
    Deno.stdin.isTerminal();
}

/**
 * A refusal that another password may mend. A lockout is refused with the
 * same status, but any password is refused until it ends: trying again would
 * only ask for nothing.
 */
function isWrongPassword(error: unknown): boolean {
  return error instanceof RemoteError && error.code === STATUS.AUTH_FAILED &&
    !error.message.startsWith("too many failed logins");
}
