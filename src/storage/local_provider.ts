/**
 * The {@link StorageProvider} of the local backend: one folder holding one
 * sub-folder per user, each a {@link LocalStorage}. Names starting with a dot
 * are not users (a user's name never starts with one).
 *
 * @module
 */

import { join } from "node:path";
import { LocalStorage } from "./local_storage.ts";
import type { Storage } from "./storage.ts";
import type { StorageProvider, StorageProviderOptions, SweptPartials } from "./storage_provider.ts";

/**
 * The users' folders under `location`.
 *
 * @example
 * ```ts
 * const provider = new LocalStorageProvider("./server_storage");
 * await provider.prepare();
 * const alice = await provider.open("alice");
 * ```
 */
export class LocalStorageProvider implements StorageProvider {
  readonly location: string;
  readonly #fsync: boolean;

  constructor(location: string, options: StorageProviderOptions = {}) {
    this.location = location;
    this.#fsync = options.fsync ?? true;
  }

  /** Creates the folder (mode 0o700) if missing. */
  async prepare(): Promise<void> {
    await Deno.mkdir(this.location, { recursive: true, mode: 0o700 });
  }

  /** The user's sub-folder, created (mode 0o700) if missing. */
  open(user: string): Promise<Storage> {
    return LocalStorage.open(join(this.location, user), { fsync: this.#fsync });
  }

  /** The sub-folders, those starting with a dot left out. */
  async listUsers(): Promise<string[]> {
    const users: string[] = [];
    for await (const entry of Deno.readDir(this.location)) {
      if (entry.isDirectory && !entry.name.startsWith(".")) users.push(entry.name);
    }
    return users;
  }

  /** Sweeps each user's folder in turn. */
  async sweepPartials(maxAgeMs: number): Promise<SweptPartials[]> {
    const swept: SweptPartials[] = [];
    for (const user of await this.listUsers()) {
      const removed = await (await this.open(user)).cleanupPartials(maxAgeMs);
      if (removed > 0) swept.push({ user, removed });
    }
    return swept;
  }
}
