/**
 * Ctrl-C. Without a terminal in raw mode it arrives as the SIGINT signal
 * (one-shot commands, batch runs); the interactive shell's terminal hands
 * it to readline as a key instead, and the shell routes both to the same
 * place. Either way the running command's {@link CommandInterrupt} is
 * aborted, and the command cancels what it was doing.
 *
 * @module
 */

import { CancelledError } from "./errors.ts";

/** Calls `handler` on every SIGINT until disposed; meanwhile SIGINT does not end the program. */
export function onInterruptSignal(handler: () => void): Disposable {
  Deno.addSignalListener("SIGINT", handler);
  return { [Symbol.dispose]: () => Deno.removeSignalListener("SIGINT", handler) };
}

/** The cancellation of one running command. */
export class CommandInterrupt {
  #controller = new AbortController();

  /** What the command watches (`CommandContext.signal`). */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Whether the command has been interrupted already. */
  get interrupted(): boolean {
    return this.#controller.signal.aborted;
  }

  /** Aborts the command's signal with a {@link CancelledError}. */
  interrupt(): void {
    this.#controller.abort(new CancelledError());
  }
}
