/**
 * Whether a string is an IPv6 address as it is written (RFC 4291 §2.2):
 * eight groups of one to four hex digits, one `::` standing for one or more
 * groups of zeros, the last 32 bits optionally as an IPv4 address, and a
 * zone after `%` (`fe80::1%eth0`). Its own code rather than `node:net`'s
 * `isIPv6`, which loads the whole of Node's networking layer (a few
 * milliseconds of every client command's start) for one check.
 *
 * @module
 */

const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;
const DECIMAL_OCTET = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
/** A zone: an interface's name or number. */
const ZONE = /^[\w.:-]+$/;

/**
 * True for `::1`, `2001:db8::8a2e:370:7334`, `::ffff:192.0.2.1` or
 * `fe80::1%eth0`; false for names, IPv4 addresses, ports (`::1:80` is an
 * address, `[::1]:80` is not) and anything malformed.
 *
 * @example
 * ```ts
 * isIpv6Text("2001:db8::1"); // true
 * isIpv6Text("example.com"); // false
 * ```
 */
export function isIpv6Text(text: string): boolean {
  const percent = text.indexOf("%");
  if (percent !== -1 && !ZONE.test(text.slice(percent + 1))) return false;
  const address = percent === -1 ? text : text.slice(0, percent);
  const halves = address.split("::");
  if (halves.length > 2) return false;
  const groupsOf = (half: string) => half === "" ? [] : half.split(":");
  const groups = [...groupsOf(halves[0]), ...(halves.length === 2 ? groupsOf(halves[1]) : [])];
  // An IPv4 address may only end the text: the last group, unless `::` comes after it.
  const ipv4At = address.endsWith("::") ? -1 : groups.length - 1;
  let count = 0;
  for (const [index, group] of groups.entries()) {
    if (index === ipv4At && group.includes(".")) {
      if (!isIpv4Text(group)) return false;
      count += 2;
    } else if (HEX_GROUP.test(group)) {
      count++;
    } else {
      return false;
    }
  }
  return halves.length === 2 ? count <= 7 : count === 8;
}

/** Four decimal octets without leading zeros, as IPv6's text form embeds them. */
function isIpv4Text(text: string): boolean {
  const octets = text.split(".");
  return octets.length === 4 && octets.every((octet) => DECIMAL_OCTET.test(octet));
}
