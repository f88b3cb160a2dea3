import { readFile } from "node:fs/promises";
import * as path from "node:path";
import { Type, type Static } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";

/**
 * Hand-made reference masks for the test photos (test/images/masks/*.json, see the README there).
 * Each is a union of shapes drawn by eye on zoomed overlays of the photo: polygons (flat x,y lists
 * in pixel coordinates, pixel centres at +0.5), ellipses and rectangles, carved where the backdrop
 * is plain by flood fills (pixel-exact). A band of `bandPx` around the outline is left unlabelled,
 * because a hand-drawn outline is only that precise, and so are the `ignore` shapes (parts where
 * "the subject" is a matter of taste: a held helmet, a tripod).
 */
const Shape = Type.Union([
  Type.Object({ polygon: Type.Array(Type.Number(), { minItems: 6 }) }),
  /** cx, cy, rx, ry, rotation in degrees (clockwise, image coordinates). */
  Type.Object({ ellipse: Type.Tuple([Type.Number(), Type.Number(), Type.Number(), Type.Number(), Type.Number()]) }),
  /** x0, y0, x1, y1 (x1 and y1 exclusive). */
  Type.Object({ rect: Type.Tuple([Type.Number(), Type.Number(), Type.Number(), Type.Number()]) }),
]);
export type Shape = Static<typeof Shape>;

/**
 * A pixel-exact rule inside `box`: the pixels reached from the named box sides through pixels that
 * pass `through` are carved out of the shapes (become background); the shapes are then drawn a
 * little outside the subject there. Used where the backdrop differs plainly from the subject (the
 * astronaut's grey backdrop, the photographer's dark coat against sky and grass).
 */
const Flood = Type.Object({
  box: Type.Tuple([Type.Integer(), Type.Integer(), Type.Integer(), Type.Integer()]),
  from: Type.Array(
    Type.Union([Type.Literal("top"), Type.Literal("left"), Type.Literal("right"), Type.Literal("bottom")]),
    {
      minItems: 1,
    },
  ),
  through: Type.Object({
    /** max − min over R, G, B at most this (grey pixels). */
    maxSpread: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Rec. 601 luma at least / at most this (0..255). */
    minLuma: Type.Optional(Type.Number()),
    maxLuma: Type.Optional(Type.Number()),
    /** B − max(R, G) at least this (a blue sky). */
    minBlueExcess: Type.Optional(Type.Number()),
    /** G − max(R, B) at least this (green leaves). */
    minGreenExcess: Type.Optional(Type.Number()),
  }),
});
export type Flood = Static<typeof Flood>;

export const ReferenceMask = Type.Object({
  photo: Type.String({ minLength: 1 }),
  width: Type.Integer({ minimum: 1 }),
  height: Type.Integer({ minimum: 1 }),
  subject: Type.String({ minLength: 1 }),
  /** Whether the subject is a person: the portrait model is only meant to help on these. */
  person: Type.Boolean(),
  bandPx: Type.Integer({ minimum: 0 }),
  foreground: Type.Array(Shape, { minItems: 1 }),
  /** Cut out of the foreground (the hole of a cup handle, background seen between arms). */
  holes: Type.Optional(Type.Array(Shape)),
  floods: Type.Optional(Type.Array(Flood)),
  /** Left unlabelled. */
  ignore: Type.Optional(Type.Array(Shape)),
  notes: Type.Optional(Type.Array(Type.String())),
});
export type ReferenceMask = Static<typeof ReferenceMask>;

/** Per-pixel labels: 1 foreground, 0 background, -1 unlabelled; `outline` is the distance to the outline. */
export interface Labels {
  labels: Int8Array;
  /** Chessboard distance (px) from each pixel to the nearest pixel of the other class: 1 next to the outline. */
  outline: Uint16Array;
  width: number;
  height: number;
}

