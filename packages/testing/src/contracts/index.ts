export { describeJobStoreContract, type JobStoreFixture } from "./job-store-contract.js";
export { describeBlobStoreContract, type BlobStoreFixture } from "./blob-store-contract.js";
export {
  describeJobQueueContract,
  queueInstancesFixture,
  type JobQueueFixture,
  type JobQueueOptions,
  type JobQueueTiming,
} from "./job-queue-contract.js";
