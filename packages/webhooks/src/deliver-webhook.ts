import * as http from "node:http";
import * as https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { parseWebhookUrl, webhookHost } from "./check-webhook-url.js";
import { allowedAddresses, type HostLookup, type ResolvedAddress } from "./host-addresses.js";
import type { WebhookSecret } from "./webhook-secret.js";

export interface WebhookDelivery {
  url: string;
  /** `webhook-id`: the same on every retry of one event, so that receivers can drop duplicates. */
  id: string;
  /** The JSON body, exactly as signed. */
  body: string;
  secret: WebhookSecret;
  /** For the whole exchange: connect, send, and the response up to `maxResponseBytes`. */
  timeoutMs: number;
  /** The response body is read up to this size, then the connection is closed. */
  maxResponseBytes: number;
  allowPrivate: boolean;
  lookup?: HostLookup;
  now?: () => Date;
}

export interface DeliveryResult {
  /** The HTTP status received, or null when none was (network error, timeout, refused address). */
  status: number | null;
  /** Why the delivery failed, in a line; null on a 2xx. */
  error: string | null;
  durationMs: number;
  /** Response body bytes read, at most `maxResponseBytes`. */
  responseBytes: number;
}

const MAX_ERROR_LENGTH = 300;

/**
 * POSTs one signed webhook (Standard Webhooks headers) and reports what happened; never throws.
 * Every address the host resolves to is checked when connecting, so a host that resolved to a
 * public address at submission and to an internal one now (DNS rebinding) is refused. Redirects are
 * not followed: a 3xx is a failure like any other non-2xx.
 */
export async function deliverWebhook(delivery: WebhookDelivery): Promise<DeliveryResult> {
  const startedAt = performance.now();
  const elapsed = () => Math.round(performance.now() - startedAt);
  try {
    // Scheme and credentials were checked at submission; http is accepted here since only the API
    // decides whether it may be used.
    const url = parseWebhookUrl(delivery.url, { allowHttp: true });
    const host = webhookHost(url);
    // IP literals never reach the connect-time lookup, so they are checked here.
    if (isIP(host) !== 0) await allowedAddresses(host, delivery);
    const { status, responseBytes } = await post(url, delivery);
    const error = status >= 200 && status < 300 ? null : describeStatus(status);
    return { status, error, durationMs: elapsed(), responseBytes };
  } catch (err) {
    return { status: null, error: describeError(err), durationMs: elapsed(), responseBytes: 0 };
  }
}

/** The three Standard Webhooks headers; the signature covers `{id}.{timestamp}.{body}`. */
export function webhookHeaders(
  secret: WebhookSecret,
  id: string,
  body: string,
  at: Date,
): Record<"webhook-id" | "webhook-timestamp" | "webhook-signature", string> {
  return {
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": secret.sign(id, at, body),
  };
}

function post(url: URL, delivery: WebhookDelivery): Promise<{ status: number; responseBytes: number }> {
  const headers = {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(delivery.body)),
    "user-agent": "imagen-webhooks/1",
    ...webhookHeaders(delivery.secret, delivery.id, delivery.body, (delivery.now ?? (() => new Date()))()),
  };
  return new Promise((resolve, reject) => {
    const client = url.protocol === "https:" ? https : http;
    const request = client.request(url, { method: "POST", headers, agent: false, lookup: guardedLookup(delivery) });
    const timer = setTimeout(
      () => request.destroy(new Error(`timed out after ${delivery.timeoutMs} ms`)),
      delivery.timeoutMs,
    );
    const fail = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    request.on("error", fail);
    request.on("response", (response) => {
      let responseBytes = 0;
      const finish = () => {
        clearTimeout(timer);
        resolve({ status: response.statusCode ?? 0, responseBytes });
      };
      response.on("data", (chunk: Buffer) => {
        responseBytes = Math.min(responseBytes + chunk.length, delivery.maxResponseBytes);
        if (responseBytes < delivery.maxResponseBytes) return;
        finish();
        request.destroy();
      });
      response.on("end", finish);
      response.on("error", fail);
    });
    request.end(delivery.body);
  });
}

/** A `net` lookup that refuses to connect when any address of the host is refused now. */
function guardedLookup(delivery: WebhookDelivery): LookupFunction {
  return (hostname, options, callback) => {
    allowedAddresses(hostname, delivery).then(
      (addresses) => {
        const usable = addresses.filter((a) => !options.family || a.family === options.family);
        if (options.all) return callback(null, usable);
        const first: ResolvedAddress | undefined = usable[0];
        if (!first) return callback(lookupError(`${hostname} has no IPv${options.family} address`), "", 0);
        callback(null, first.address, first.family);
      },
      (err: Error) => callback(err, "", 0),
    );
  };
}

function lookupError(message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code: "ENOTFOUND" });
}

function describeStatus(status: number): string {
  return status >= 300 && status < 400 ? `HTTP ${status} (redirects are not followed)` : `HTTP ${status}`;
}

function describeError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.length > MAX_ERROR_LENGTH ? `${message.slice(0, MAX_ERROR_LENGTH - 1)}…` : message;
}