/** Reads and validates `masks/<stem>.json` from the test images folder. */
export async function loadReference(imagesDir: string, stem: string): Promise<ReferenceMask> {
  const file = path.join(imagesDir, "masks", `${stem}.json`);
  const raw: unknown = JSON.parse(await readFile(file, "utf8"));
  const error = Value.Errors(ReferenceMask, raw).First();
  if (error) throw new Error(`Invalid reference ${file} at ${error.path || "/"}: ${error.message}`);
  return raw as ReferenceMask;
}

/**
 * Rasterises a reference: foreground shapes minus holes, then the flood rules (which need the
 * photo's RGB, HWC), then the outline band and ignore shapes unlabelled.
 */
export function rasterizeReference(ref: ReferenceMask, rgb?: Uint8Array): Labels {
  const { width, height } = ref;
  const fg = new Uint8Array(width * height);
  for (const shape of ref.foreground) fillShape(fg, width, height, shape, 1);
  for (const shape of ref.holes ?? []) fillShape(fg, width, height, shape, 0);
  for (const flood of ref.floods ?? []) {
    if (!rgb) throw new Error(`Reference for ${ref.photo} has flood rules: pass the photo's pixels`);
    applyFlood(fg, width, rgb, flood);
  }
  const outline = outlineDistance(fg, width, height);
  const labels = new Int8Array(width * height);
  for (let i = 0; i < labels.length; i++) labels[i] = outline[i]! <= ref.bandPx ? -1 : fg[i]!;
  const ignored = new Uint8Array(width * height);
  for (const shape of ref.ignore ?? []) fillShape(ignored, width, height, shape, 1);
  for (let i = 0; i < labels.length; i++) if (ignored[i]) labels[i] = -1;
  return { labels, outline, width, height };
}

function applyFlood(fg: Uint8Array, width: number, rgb: Uint8Array, flood: Flood): void {
  const [x0, y0, x1, y1] = flood.box;
  const { maxSpread = 255, minLuma = 0, maxLuma = 255, minBlueExcess = -255, minGreenExcess = -255 } = flood.through;
  const passes = (i: number): boolean => {
    const [r, g, b] = [rgb[i * 3]!, rgb[i * 3 + 1]!, rgb[i * 3 + 2]!];
    const luma = 0.299 * r + 0.587 * g + 0.114 * b;
    const spread = Math.max(r, g, b) - Math.min(r, g, b);
    return (
      spread <= maxSpread &&
      luma >= minLuma &&
      luma <= maxLuma &&
      b - Math.max(r, g) >= minBlueExcess &&
      g - Math.max(r, b) >= minGreenExcess
    );
  };
  const reached = new Uint8Array(fg.length);
  const stack: number[] = [];
  for (const side of flood.from) {
    if (side === "top" || side === "bottom") for (let x = x0; x < x1; x++) stack.push(x, side === "top" ? y0 : y1 - 1);
    else for (let y = y0; y < y1; y++) stack.push(side === "left" ? x0 : x1 - 1, y);
  }
  while (stack.length > 0) {
    const y = stack.pop()!;
    const x = stack.pop()!;
    const i = y * width + x;
    if (x < x0 || x >= x1 || y < y0 || y >= y1 || reached[i] || !passes(i)) continue;
    reached[i] = 1;
    fg[i] = 0;
    stack.push(x + 1, y, x - 1, y, x, y + 1, x, y - 1);
  }
}

function fillShape(dst: Uint8Array, width: number, height: number, shape: Shape, value: number): void {
  const hit = shapeTest(shape);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) if (hit(x + 0.5, y + 0.5)) dst[y * width + x] = value;
  }
}

