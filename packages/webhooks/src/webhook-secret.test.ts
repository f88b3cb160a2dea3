import { createHmac, randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { parseWebhookSecret } from "./webhook-secret.js";

const key = randomBytes(32);
const raw = `whsec_${key.toString("base64")}`;

describe("parseWebhookSecret", () => {
  it("signs so that the standardwebhooks library verifies, and the HMAC is the spec's", () => {
    const secret = parseWebhookSecret(raw);
    const id = "job123:finished";
    const at = new Date();
    const body = JSON.stringify({ type: "job.finished", data: { id: "job123" } });
    const signature = secret.sign(id, at, body);
    const timestamp = String(Math.floor(at.getTime() / 1000));

    const headers = { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": signature };
    expect(new Webhook(raw).verify(body, headers)).toEqual(JSON.parse(body));
    const hmac = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
    expect(signature).toBe(`v1,${hmac}`);
  });

  it("never prints its key", () => {
    const secret = parseWebhookSecret(raw);
    const printed = `${String(secret)} ${JSON.stringify({ secret })}`;
    expect(printed).not.toContain(key.toString("base64"));
    expect(printed).toContain("whsec_…");
  });

  it.each([
    ["no prefix", key.toString("base64"), /lacks the whsec_ prefix/],
    ["not base64", "whsec_not*base64!", /base64/],
    ["unpadded base64", `whsec_${key.toString("base64").replace(/=+$/, "")}`, /base64/],
    ["a short key", `whsec_${randomBytes(16).toString("base64")}`, /24 to 64 bytes but received 16/],
    ["a long key", `whsec_${randomBytes(65).toString("base64")}`, /received 65/],
  ])("refuses %s, naming the problem without echoing the value", (_, value, message) => {
    expect(() => parseWebhookSecret(value)).toThrow(message);
    try {
      parseWebhookSecret(value);
    } catch (err) {
      expect((err as Error).name).toBe("ConfigError");
      expect((err as Error).message).not.toContain(value.slice(6, 20));
    }
  });
});
