import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  /** `Date.now()` when the request's body had arrived. */
  receivedAt: number;
}

export interface WebhookReceiver {
  /** `http://127.0.0.1:<port>/hook`. */
  url: string;
  port: number;
  received: ReceivedWebhook[];
  close(): Promise<void>;
}

/**
 * A real HTTP server on loopback that records every request; `respond` answers each one (the
 * n-th, from 0), with 204 by default. For tests of webhook senders (with `allowPrivate`).
 */
export async function startWebhookReceiver(
  respond: (request: ReceivedWebhook, response: ServerResponse, index: number) => void = (_, response) =>
    response.writeHead(204).end(),
): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const webhook = {
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        receivedAt: Date.now(),
      };
      received.push(webhook);
      respond(webhook, response, received.length - 1);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    received,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/**
 * The event of a received webhook, once its signature verified with the official Standard
 * Webhooks library under `rawSecret` (`whsec_…`); throws when it does not.
 */
export function verifyReceivedWebhook(rawSecret: string, received: ReceivedWebhook): unknown {
  return new Webhook(rawSecret).verify(received.body, received.headers as Record<string, string>);
}
