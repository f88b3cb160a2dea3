import type { SqliteDatabase } from "./sqlite-database.js";

/**
 * The queue's table. `visible_at` (ms since the epoch) means, by state:
 * - `ready`: the earliest time the message may be delivered (now, or later after a backoff);
 * - `leased`: when the lease ends; after that another consumer may take the message;
 * - `dead`: the earliest time it may go to a dead-letter consumer, which also leases it through
 *   `lease_token` and `visible_at` while its handler runs.
 * `deliveries` counts deliveries to normal consumers; a message being delivered holds its lease
 * token, and every later write on its behalf checks that token, so a consumer that lost its lease
 * cannot ack or hand back a message someone else now holds.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS queue_messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  op TEXT NOT NULL,
  job_id TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('ready', 'leased', 'dead')),
  deliveries INTEGER NOT NULL DEFAULT 0,
  visible_at INTEGER NOT NULL,
  lease_token TEXT,
  published_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_messages_claimable ON queue_messages (op, state, visible_at);
`;

export type MessageState = "ready" | "leased" | "dead";

export interface LeasedMessage {
  seq: number;
  jobId: string;
  /** Deliveries to normal consumers so far, this one included. */
  deliveries: number;
  token: string;
}

export interface LiveClaim {
  message: LeasedMessage | null;
  /** Whether the claim moved expired messages that had used up their attempts to the dead letters. */
  deadLettered: boolean;
}

interface MessageRow {
  seq: number;
  jobId: string;
  deliveries: number;
}

/** The queue's SQL, as synchronous calls on one connection. Claims run in IMMEDIATE transactions. */
export interface QueueMessages {
  publish(op: string, jobId: string, nowMs: number): void;
  claimLive(op: string, token: string, nowMs: number, leaseMs: number, maxAttempts: number): LiveClaim;
  claimDead(op: string, token: string, nowMs: number, leaseMs: number): LeasedMessage | null;
  /** Moves the lease end to `untilMs`; `false` when the lease was lost. */
  extend(seq: number, token: string, untilMs: number): boolean;
  /** Deletes the message if `token` still holds it. */
  ack(seq: number, token: string): boolean;
  /** Ends the lease: the message becomes `state`, deliverable from `visibleAtMs`. */
  handBack(seq: number, token: string, state: "ready" | "dead", visibleAtMs: number): boolean;
}

const LIVE = "op = ? AND state IN ('ready', 'leased') AND visible_at <= ?";
const DEAD = "op = ? AND state = 'dead' AND visible_at <= ?";
const NEXT = "SELECT seq, job_id AS jobId, deliveries FROM queue_messages";
const OLDEST_FIRST = "ORDER BY visible_at, seq LIMIT 1";

function prepareStatements(db: SqliteDatabase) {
  return {
    insert: db.prepare<[string, string, number, number]>(
      "INSERT INTO queue_messages (op, job_id, state, visible_at, published_at) VALUES (?, ?, 'ready', ?, ?)",
    ),
    anyLive: db.prepare<[string, number]>(`SELECT 1 FROM queue_messages WHERE ${LIVE} LIMIT 1`),
    anyDead: db.prepare<[string, number]>(`SELECT 1 FROM queue_messages WHERE ${DEAD} LIMIT 1`),
    nextLive: db.prepare<[string, number], MessageRow>(`${NEXT} WHERE ${LIVE} ${OLDEST_FIRST}`),
    nextDead: db.prepare<[string, number], MessageRow>(`${NEXT} WHERE ${DEAD} ${OLDEST_FIRST}`),
    leaseLive: db.prepare<[string, number, number]>(
      "UPDATE queue_messages SET state = 'leased', deliveries = deliveries + 1, lease_token = ?, visible_at = ? WHERE seq = ?",
    ),
    leaseDead: db.prepare<[string, number, number]>(
      "UPDATE queue_messages SET lease_token = ?, visible_at = ? WHERE seq = ?",
    ),
    expire: db.prepare<[number, number]>(
      "UPDATE queue_messages SET state = 'dead', lease_token = NULL, visible_at = ? WHERE seq = ?",
    ),
    extend: db.prepare<[number, number, string]>(
      "UPDATE queue_messages SET visible_at = ? WHERE seq = ? AND lease_token = ?",
    ),
    remove: db.prepare<[number, string]>("DELETE FROM queue_messages WHERE seq = ? AND lease_token = ?"),
    endLease: db.prepare<[string, number, number, string]>(
      "UPDATE queue_messages SET state = ?, visible_at = ?, lease_token = NULL WHERE seq = ? AND lease_token = ?",
    ),
  };
}

export function createQueueMessages(db: SqliteDatabase): QueueMessages {
  db.exec(SCHEMA);
  const sql = prepareStatements(db);
  const claimLive = db.transaction(
    (op: string, token: string, nowMs: number, leaseMs: number, maxAttempts: number): LiveClaim => {
      let deadLettered = false;
      for (let row = sql.nextLive.get(op, nowMs); row; row = sql.nextLive.get(op, nowMs)) {
        // Only an expired lease gets here with no attempts left: its consumer died mid-delivery.
        if (row.deliveries >= maxAttempts) {
          sql.expire.run(nowMs, row.seq);
          deadLettered = true;
          continue;
        }
        sql.leaseLive.run(token, nowMs + leaseMs, row.seq);
        return { message: { ...row, deliveries: row.deliveries + 1, token }, deadLettered };
      }
      return { message: null, deadLettered };
    },
  );
  const claimDead = db.transaction((op: string, token: string, nowMs: number, leaseMs: number) => {
    const row = sql.nextDead.get(op, nowMs);
    if (!row) return null;
    sql.leaseDead.run(token, nowMs + leaseMs, row.seq);
    return { ...row, token };
  });

  return {
    publish: (op, jobId, nowMs) => void sql.insert.run(op, jobId, nowMs, nowMs),
    // The read-only probe keeps idle polling from taking the write lock.
    claimLive: (op, token, nowMs, leaseMs, maxAttempts) =>
      sql.anyLive.get(op, nowMs)
        ? claimLive.immediate(op, token, nowMs, leaseMs, maxAttempts)
        : { message: null, deadLettered: false },
    claimDead: (op, token, nowMs, leaseMs) =>
      sql.anyDead.get(op, nowMs) ? claimDead.immediate(op, token, nowMs, leaseMs) : null,
    extend: (seq, token, untilMs) => sql.extend.run(untilMs, seq, token).changes > 0,
    ack: (seq, token) => sql.remove.run(seq, token).changes > 0,
    handBack: (seq, token, state, visibleAtMs) => sql.endLease.run(state, visibleAtMs, seq, token).changes > 0,
  };
}
