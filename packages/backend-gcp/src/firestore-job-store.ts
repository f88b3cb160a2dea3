import { createHash } from "node:crypto";
import { FieldPath, Firestore, Timestamp } from "@google-cloud/firestore";
import type { CollectionReference, DocumentData, DocumentReference, Query } from "@google-cloud/firestore";
import {
  ConflictError,
  decodeJobCursor,
  encodeJobCursor,
  matchesExpected,
  isoMs,
  ValidationError,
  webhookDueMs,
  withJobDefaults,
} from "@imagen/core";
import type {
  CreateResult,
  Job,
  JobCountFilter,
  JobExpected,
  JobFilter,
  JobPage,
  JobPatch,
  JobStore,
  UpdateResult,
} from "@imagen/core";
import { GrpcStatus, hasCode } from "./grpc-errors.js";

export interface FirestoreJobStoreOptions {
  projectId: string;
  /** The collection jobs live in, one document per job id (default `jobs`). */
  collection?: string | undefined;
  /** The Firestore database (default `(default)`). */
  databaseId?: string | undefined;
  /**
   * Days after a job's creation at which a Firestore TTL policy on `expireAt` may delete it. Unset:
   * no `expireAt` is written and jobs are kept until deleted.
   */
  ttlDays?: number | undefined;
  /** `host:port` of a Firestore emulator; unset: the real service (Application Default Credentials). */
  emulatorHost?: string | undefined;
  clock?: () => Date;
}

/**
 * Fields stored beside the job: the numeric sort key `list` orders by, the TTL timestamp, and when
 * its webhook is due (null when never), which `listWebhooksDue` queries.
 */
interface StoredFields {
  createdAtMs: number;
  expireAt?: Timestamp;
  webhookDueMs: number | null;
}

/** A document of the idempotency collection, named by `idempotencyDocId`; the TTL policy removes it at `expireAt`. */
interface IdempotencyRecord {
  owner: string | null;
  key: string;
  jobId: string;
  expiresAtMs: number;
  expireAt: Timestamp;
}

