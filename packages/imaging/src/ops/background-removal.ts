import { removeBackground, warmUpRefinement } from "../background-removal.js";
import type { OpHandler } from "./op-handler.js";

/** Cut-out: the subject's mask from reduced copies (helped by the portrait model), refined, as alpha. */
export const backgroundRemoval: OpHandler<"background-removal"> = {
  run: (models, image, options, ctx) =>
    removeBackground({ main: models.main, portrait: models.portrait }, image, options, ctx),
  warmUp: (graphs, main) => warmUpRefinement(graphs, main.contract),
};
