import { luma, type Pixels } from "./image-metrics.js";

/** Mean absolute 4-neighbour Laplacian of the luma (interior pixels): the fine detail of a picture. */
export function meanLaplacian(image: Pixels): number {
  const y = luma(image);
  const { width: w, height: h } = image;
  let sum = 0;
  for (let r = 1; r < h - 1; r++) {
    for (let c = 1; c < w - 1; c++) {
      const i = r * w + c;
      sum += Math.abs(4 * y[i]! - y[i - 1]! - y[i + 1]! - y[i - w]! - y[i + w]!);
    }
  }
  return sum / ((w - 2) * (h - 2));
}
