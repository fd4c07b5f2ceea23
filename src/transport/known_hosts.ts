/**
 * The client's known-hosts file, as SSH keeps one: each line maps a server
 * address to the certificate it presented the first time, so a later change
 * is noticed. A line is `<host>:<port> SHA256:<hex> <base64 DER> <name>`,
 * where name is the one to verify in the certificate; `#` comments and
 * blank lines are allowed.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { encodeBase64 } from "./base64.ts";
import { fingerprint } from "./certificate.ts";

/** One remembered server. */
export interface KnownHost {
  address: string;
  fingerprint: string;
  der: Uint8Array;
  /** The name to verify in the certificate (absent on lines written by older versions). */
  name?: string;
  /** 1-based line number, for messages. */
  line: number;
}

/** "host:port", with IPv6 addresses in brackets. */
export function hostAddress(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The default file: `$XDG_CONFIG_HOME/dfos/known_hosts`, else `~/.config/dfos/known_hosts`. */
export function defaultKnownHostsPath(): string {
  const config = Deno.env.get("XDG_CONFIG_HOME") || join(Deno.env.get("HOME") ?? ".", ".config");
  return join(config, "dfos", "known_hosts");
}

/** The parsed file. */
export class KnownHosts {
  readonly path: string;
  #hosts: KnownHost[];

  private constructor(path: string, hosts: KnownHost[]) {
    this.path = path;
    this.#hosts = hosts;
  }

  /** Reads `path`; a missing file is an empty list. */
  static async load(path: string): Promise<KnownHosts> {
    let text = "";
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return new KnownHosts(path, parseKnownHosts(text));
  }

  find(address: string): KnownHost | undefined {
    return this.#hosts.find((host) => host.address === address);
  }

  /**
   * Remembers `der` for `address`, and the `name` to verify in it (appends
   * one line; creates the file with mode 0600).
   */
  async add(address: string, der: Uint8Array, name: string): Promise<void> {
    await Deno.mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const line = `${address} ${fingerprint(der)} ${encodeBase64(der)} ${name}\n`;
    await Deno.writeTextFile(this.path, line, { append: true, create: true, mode: 0o600 });
  }
}

function parseKnownHosts(text: string): KnownHost[] {
  const hosts: KnownHost[] = [];
  text.split("\n").forEach((raw, index) => {
    const [address, print, encoded, name] = raw.trim().split(/\s+/);
    if (!address || address.startsWith("#") || !encoded) return;
    try {
      const der = Uint8Array.from(atob(encoded), (char) => char.charCodeAt(0));
      if (fingerprint(der) !== print) return; // A damaged line proves nothing.
      hosts.push({ address, fingerprint: print, der, name, line: index + 1 });
    } catch {
      // Not base64: ignore the line.
    }
  });
  return hosts;
}
