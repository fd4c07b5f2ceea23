/** The program's version, from deno.json. */
import config from "../../deno.json" with { type: "json" };

export const VERSION: string = config.version;
