import { FieldPath, Firestore, Timestamp } from "@google-cloud/firestore";
import type { CollectionReference, DocumentData, DocumentReference, Query } from "@google-cloud/firestore";
import { ConflictError, decodeJobCursor, encodeJobCursor, matchesExpected, ValidationError } from "@imagen/core";
import type { Job, JobExpected, JobFilter, JobPage, JobPatch, JobStore, UpdateResult } from "@imagen/core";
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

/** Fields stored beside the job: the numeric sort key `list` orders by, and the TTL timestamp. */
interface StoredFields {
  createdAtMs: number;
  expireAt?: Timestamp;
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
  const now = options.clock ?? (() => new Date());
  const expireAt = (createdAtMs: number) =>
    options.ttlDays === undefined ? {} : { expireAt: Timestamp.fromMillis(createdAtMs + options.ttlDays * DAY_MS) };

  return {
    async create(job) {
      const ref = docRef(collection, job.id);
      if (!ref) throw new ValidationError(`Expected a job id usable as a document id but received ${job.id}`);
      const createdAtMs = createdMs(job.createdAt);
      const stored: StoredFields = { createdAtMs, ...expireAt(createdAtMs) };
      try {
        await ref.create({ ...job, ...stored });
      } catch (err) {
        if (hasCode(err, GrpcStatus.ALREADY_EXISTS)) {
          throw new ConflictError(`Expected a new job id but ${job.id} exists`, { cause: err });
        }
        throw err;
      }
    },
    async get(id) {
      const snapshot = await docRef(collection, id)?.get();
      const data = snapshot?.data();
      return data === undefined ? null : toJob(data);
    },
    async list(filter, page) {
      return listJobs(collection, filter, page);
    },
    async update(id, expected, patch) {
      const ref = docRef(collection, id);
      if (!ref) return { ok: false, reason: "not-found" };
      return compareAndSet(ref, expected, patch, () => now().toISOString());
    },
    async delete(id) {
      await docRef(collection, id)?.delete();
    },
    async ping() {
      // Reading a document that need not exist proves the database answers and we may read it.
      await collection.doc("_ping").get();
    },
    async close() {
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
    try {
      await ref.update(fields, { lastUpdateTime: snapshot.updateTime });
    } catch (err) {
      // Another writer changed (or deleted) the document since we read it: read again.
      if (hasCode(err, GrpcStatus.FAILED_PRECONDITION, GrpcStatus.NOT_FOUND, GrpcStatus.ABORTED)) continue;
      throw err;
    }
    return { ok: true, job: { ...current, ...fields } };
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
      ? encodeJobCursor({ createdAtMs: createdMs(last.createdAt), id: last.id })
      : null;
  return { jobs, nextCursor };
}

/** The stored document without the fields only Firestore needs. */
function toJob(data: DocumentData): Job {
  const job = { ...data };
  delete job.createdAtMs;
  delete job.expireAt;
  return job as Job;
}

function createdMs(createdAt: string): number {
  const ms = Date.parse(createdAt);
  if (!Number.isFinite(ms)) {
    throw new ValidationError(`Expected an ISO-8601 createdAt but received ${JSON.stringify(createdAt)}`);
  }
  return ms;
}
