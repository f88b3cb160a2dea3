import { lookup as dnsLookup } from "node:dns/promises";
import { isIP } from "node:net";
import { blockedAddressReason } from "./blocked-address.js";
import { invalidWebhookUrl } from "./webhook-url-error.js";

export interface ResolvedAddress {
  address: string;
  /** 4 or 6. */
  family: number;
}

/** Every address of a host name, as `dns.promises.lookup(host, { all: true })` gives them. */
export type HostLookup = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemLookup: HostLookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/**
 * The addresses `host` resolves to (itself when it is an IP literal), once every one of them has
 * passed `blockedAddressReason`. Throws `INVALID_WEBHOOK_URL` when the host does not resolve or
 * when any address is refused: a host that mixes public and private addresses could be reached on
 * either.
 */
export async function allowedAddresses(
  host: string,
  options: { allowPrivate: boolean; lookup?: HostLookup },
): Promise<ResolvedAddress[]> {
  const family = isIP(host);
  const addresses = family !== 0 ? [{ address: host, family }] : await resolve(host, options.lookup ?? systemLookup);
  if (addresses.length === 0) throw invalidWebhookUrl(`Expected ${host} to resolve but it has no address`);
  for (const { address } of addresses) {
    const reason = blockedAddressReason(address, options);
    if (reason === null) continue;
    const what = family !== 0 ? address : `${host} resolves to ${address}, which`;
    throw invalidWebhookUrl(`Expected a public webhook host but ${what} ${reason}`);
  }
  return addresses;
}

async function resolve(host: string, lookup: HostLookup): Promise<ResolvedAddress[]> {
  try {
    return await lookup(host);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const why = typeof code === "string" ? code : err instanceof Error ? err.message : String(err);
    throw invalidWebhookUrl(`Expected ${host} to resolve but the lookup failed (${why})`, err);
  }
}
