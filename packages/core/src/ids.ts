import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

/**
 * A job id: 20 characters of Crockford base32 from 100 random bits. Not ordered, so ids spread
 * evenly over key ranges (Firestore) and reveal nothing about volume.
 */
export function newJobId(): string {
  const bytes = randomBytes(20);
  let id = "";
  for (const b of bytes) id += ALPHABET[b & 31];
  return id;
}

export function isJobId(value: string): boolean {
  return /^[0-9a-hjkmnp-tv-z]{20}$/.test(value);
}
