import { loadManifest } from "@imagen/catalogue";
import type { CommandContext } from "../context.js";
import { requireApi } from "../context.js";
import { EXIT_CODES } from "../exit-codes.js";
import { localOpListing, renderOps } from "../ops-listing.js";

/** `imagen ops`: the ops, their options with defaults and their models; from `--api`'s `GET /v1/ops` when given. */
export async function listOps(ctx: CommandContext): Promise<number> {
  const ops =
    ctx.apiUrl === undefined
      ? localOpListing(await loadManifest(ctx.models.manifestPath))
      : await requireApi(ctx, "ops").ops();
  ctx.stdout.write(ctx.json ? `${JSON.stringify({ ops }, null, 2)}\n` : renderOps(ops, ctx.paint));
  return EXIT_CODES.ok;
}
