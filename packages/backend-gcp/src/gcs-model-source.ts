import type { Readable } from "node:stream";
import { Storage } from "@google-cloud/storage";

export interface GcsModelSourceOptions {
  bucket: string;
  /** Object-name prefix the manifest's file paths are appended to; empty for the bucket's root. */
  prefix: string;
  projectId?: string | undefined;
  /** A Cloud Storage emulator's base URL; unset means the real service. */
  apiEndpoint?: string | undefined;
}

/**
 * A model bucket as a source of model files (`IMAGEN_MODEL_SOURCE=gs://bucket/prefix`): the shape
 * of imaging's `ModelSource`, which checks size and sha256 while it downloads.
 */
export function createGcsModelSource(options: GcsModelSourceOptions) {
  const storage = new Storage({
    ...(options.projectId === undefined ? {} : { projectId: options.projectId }),
    ...(options.apiEndpoint === undefined ? {} : { apiEndpoint: options.apiEndpoint }),
  });
  const objectName = (file: string) => (options.prefix ? `${options.prefix.replace(/\/$/, "")}/${file}` : file);
  return {
    describe: (file: string): string => `gs://${options.bucket}/${objectName(file)}`,
    async open(file: string): Promise<Readable | null> {
      const object = storage.bucket(options.bucket).file(objectName(file));
      const [exists] = await object.exists();
      return exists ? object.createReadStream() : null;
    },
  };
}
