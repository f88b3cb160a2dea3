import { backgroundRemoval } from "./background-removal.js";
import { comic } from "./comic.js";
import { enhance } from "./enhance.js";
import type { OpTable } from "./op-handler.js";
import { upscale } from "./upscale.js";

/** The one table of ops: adding an op is its handler file plus its entry here (and its options in core). */
export const OP_HANDLERS: OpTable = {
  upscale,
  enhance,
  comic,
  "background-removal": backgroundRemoval,
};

export type { JobRef, OpContext, OpHandler, OpModels, OpTable } from "./op-handler.js";
