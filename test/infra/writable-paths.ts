import { posix } from "node:path";
import { asArray, at } from "./files.js";

/**
 * Where each image of ours writes at run time. A container with a read-only root filesystem needs a
 * writable volume at (or above) each of these paths, or it fails on its first write. An image that
 * is not listed here is a test failure: find out where it writes, then add it.
 */
interface ImageWrites {
  image: RegExp;
  /** Why it writes there: the source of the fact. */
  why: string;
  writes: (container: unknown) => string[];
}

function env(container: unknown, name: string): string | undefined {
  const entry = asArray(at(container, "env")).find((e) => at(e, "name") === name);
  const value = at(entry, "value");
  return typeof value === "string" ? value : undefined;
}

/** The value of `--flag=value` (or `--flag value`) in the container's command or args. */
function flag(container: unknown, name: string): string | undefined {
  const argv = [...asArray(at(container, "command")), ...asArray(at(container, "args"))].map(String);
  for (const [i, arg] of argv.entries()) {
    if (arg.startsWith(`${name}=`)) return arg.slice(name.length + 1);
    if (arg === name) return argv[i + 1];
  }
  return undefined;
}

function workingDir(container: unknown, imageDefault: string): string {
  const dir = at(container, "workingDir");
  return typeof dir === "string" ? dir : imageDefault;
}

export const IMAGE_WRITES: ImageWrites[] = [
  {
    image: /\/imagen\/worker:/,
    why: "the worker's scratch files (sharp, onnxruntime) go to os.tmpdir()",
    writes: () => ["/tmp"],
  },
  {
    image: /^imagen-(api|worker):/,
    why: "the embedded backend's SQLite queue and blobs in IMAGEN_DATA_DIR (default ./.imagen under /app), scratch in /tmp",
    writes: (c) => ["/tmp", posix.resolve(workingDir(c, "/app"), env(c, "IMAGEN_DATA_DIR") ?? ".imagen")],
  },
  {
    image: /^gcr\.io\/google\.com\/cloudsdktool\/google-cloud-cli:/,
    why: "gcloud keeps its configuration and credentials cache in CLOUDSDK_CONFIG (default ~/.config/gcloud; HOME is / for a user without a passwd entry); `storage rsync` writes its destination",
    writes: (c) => {
      const argv = asArray(at(c, "command")).map(String);
      const destination = argv.includes("rsync") ? argv.at(-1) : undefined;
      const config = env(c, "CLOUDSDK_CONFIG") ?? posix.join(env(c, "HOME") ?? "/", ".config/gcloud");
      return destination === undefined ? [config] : [config, destination];
    },
  },
  {
    image: /^gcr\.io\/gke-release\/custom-metrics-stackdriver-adapter:/,
    why: "its API server library writes a self-signed serving certificate to --cert-dir (default apiserver.local.config/certificates under the working directory, / in its distroless image)",
    writes: (c) => [flag(c, "--cert-dir") ?? posix.resolve(workingDir(c, "/"), "apiserver.local.config/certificates")],
  },
];

const WRITABLE_VOLUMES = ["emptyDir", "ephemeral", "persistentVolumeClaim"];

/**
 * Each write of a read-only-root container of the pod that no writable volume takes, as
 * "<container> writes <path> (<why>)"; also every container whose image has no IMAGE_WRITES entry.
 */
export function unwritablePaths(podSpec: unknown): string[] {
  const volumes = new Map(asArray(at(podSpec, "volumes")).map((v) => [String(at(v, "name")), v]));
  const containers = [...asArray(at(podSpec, "initContainers")), ...asArray(at(podSpec, "containers"))];
  return containers.flatMap((container) => {
    const name = String(at(container, "name"));
    if (at(container, "securityContext", "readOnlyRootFilesystem") !== true) return [];
    const image = String(at(container, "image"));
    const entry = IMAGE_WRITES.find((e) => e.image.test(image));
    if (!entry) return [`${name}: no entry for image ${image} in IMAGE_WRITES (test/infra/writable-paths.ts)`];
    return entry.writes(container).flatMap((path) => {
      const mount = asArray(at(container, "volumeMounts"))
        .filter((m) => {
          const mountPath = String(at(m, "mountPath"));
          return path === mountPath || path.startsWith(`${mountPath.replace(/\/$/, "")}/`);
        })
        .sort((a, b) => String(at(b, "mountPath")).length - String(at(a, "mountPath")).length)[0];
      const volume = volumes.get(String(at(mount, "name")));
      const writable =
        mount !== undefined &&
        at(mount, "readOnly") !== true &&
        WRITABLE_VOLUMES.some((kind) => at(volume, kind) !== undefined);
      return writable ? [] : [`${name} writes ${path} (${entry.why}) but no writable volume is mounted there`];
    });
  });
}
