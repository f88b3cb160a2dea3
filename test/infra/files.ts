import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { CONFIG_SOURCES } from "@imagen/testing/stack";
import { parseAllDocuments } from "yaml";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");

export function read(path: string): string {
  return readFileSync(join(ROOT, path), "utf8");
}

/** Files under a folder of the repo, recursively, as repo-relative paths. */
export function list(dir: string, suffix: string): string[] {
  const out: string[] = [];
  const walk = (abs: string) => {
    for (const entry of readdirSync(abs, { withFileTypes: true })) {
      const path = join(abs, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(suffix)) out.push(relative(ROOT, path));
    }
  };
  walk(join(ROOT, dir));
  return out.sort();
}

/** A loosely typed Kubernetes object: tests navigate it with `at`. */
export type Doc = Record<string, unknown>;

export function yamlDocs(path: string): Doc[] {
  return parseAllDocuments(read(path), { merge: true })
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors.map((e) => e.message).join("; ")}`);
      return doc.toJS() as unknown;
    })
    .filter((doc): doc is Doc => typeof doc === "object" && doc !== null);
}

export function yamlDoc(path: string): Doc {
  const [doc] = yamlDocs(path);
  if (!doc) throw new Error(`${path}: no YAML document`);
  return doc;
}

/** Walks a path of keys and indexes; `undefined` where the path does not exist. */
export function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** Every object of every YAML file under the folders given. */
export function k8sObjects(...dirs: string[]): { file: string; doc: Doc }[] {
  return dirs.flatMap((dir) =>
    list(dir, ".yaml")
      .filter((file) => !file.endsWith("kustomization.yaml"))
      .flatMap((file) => yamlDocs(file).map((doc) => ({ file, doc }))),
  );
}

export function findObject(objects: { doc: Doc }[], kind: string, name: string): Doc | undefined {
  return objects.find(({ doc }) => doc.kind === kind && at(doc, "metadata", "name") === name)?.doc;
}

function configCalls(pattern: RegExp): Set<string> {
  return new Set(CONFIG_SOURCES.flatMap((source) => [...read(source).matchAll(pattern)].map((m) => m[1]!)));
}

/** Every variable the code's config reads: `env.int("NAME"`, `reader.bool("NAME"`, `required("NAME"`. */
export function configVariables(): Set<string> {
  return configCalls(/\b\w+\(\s*"([A-Z][A-Z0-9_]*)"/g);
}

/** The variables the code's config insists on (`required("NAME")`). */
export function requiredConfigVariables(): Set<string> {
  return configCalls(/\brequired\(\s*"([A-Z][A-Z0-9_]*)"/g);
}

/** The body of `<kind> "<type>" "<name>" {` … its closing brace, in a Terraform file. */
export function hclBlock(source: string, header: string): string {
  const start = source.indexOf(header);
  if (start < 0) throw new Error(`no block ${header}`);
  let depth = 0;
  for (let i = source.indexOf("{", start); i < source.length; i++) {
    if (source[i] === "{") depth++;
    if (source[i] === "}" && --depth === 0) return source.slice(start, i + 1);
  }
  throw new Error(`unclosed block ${header}`);
}

/** A top-level `name = value` attribute of an HCL body or tfvars file (strings unquoted). */
export function hclAttribute(source: string, name: string): string | undefined {
  const match = new RegExp(`^\\s*${name}\\s*=\\s*(.+?)\\s*$`, "m").exec(source);
  return match?.[1]?.replace(/^"(.*)"$/, "$1");
}

/** The default of a Terraform variable, as written. */
export function variableDefault(name: string): string | undefined {
  return hclAttribute(hclBlock(read("terraform/variables.tf"), `variable "${name}" {`), "default");
}
