import { execFile } from "node:child_process";
import { access, mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

/** Pinned so that every run tests against the same server; bump deliberately. */
export const FAKE_GCS_SERVER_VERSION = "v1.56.1";

const run = promisify(execFile);

/** `IMAGEN_EMULATOR_CACHE`, else `node_modules/.cache/imagen-gcp-emulators` in this package (gitignored). */
function cacheDir(): string {
  return (
    process.env.IMAGEN_EMULATOR_CACHE ??
    fileURLToPath(new URL("../node_modules/.cache/imagen-gcp-emulators/", import.meta.url))
  );
}

/**
 * The fake-gcs-server binary, built once with `go install` through the Go module proxy into the
 * cache and reused after. The build goes to a temporary directory first and is renamed into place,
 * so an interrupted or concurrent install never leaves a half-written binary.
 */
export async function fakeGcsServerBinary(): Promise<string> {
  const dir = join(cacheDir(), `fake-gcs-server-${FAKE_GCS_SERVER_VERSION}`);
  const binary = join(dir, "fake-gcs-server");
  if (await exists(binary)) return binary;
  await mkdir(dir, { recursive: true });
  const staging = await mkdtemp(join(dir, ".install-"));
  try {
    await run("go", ["install", `github.com/fsouza/fake-gcs-server@${FAKE_GCS_SERVER_VERSION}`], {
      cwd: tmpdir(),
      env: { ...process.env, GOBIN: staging },
      timeout: 10 * 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    await rename(join(staging, "fake-gcs-server"), binary);
  } catch (err) {
    const detail = (err as { stderr?: unknown }).stderr;
    throw new Error(
      `Could not build fake-gcs-server ${FAKE_GCS_SERVER_VERSION} with 'go install' (needs Go and the Go module ` +
        `proxy): ${typeof detail === "string" && detail.length > 0 ? detail : String(err)}`,
      { cause: err },
    );
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return binary;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
