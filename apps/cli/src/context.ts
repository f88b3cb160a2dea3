import * as path from "node:path";
import type { ModelConfig } from "@imagen/core";
import type { CliConfig } from "./config.js";
import { ansi, plain, type Paint } from "./output/paint.js";
import type { OutputStream } from "./output/reporter.js";
import { createApiClient, type ApiClient } from "./remote/api-client.js";
import { UsageError } from "./usage-error.js";

/** Flags every command accepts. */
export interface GlobalFlags {
  api?: string;
  key?: string;
  json?: boolean;
  modelDir?: string;
  manifest?: string;
}

/** What a command runs with: the config with the flags applied, where to write, and the Ctrl-C signal. */
export interface CommandContext {
  /** `--api` / IMAGEN_API_URL; unset: in this process. */
  apiUrl: string | undefined;
  apiKey: string | undefined;
  models: ModelConfig;
  limits: CliConfig["limits"];
  json: boolean;
  /** Bars and colour only on a terminal, and never with `--json`. */
  tty: boolean;
  paint: Paint;
  stdout: OutputStream;
  signal: AbortSignal;
}

export function createContext(
  config: CliConfig,
  flags: GlobalFlags,
  io: { stdout: OutputStream; signal: AbortSignal },
): CommandContext {
  const json = flags.json === true;
  const tty = !json && io.stdout.isTTY === true;
  const apiUrl = flags.api ?? config.apiUrl;
  if (apiUrl !== undefined && !/^https?:\/\/[^/]/.test(apiUrl)) {
    throw new UsageError(`Expected an http(s) URL for --api (or IMAGEN_API_URL) but received ${apiUrl}`);
  }
  return {
    apiUrl,
    apiKey: flags.key ?? config.apiKey,
    models: {
      ...config.models,
      ...(flags.modelDir !== undefined && { modelDir: path.resolve(flags.modelDir) }),
      ...(flags.manifest !== undefined && { manifestPath: path.resolve(flags.manifest) }),
    },
    limits: config.limits,
    json,
    tty,
    paint: tty && config.color ? ansi : plain,
    stdout: io.stdout,
    signal: io.signal,
  };
}

/** The API client of `--api`; a `UsageError` for commands that only work against an API. */
export function requireApi(ctx: CommandContext, command: string): ApiClient {
  if (ctx.apiUrl === undefined) {
    throw new UsageError(`${command} talks to a running Imagen: pass --api URL or set IMAGEN_API_URL`);
  }
  return createApiClient({ url: ctx.apiUrl, key: ctx.apiKey });
}