/** One document per owner and key; hashed, because a key may hold characters a document id may not. */
function idempotencyDocId(owner: string | null, key: string): string {
  return createHash("sha256")
    .update(JSON.stringify([owner, key]))
    .digest("hex");
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Compare-and-set rounds before giving up under contention; each lost round re-reads the job. */
const MAX_CAS_ROUNDS = 10;

/**
 * A `JobStore` on a Firestore collection. Each job is one document named by its id, holding the job's
 * fields plus `createdAtMs` (the sort key) and, with `ttlDays`, `expireAt` (set once, at creation). `update` reads the
 * document and writes it back with a `lastUpdateTime` precondition, so a concurrent writer makes the
 * write fail and the round repeats on fresh data: only one of several racing updates can win.
 * `list` filters on `status`/`op` and orders by `createdAtMs` then document id, both descending; in
 * production that needs the composite indexes in `firestore.indexes.json`.
 */
export function createFirestoreJobStore(options: FirestoreJobStoreOptions): JobStore {
  const firestore = new Firestore({
    projectId: options.projectId,
    // JSON drops undefined fields (as the SQLite store does); Firestore would reject them instead.
    ignoreUndefinedProperties: true,
    ...(options.databaseId === undefined ? {} : { databaseId: options.databaseId }),
    ...(options.emulatorHost === undefined ? {} : { host: options.emulatorHost, ssl: false }),
  });
  const collection = firestore.collection(options.collection ?? "jobs");
  const idempotency = firestore.collection(`${collection.id}-idempotency`);
  const now = options.clock ?? (() => new Date());
  const listening = new Set<() => void>();
  const heldBy = async (owner: string | null, key: string, at: Date): Promise<Job | null> => {
    const record = (await idempotency.doc(idempotencyDocId(owner, key)).get()).data() as IdempotencyRecord | undefined;
    if (!record || record.expiresAtMs <= at.getTime()) return null;
    const data = (await collection.doc(record.jobId).get()).data();
    return data === undefined ? null : toJob(data);
  };
  const expireAt = (createdAtMs: number) =>
    options.ttlDays === undefined ? {} : { expireAt: Timestamp.fromMillis(createdAtMs + options.ttlDays * DAY_MS) };

  return {
    async create(job) {
      const ref = docRef(collection, job.id);
      if (!ref) throw new ValidationError(`Expected a job id usable as a document id but received ${job.id}`);
      const createdAtMs = isoMs(job.createdAt, "createdAt");
      const stored: StoredFields = { createdAtMs, ...expireAt(createdAtMs), webhookDueMs: webhookDueMs(job) };
      try {
        if (!job.idempotency) {
          await ref.create({ ...job, ...stored });
          return { created: true };
        }
        const claim = job.idempotency;
        const recordRef = idempotency.doc(idempotencyDocId(job.owner, claim.key));
        return await firestore.runTransaction(async (tx): Promise<CreateResult> => {
          const record = (await tx.get(recordRef)).data() as IdempotencyRecord | undefined;
          if (record && record.expiresAtMs > now().getTime()) {
            const holder = (await tx.get(collection.doc(record.jobId))).data();
            if (holder !== undefined) return { created: false, existing: toJob(holder) };
          }
          const expiresAtMs = isoMs(claim.expiresAt, "expiresAt");
          tx.set(recordRef, {
            owner: job.owner,
            key: claim.key,
            jobId: job.id,
            expiresAtMs,
            expireAt: Timestamp.fromMillis(expiresAtMs),
          } satisfies IdempotencyRecord);
          tx.create(ref, { ...job, ...stored });
          return { created: true };
        });
      } catch (err) {
        if (hasCode(err, GrpcStatus.ALREADY_EXISTS)) {
          throw new ConflictError(`Expected a new job id but ${job.id} exists`, { cause: err });
        }
        throw err;
      }
    },
    async findByIdempotencyKey(owner, key, at) {
      return heldBy(owner, key, at);
    },
    async get(id) {
      const snapshot = await docRef(collection, id)?.get();
      const data = snapshot?.data();
      return data === undefined ? null : toJob(data);
    },
    // A snapshot listener on the job's document: one read per change instead of a watcher's poll
    // every 250 ms finding nothing. A listener that fails (its stream broke) leaves the polling.
    onChange(id, listener) {
      const doc = docRef(collection, id);
      if (!doc) return () => {};
      const stop = doc.onSnapshot(
        () => listener(),
        () => listening.delete(stop),
      );
      listening.add(stop);
      return () => {
        listening.delete(stop);
        stop();
      };
    },
    async list(filter, page) {
      return listJobs(collection, filter, page);
    },
    async count(filter) {
      return countJobs(collection, filter);
    },
    async listWebhooksDue(at, limit) {
      const snapshot = await collection
        .where("webhookDueMs", "<=", at.getTime())
        .orderBy("webhookDueMs")
        .limit(limit)
        .get();
      return snapshot.docs.map((doc) => toJob(doc.data()));
    },
    async update(id, expected, patch) {
      const ref = docRef(collection, id);
      if (!ref) return { ok: false, reason: "not-found" };
      return compareAndSet(ref, expected, patch, () => now().toISOString());
    },
    async delete(id) {
      const ref = docRef(collection, id);
      if (!ref) return;
      await firestore.runTransaction(async (tx) => {
        const data = (await tx.get(ref)).data();
        const job = data === undefined ? null : toJob(data);
        if (job?.idempotency) {
          const recordRef = idempotency.doc(idempotencyDocId(job.owner, job.idempotency.key));
          const record = (await tx.get(recordRef)).data() as IdempotencyRecord | undefined;
          if (record?.jobId === id) tx.delete(recordRef);
        }
        tx.delete(ref);
      });
    },
    async ping() {
      // Reading a document that need not exist proves the database answers and we may read it.
      await collection.doc("_ping").get();
    },
    async close() {
      for (const stop of listening) stop();
      listening.clear();
      await firestore.terminate();
    },
  };
}

/** The job's document, or `null` for an id Firestore cannot name (`/`, `.`, `..`, `__x__`). */
function docRef(collection: CollectionReference, id: string): DocumentReference | null {
  if (id.length === 0 || id.includes("/") || id === "." || id === ".." || /^__.*__$/.test(id)) return null;
  return collection.doc(id);
}

async function compareAndSet(
  ref: DocumentReference,
  expected: JobExpected,
  patch: JobPatch,
  stamp: () => string,
): Promise<UpdateResult> {
  for (let round = 0; round < MAX_CAS_ROUNDS; round++) {
    const snapshot = await ref.get();
    const data = snapshot.data();
    if (data === undefined || snapshot.updateTime === undefined) return { ok: false, reason: "not-found" };
    const current = toJob(data);
    // Checked on the snapshot the write is preconditioned on, so status and attempts hold at the write.
    if (!matchesExpected(current, expected)) return { ok: false, reason: "conflict", current };
    const defined = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
    const fields = { ...defined, updatedAt: stamp() };
    const job: Job = { ...current, ...fields };
    try {
      await ref.update({ ...fields, webhookDueMs: webhookDueMs(job) }, { lastUpdateTime: snapshot.updateTime });
    } catch (err) {
      // Another writer changed (or deleted) the document since we read it: read again.
      if (hasCode(err, GrpcStatus.FAILED_PRECONDITION, GrpcStatus.NOT_FOUND, GrpcStatus.ABORTED)) continue;
      throw err;
    }
    return { ok: true, job };
  }
  throw new ConflictError(`Expected to update job ${ref.id} but it kept changing under ${MAX_CAS_ROUNDS} rounds`);
}

async function listJobs(
  collection: CollectionReference,
  filter: JobFilter,
  page: { limit: number; cursor?: string },
): Promise<JobPage> {
  if (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > 100) {
    throw new ValidationError(`Expected an integer limit from 1 to 100 but received ${page.limit}`);
  }
  let query: Query = collection;
  if (filter.status !== undefined) query = query.where("status", "==", filter.status);
  if (filter.op !== undefined) query = query.where("op", "==", filter.op);
  if (filter.owner !== undefined) query = query.where("owner", "==", filter.owner);
  query = query.orderBy("createdAtMs", "desc").orderBy(FieldPath.documentId(), "desc");
  if (page.cursor !== undefined) {
    const after = decodeJobCursor(page.cursor);
    query = query.startAfter(after.createdAtMs, after.id);
  }
  const snapshot = await query.limit(page.limit + 1).get();
  const jobs = snapshot.docs.slice(0, page.limit).map((doc) => toJob(doc.data()));
  const last = jobs[jobs.length - 1];
  const nextCursor =
    snapshot.docs.length > page.limit && last
      ? encodeJobCursor({ createdAtMs: isoMs(last.createdAt, "createdAt"), id: last.id })
      : null;
  return { jobs, nextCursor };
}

async function countJobs(collection: CollectionReference, filter: JobCountFilter): Promise<number> {
  if (filter.statuses.length === 0) return 0;
  let query: Query = collection.where("status", "in", filter.statuses);
  if (filter.op !== undefined) query = query.where("op", "==", filter.op);
  if (filter.owner !== undefined) query = query.where("owner", "==", filter.owner);
  return (await query.count().get()).data().count;
}

/** The stored document without the fields only Firestore needs. */
function toJob(data: DocumentData): Job {
  const job = { ...data };
  delete job.createdAtMs;
  delete job.expireAt;
  delete job.webhookDueMs;
  return withJobDefaults(job as Job);
}
