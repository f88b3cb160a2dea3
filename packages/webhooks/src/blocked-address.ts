import { createRequire } from "node:module";
import type * as IpAddr from "ipaddr.js";

// ipaddr.js is a UMD bundle: Node's ESM loader finds no named exports in it, and its typings
// declare `export =`, which a default import accepts only with allowSyntheticDefaultImports.
const ipaddr = createRequire(import.meta.url)("ipaddr.js") as typeof IpAddr;
type IPv4 = InstanceType<typeof ipaddr.IPv4>;
type IPv6 = InstanceType<typeof ipaddr.IPv6>;

/**
 * Cloud metadata endpoints. Most sit in ranges refused anyway (169.254.169.254 is link-local,
 * fd00:ec2::254 unique-local); Azure's WireServer is a public address, so only this list catches it.
 */
const METADATA_ADDRESSES = new Set(["169.254.169.254", "fd00:ec2::254", "168.63.129.16", "100.100.100.200"]);

/** Hosts that name a metadata server; refused before any lookup, whatever they resolve to. */
const METADATA_HOSTS = new Set(["metadata.google.internal", "metadata.goog", "metadata"]);

/** IPv6 global unicast (2000::/3): the only IPv6 block a public receiver can live in. */
const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR("2000::/3");
const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR("64:ff9b::/96");

/** Whether `host` (a URL's hostname, lower-cased) names a cloud metadata server. */
export function isMetadataHost(host: string): boolean {
  return METADATA_HOSTS.has(host.replace(/\.$/, "").toLowerCase());
}

/**
 * Why a webhook must not be sent to `address`, or null when it may. With `allowPrivate`, only
 * metadata endpoints are refused (tests and private deployments send to loopback or the LAN).
 * Allow-list: anything but plain public unicast is refused, so a range added to ipaddr.js later is
 * refused too.
 */
export function blockedAddressReason(address: string, options: { allowPrivate: boolean }): string | null {
  if (!ipaddr.isValid(address)) return "is not an IP address";
  const ip = embeddedIPv4(ipaddr.parse(address));
  if (METADATA_ADDRESSES.has(ip.toString())) return "is a cloud metadata address";
  if (options.allowPrivate) return null;
  const range = ip.range();
  if (range !== "unicast") return `is in a ${rangeName(range)} range`;
  if (ip instanceof ipaddr.IPv6 && !ip.match(GLOBAL_UNICAST_V6)) return "is outside IPv6 global unicast (2000::/3)";
  return null;
}

/**
 * The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d) or
 * NAT64 (64:ff9b::a.b.c.d) address, since those reach that IPv4 host; any other address as it is.
 */
function embeddedIPv4(ip: IPv4 | IPv6): IPv4 | IPv6 {
  if (!(ip instanceof ipaddr.IPv6)) return ip;
  const range = ip.range();
  if (range !== "ipv4Mapped" && range !== "rfc6145" && !ip.match(NAT64_WELL_KNOWN)) return ip;
  const [hi = 0, lo = 0] = ip.parts.slice(6);
  return new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
}

function rangeName(range: string): string {
  const names: Record<string, string> = {
    private: "private",
    loopback: "loopback",
    linkLocal: "link-local",
    uniqueLocal: "unique-local",
    carrierGradeNat: "carrier-grade NAT",
    multicast: "multicast",
    unspecified: "unspecified",
    broadcast: "broadcast",
  };
  return names[range] ?? `special-purpose (${range})`;
}
