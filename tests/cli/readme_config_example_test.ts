/**
 * The README's full config file example stays true: `dfos server` accepts
 * it, and it names every key the server has (an option added later must be
 * added to it).
 */

import assert from "node:assert/strict";
import { parse } from "smol-toml";
import { serverCommand } from "../../src/cli/server_command.ts";
import { configKeys } from "../../src/cli/config_keys.ts";
import { applyConfigFile } from "../../src/cli/server_config_file.ts";

const README = new URL("../../README.md", import.meta.url);

/** The first `toml` block after the "Configuration file" heading. */
async function readmeExample(): Promise<string> {
  const text = await Deno.readTextFile(README);
  const section = text.slice(text.indexOf("### Configuration file"));
  const match = section.match(/^```toml\n([\s\S]*?)^```$/m);
  assert.ok(match, "a toml block in the Configuration file section");
  return match[1];
}

Deno.test("the README's config example is accepted and names every server option's key", async () => {
  const example = await readmeExample();
  const command = serverCommand(() => {}).action(() => {}).exitOverride().parse([], {
    from: "user",
  });
  applyConfigFile(command, { path: "/etc/dfos/dfos.toml", text: example, values: parse(example) });
  const missing = [...configKeys(command).keys()].filter((key) =>
    !new RegExp(`^(# )?${key} = `, "m").test(example)
  );
  assert.deepEqual(missing, [], "keys missing from the README's example");
  assert.equal(command.getOptionValue("quota"), 10 * 1024 ** 3);
  assert.equal(command.getOptionValueSource("maxClients"), "config");
});
