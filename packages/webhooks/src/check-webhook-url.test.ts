import { isAppError } from "@imagen/core";
import { describe, expect, it } from "vitest";
import { checkWebhookUrl, MAX_WEBHOOK_URL_LENGTH } from "./check-webhook-url.js";
import type { HostLookup } from "./host-addresses.js";

const PUBLIC_V4 = "93.184.216.34";
const PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946";
const STRICT = { allowHttp: false, allowPrivate: false };

/** A resolver that answers every name with `addresses`. */
function resolvesTo(...addresses: string[]): HostLookup {
  return async () => addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
}

async function refusal(raw: string, options: Parameters<typeof checkWebhookUrl>[1]): Promise<Error> {
  const err = await checkWebhookUrl(raw, options).then(
    () => null,
    (e: unknown) => e as Error,
  );
  if (!err) throw new Error(`expected ${raw} to be refused`);
  expect(isAppError(err) && err.code).toBe("INVALID_WEBHOOK_URL");
  expect(isAppError(err) && err.httpStatus).toBe(400);
  return err;
}

const BLOCKED: [string, string, RegExp][] = [
  ["private 10/8", "10.1.2.3", /private/],
  ["private 172.16/12", "172.16.5.4", /private/],
  ["private 192.168/16", "192.168.1.1", /private/],
  ["loopback", "127.0.0.1", /loopback/],
  ["IPv6 loopback", "::1", /loopback/],
  ["link-local", "169.254.10.20", /link-local/],
  ["IPv6 link-local", "fe80::1", /link-local/],
  ["unique-local", "fd12:3456::1", /unique-local/],
  ["carrier-grade NAT", "100.64.0.1", /carrier-grade NAT/],
  ["multicast", "224.0.0.1", /multicast/],
  ["IPv6 multicast", "ff02::1", /multicast/],
  ["unspecified", "0.0.0.0", /unspecified/],
  ["IPv6 unspecified", "::", /unspecified/],
  ["broadcast", "255.255.255.255", /broadcast/],
  ["documentation", "192.0.2.10", /special-purpose/],
  ["IPv4-mapped loopback", "::ffff:127.0.0.1", /loopback/],
  ["IPv4-mapped private", "::ffff:10.0.0.1", /private/],
  ["NAT64 of loopback", "64:ff9b::7f00:1", /loopback/],
  ["IPv4-compatible", "::7f00:1", /global unicast/],
  ["6to4", "2002:7f00:1::1", /special-purpose/],
  ["AWS/GCP/Azure metadata", "169.254.169.254", /metadata/],
  ["AWS IPv6 metadata", "fd00:ec2::254", /metadata/],
  ["Azure WireServer", "168.63.129.16", /metadata/],
];

describe("checkWebhookUrl", () => {
  it("accepts a public https URL and returns it parsed", async () => {
    const url = await checkWebhookUrl("https://hooks.example.com/imagen?token=abc", {
      ...STRICT,
      lookup: resolvesTo(PUBLIC_V4, PUBLIC_V6),
    });
    expect(url.href).toBe("https://hooks.example.com/imagen?token=abc");
  });

  it("accepts public IP literals and NAT64 addresses of public IPv4 hosts", async () => {
    for (const address of [PUBLIC_V4, `[${PUBLIC_V6}]`]) {
      await expect(checkWebhookUrl(`https://${address}/hook`, STRICT)).resolves.toBeInstanceOf(URL);
    }
    await checkWebhookUrl("https://nat64.example/", { ...STRICT, lookup: resolvesTo("64:ff9b::5db8:d822") });
  });

  it.each(BLOCKED)("refuses a host that resolves to a %s address", async (_, address, why) => {
    const err = await refusal("https://hooks.example.com/", { ...STRICT, lookup: resolvesTo(address) });
    expect(err.message).toMatch(why);
    expect(err.message).toContain(address);
  });

  it.each(BLOCKED)("refuses a %s IP literal", async (_, address, why) => {
    const host = address.includes(":") ? `[${address}]` : address;
    expect((await refusal(`https://${host}/hook`, STRICT)).message).toMatch(why);
  });

  it("refuses a host with any blocked address among public ones", async () => {
    await refusal("https://mixed.example/", { ...STRICT, lookup: resolvesTo(PUBLIC_V4, "10.0.0.7") });
  });

  it("refuses metadata servers by name, whatever they resolve to", async () => {
    for (const host of ["metadata.google.internal", "METADATA.google.internal.", "metadata"]) {
      const err = await refusal(`https://${host}/computeMetadata/v1/`, { ...STRICT, lookup: resolvesTo(PUBLIC_V4) });
      expect(err.message).toMatch(/metadata server/);
    }
  });

  it("refuses a host that does not resolve, or resolves to nothing", async () => {
    const notFound: HostLookup = async () => {
      throw Object.assign(new Error("getaddrinfo ENOTFOUND nowhere.invalid"), { code: "ENOTFOUND" });
    };
    expect((await refusal("https://nowhere.invalid/", { ...STRICT, lookup: notFound })).message).toMatch(/ENOTFOUND/);
    await refusal("https://empty.example/", { ...STRICT, lookup: resolvesTo() });
  });

  it("allows internal addresses with allowPrivate, but never metadata ones", async () => {
    const options = { allowHttp: true, allowPrivate: true };
    await expect(checkWebhookUrl("http://127.0.0.1:8080/hook", options)).resolves.toBeInstanceOf(URL);
    await expect(checkWebhookUrl("http://[::1]:8080/hook", options)).resolves.toBeInstanceOf(URL);
    await refusal("http://169.254.169.254/latest/meta-data/", options);
    await refusal("http://metadata.google.internal/", options);
  });

  it("accepts http only with allowHttp", async () => {
    const lookup = resolvesTo(PUBLIC_V4);
    expect((await refusal("http://hooks.example.com/", { ...STRICT, lookup })).message).toMatch(
      /starting with https:\/\/ but received http:\/\//,
    );
    await expect(
      checkWebhookUrl("http://hooks.example.com/", { ...STRICT, allowHttp: true, lookup }),
    ).resolves.toBeInstanceOf(URL);
  });

  it.each([
    ["not a URL", "hooks.example.com/path", /absolute webhook URL/],
    ["another scheme", "ftp://hooks.example.com/", /received ftp:/],
    ["credentials", "https://user:pass@hooks.example.com/", /without credentials/],
    ["a user name", "https://user@hooks.example.com/", /without credentials/],
    ["an overlong URL", `https://hooks.example.com/${"a".repeat(MAX_WEBHOOK_URL_LENGTH)}`, /at most 2048/],
  ])("refuses %s", async (_, raw, why) => {
    expect((await refusal(raw, { ...STRICT, lookup: resolvesTo(PUBLIC_V4) })).message).toMatch(why);
  });
});
