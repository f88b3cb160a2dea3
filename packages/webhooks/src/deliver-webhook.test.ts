import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it } from "vitest";
import { checkWebhookUrl } from "./check-webhook-url.js";
import { deliverWebhook, type WebhookDelivery } from "./deliver-webhook.js";
import type { HostLookup } from "./host-addresses.js";
import { startWebhookReceiver, type WebhookReceiver } from "./testing.js";
import { parseWebhookSecret } from "./webhook-secret.js";

const rawSecret = `whsec_${randomBytes(32).toString("base64")}`;
const secret = parseWebhookSecret(rawSecret);
const body = JSON.stringify({ type: "job.finished", data: { id: "abc" } });

function delivery(url: string, overrides: Partial<WebhookDelivery> = {}): WebhookDelivery {
  return {
    url,
    id: "abc:finished",
    body,
    secret,
    timeoutMs: 5_000,
    maxResponseBytes: 1024,
    allowPrivate: true,
    ...overrides,
  };
}

const servers: Server[] = [];
const receivers: WebhookReceiver[] = [];

async function receiver(...args: Parameters<typeof startWebhookReceiver>): Promise<WebhookReceiver> {
  const started = await startWebhookReceiver(...args);
  receivers.push(started);
  return started;
}

/** A loopback server whose handler gets the raw request and response; its port. */
async function rawServer(handler: Parameters<typeof createServer>[1]): Promise<number> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

describe("deliverWebhook", () => {
  it("POSTs the body as JSON with Standard Webhooks headers that verify", async () => {
    const hook = await receiver();
    const result = await deliverWebhook(delivery(hook.url));
    expect(result).toMatchObject({ status: 204, error: null });
    expect(hook.received).toHaveLength(1);
    const [request] = hook.received;
    expect(request?.body).toBe(body);
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(request?.headers["webhook-id"]).toBe("abc:finished");
    const headers = request?.headers as Record<string, string>;
    expect(new Webhook(rawSecret).verify(request?.body ?? "", headers)).toEqual(JSON.parse(body));
  });

  it("reports a non-2xx status as a failure", async () => {
    const hook = await receiver((_, response) => response.writeHead(503).end("busy"));
    expect(await deliverWebhook(delivery(hook.url))).toMatchObject({ status: 503, error: "HTTP 503" });
  });

  it("does not follow a redirect", async () => {
    const target = await receiver();
    const hook = await receiver((_, response) => response.writeHead(307, { location: target.url }).end());
    const result = await deliverWebhook(delivery(hook.url));
    expect(result).toMatchObject({ status: 307, error: "HTTP 307 (redirects are not followed)" });
    expect(target.received).toHaveLength(0);
  });

  it("gives up on a receiver that does not answer within the timeout", async () => {
    const port = await rawServer(() => {});
    const result = await deliverWebhook(delivery(`http://127.0.0.1:${port}/`, { timeoutMs: 200 }));
    expect(result).toMatchObject({ status: null, error: "timed out after 200 ms" });
    expect(result.durationMs).toBeLessThan(2_000);
  });

  it("reads an endless response only up to the cap, then hangs up", async () => {
    let closed = false;
    const port = await rawServer((_request, response) => {
      response.writeHead(200);
      const chunk = Buffer.alloc(16 * 1024, "x");
      const pump = () => {
        while (!closed && response.write(chunk));
      };
      response.on("drain", pump);
      response.on("close", () => (closed = true));
      pump();
    });
    const result = await deliverWebhook(delivery(`http://127.0.0.1:${port}/`, { maxResponseBytes: 64 * 1024 }));
    expect(result).toMatchObject({ status: 200, error: null, responseBytes: 64 * 1024 });
    await expect.poll(() => closed).toBe(true);
  });

  it("reports a refused connection", async () => {
    const port = await rawServer(() => {});
    const server = servers.pop();
    await new Promise((resolve) => server?.close(resolve));
    const result = await deliverWebhook(delivery(`http://127.0.0.1:${port}/`));
    expect(result.status).toBeNull();
    expect(result.error).toMatch(/ECONNREFUSED/);
  });

  it("refuses a private IP literal without allowPrivate", async () => {
    const hook = await receiver();
    const result = await deliverWebhook(delivery(hook.url, { allowPrivate: false }));
    expect(result.status).toBeNull();
    expect(result.error).toMatch(/but 127\.0\.0\.1 is in a loopback range/);
    expect(hook.received).toHaveLength(0);
  });

  it("checks the addresses again at connect time, so a rebound host is refused", async () => {
    const hook = await receiver();
    // Public when the URL is checked at submission; loopback from then on.
    let lookups = 0;
    const rebinding: HostLookup = async () => [
      lookups++ === 0 ? { address: "93.184.216.34", family: 4 } : { address: "127.0.0.1", family: 4 },
    ];
    const url = `http://rebind.example:${hook.port}/hook`;
    await checkWebhookUrl(url, { allowHttp: true, allowPrivate: false, lookup: rebinding });
    const refused = await deliverWebhook(delivery(url, { allowPrivate: false, lookup: rebinding }));
    expect(refused.status).toBeNull();
    expect(refused.error).toMatch(/rebind\.example resolves to 127\.0\.0\.1, which is in a loopback range/);
    expect(hook.received).toHaveLength(0);
    // The connection does go through that lookup: with internal addresses allowed, it arrives.
    expect(await deliverWebhook(delivery(url, { allowPrivate: true, lookup: rebinding }))).toMatchObject({
      status: 204,
    });
    expect(hook.received).toHaveLength(1);
  });
});
