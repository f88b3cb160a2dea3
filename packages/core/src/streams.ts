import type { Readable } from "node:stream";

/** Collects a stream into one Buffer; for bodies already bounded by a limit (uploads, inputs). */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}
