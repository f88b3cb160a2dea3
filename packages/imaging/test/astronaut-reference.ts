/**
 * A hand-checked reference for `shared/images/portrait-astronaut-512x512.png` (checked by eye on an
 * overlay of the photo). Rectangles that must be foreground (hair, face, collar, suit) or background
 * (flag, backdrop, rocket, dark table); the helmet she holds is left out as ambiguous. The head box
 * is exact at the pixel level: the backdrop there is grey (max − min channel ≤ 30) while hair and
 * skin are saturated, so the background is what a flood fill from the box's top and sides reaches
 * through grey pixels (eyes and teeth, grey too, are enclosed and stay foreground).
 */
type Box = readonly [x0: number, y0: number, x1: number, y1: number];

const SIZE = 512;
const FOREGROUND: readonly Box[] = [
  [185, 28, 270, 60],
  [190, 85, 260, 160],
  [185, 185, 260, 230],
  [60, 300, 250, 490],
  [290, 280, 345, 330],
];
const BACKGROUND: readonly Box[] = [
  [100, 0, 145, 110],
  [0, 0, 70, 200],
  [310, 10, 355, 200],
  [385, 60, 440, 230],
  [470, 0, 512, 250],
  [380, 290, 500, 335],
  [0, 220, 40, 290],
];
const HEAD_BOX: Box = [140, 0, 320, 150];
const GREY_MAX_SPREAD = 30;

const inside = (boxes: readonly Box[], x: number, y: number): boolean =>
  boxes.some(([x0, y0, x1, y1]) => x >= x0 && x < x1 && y >= y0 && y < y1);

/** Labels per pixel: 1 foreground, 0 background, -1 unlabelled. */
export function rectangleLabels(): Int8Array {
  const labels = new Int8Array(SIZE * SIZE).fill(-1);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      if (inside(FOREGROUND, x, y)) labels[y * SIZE + x] = 1;
      else if (inside(BACKGROUND, x, y)) labels[y * SIZE + x] = 0;
    }
  }
  return labels;
}

/** Exact head-silhouette labels inside the head box (1/0), -1 elsewhere; `rgb` is the photo. */
export function headLabels(rgb: Uint8Array): Int8Array {
  const [x0, y0, x1, y1] = HEAD_BOX;
  const labels = new Int8Array(SIZE * SIZE).fill(-1);
  for (let y = y0; y < y1; y++) labels.fill(1, y * SIZE + x0, y * SIZE + x1);
  const grey = (i: number): boolean =>
    Math.max(rgb[i * 3]!, rgb[i * 3 + 1]!, rgb[i * 3 + 2]!) - Math.min(rgb[i * 3]!, rgb[i * 3 + 1]!, rgb[i * 3 + 2]!) <=
    GREY_MAX_SPREAD;
  const stack: number[] = [];
  for (let x = x0; x < x1; x++) stack.push(x, y0);
  for (let y = y0; y < y1; y++) stack.push(x0, y, x1 - 1, y);
  while (stack.length > 0) {
    const y = stack.pop()!;
    const x = stack.pop()!;
    const i = y * SIZE + x;
    if (x < x0 || x >= x1 || y < y0 || y >= y1 || labels[i] !== 1 || !grey(i)) continue;
    labels[i] = 0;
    stack.push(x + 1, y, x - 1, y, x, y + 1, x, y - 1);
  }
  return labels;
}

/** Scores a 512² alpha (0..255) against labels: IoU of foreground and accuracy, alpha ≥ 128. */
export function scoreMask(alpha: Uint8Array, labels: Int8Array): { iou: number; accuracy: number; softError: number } {
  let intersection = 0;
  let union = 0;
  let correct = 0;
  let labelled = 0;
  let softError = 0;
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (label < 0) continue;
    const predicted = alpha[i]! >= 128 ? 1 : 0;
    labelled += 1;
    if (predicted === label) correct += 1;
    if (predicted === 1 && label === 1) intersection += 1;
    if (predicted === 1 || label === 1) union += 1;
    softError += Math.abs(alpha[i]! / 255 - label);
  }
  return { iou: intersection / union, accuracy: correct / labelled, softError: softError / labelled };
}
