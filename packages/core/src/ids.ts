import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

/**
 * A job id: 20 characters of Crockford base32 from 100 random bits. Not ordered, so ids spread
 * evenly over key ranges (Firestore) and reveal nothing about volume.
 */
export function newJobId(): string {
  return randomBase32(20);
}

/**
 * A run id: 10 characters of the same alphabet (50 random bits), fresh for every claim of a job, so
 * two runs of one job never share one even when their deliveries carry the same attempt number.
 */
export function newRunId(): string {
  return randomBase32(10);
}

function randomBase32(length: number): string {
  let id = "";
  for (const b of randomBytes(length)) id += ALPHABET[b & 31];
  return id;
}

export function isJobId(value: string): boolean {
  return /^[0-9a-hjkmnp-tv-z]{20}$/.test(value);
}