function shapeTest(shape: Shape): (x: number, y: number) => boolean {
  if ("rect" in shape) {
    const [x0, y0, x1, y1] = shape.rect;
    return (x, y) => x >= x0 && x < x1 && y >= y0 && y < y1;
  }
  if ("ellipse" in shape) {
    const [cx, cy, rx, ry, degrees] = shape.ellipse;
    const [cos, sin] = [Math.cos((degrees * Math.PI) / 180), Math.sin((degrees * Math.PI) / 180)];
    return (x, y) => {
      const u = ((x - cx) * cos + (y - cy) * sin) / rx;
      const v = (-(x - cx) * sin + (y - cy) * cos) / ry;
      return u * u + v * v <= 1;
    };
  }
  const p = shape.polygon;
  return (x, y) => {
    // Even-odd rule over the closed polygon.
    let inside = false;
    for (let i = 0, j = p.length - 2; i < p.length; j = i, i += 2) {
      const [xi, yi, xj, yj] = [p[i]!, p[i + 1]!, p[j]!, p[j + 1]!];
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  };
}

/**
 * Chessboard distance from each pixel to the nearest pixel of the other class, by two raster passes
 * (pixels next to the outline are 1). The image border is not an outline.
 */
export function outlineDistance(fg: Uint8Array, width: number, height: number): Uint16Array {
  const far = 65535;
  const d = new Uint16Array(width * height).fill(far);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      for (let dy = -1; dy <= 1 && d[i] === far; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const [xx, yy] = [x + dx, y + dy];
          if (xx >= 0 && yy >= 0 && xx < width && yy < height && fg[yy * width + xx] !== fg[i]) d[i] = 1;
        }
      }
    }
  }
  const relax = (i: number, j: number): void => {
    if (d[j]! + 1 < d[i]!) d[i] = d[j]! + 1;
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (x > 0) relax(i, i - 1);
      if (y > 0) {
        relax(i, i - width);
        if (x > 0) relax(i, i - width - 1);
        if (x < width - 1) relax(i, i - width + 1);
      }
    }
  }
  for (let y = height - 1; y >= 0; y--) {
    for (let x = width - 1; x >= 0; x--) {
      const i = y * width + x;
      if (x < width - 1) relax(i, i + 1);
      if (y < height - 1) {
        relax(i, i + width);
        if (x < width - 1) relax(i, i + width + 1);
        if (x > 0) relax(i, i + width - 1);
      }
    }
  }
  return d;
}

/** How an alpha (0..255, the reference's size) compares with the reference. */
export interface MaskScore {
  /** IoU of alpha ≥ 128 against the foreground, over labelled pixels. */
  iou: number;
  /** Share of labelled pixels on the right side of 128. */
  accuracy: number;
  /** Mean |alpha/255 − label| over labelled pixels. */
  softError: number;
}

/** Scores an alpha against labels (1/0; -1 is skipped). */
export function scoreMask(alpha: Uint8Array, labels: Int8Array): MaskScore {
  let [intersection, union, correct, labelled, softError] = [0, 0, 0, 0, 0];
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

/** Edge quality of an alpha around the reference outline. */
export interface EdgeScore {
  /** Mean alpha (0..1) over background pixels `bandPx`+1 … `bandPx`+`ringPx` from the outline: the halo. */
  halo: number;
  /** Share of pixels within `bandPx` of the outline (not ignored) with alpha strictly between 10 and 245. */
  soft: number;
}

/** Measures the halo just outside the subject and the softness of the edge, skipping `ignore` shapes. */
export function scoreEdges(alpha: Uint8Array, ref: ReferenceMask, reference: Labels, ringPx = 6): EdgeScore {
  const ignored = new Uint8Array(alpha.length);
  for (const shape of ref.ignore ?? []) fillShape(ignored, ref.width, ref.height, shape, 1);
  let [haloSum, haloCount, soft, band] = [0, 0, 0, 0];
  for (let i = 0; i < alpha.length; i++) {
    if (ignored[i]) continue;
    const d = reference.outline[i]!;
    if (d <= ref.bandPx) {
      band += 1;
      if (alpha[i]! > 10 && alpha[i]! < 245) soft += 1;
    } else if (d <= ref.bandPx + ringPx && reference.labels[i] === 0) {
      haloSum += alpha[i]! / 255;
      haloCount += 1;
    }
  }
  return { halo: haloSum / haloCount, soft: soft / band };
}
