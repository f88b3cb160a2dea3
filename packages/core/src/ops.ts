import { Type, type SchemaOptions, type Static, type TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { ValidationError } from "./errors.js";

export const OP_NAMES = ["upscale", "enhance", "comic", "background-removal"] as const;
export type OpName = (typeof OP_NAMES)[number];

export function isOpName(value: unknown): value is OpName {
  return typeof value === "string" && (OP_NAMES as readonly string[]).includes(value);
}

/** A schema accepting exactly one of `values` (a union of literals), with `options` on the union. */
function oneOf<const T extends string>(values: readonly T[], options?: SchemaOptions) {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  );
}

export const OUTPUT_FORMATS = ["png", "jpeg", "webp", "avif"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const OutputFormatSchema = oneOf(OUTPUT_FORMATS, {
  description: "Output encoding; default png for alpha output, else the input's format",
});

const ENCODER_QUALITY = Type.Integer({ minimum: 1, maximum: 100, description: "Encoder quality (jpeg, webp, avif)" });

/** Options every op accepts. `format` has no static default: it depends on the input. */
const commonOptions = {
  format: Type.Optional(OutputFormatSchema),
  quality: Type.Optional(ENCODER_QUALITY),
  model: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 100,
      description: "Model id from the catalogue; default: the op's default model",
    }),
  ),
};

export const UPSCALE_QUALITIES = ["fast", "balanced", "best"] as const;
export type UpscaleQuality = (typeof UPSCALE_QUALITIES)[number];

export const UpscaleOptions = Type.Object(
  {
    scale: Type.Union([Type.Literal(2), Type.Literal(3), Type.Literal(4)], {
      default: 4,
      description: "Scale factor; 2 and 3 are the 4x result downscaled",
    }),
    ...commonOptions,
    // `quality` names both the model choice (the word) and, as for every op, the encoder quality
    // (the number), so that neither contract breaks; the default model is the balanced one.
    quality: Type.Optional(
      Type.Union([
        oneOf(UPSCALE_QUALITIES, {
          description:
            "fast (lightest, flatter texture), balanced (photos; the default), best (most detail, slowest); `model` overrides it",
        }),
        ENCODER_QUALITY,
      ]),
    ),
  },
  { additionalProperties: false },
);
export type UpscaleOptions = Static<typeof UpscaleOptions>;

export const ENHANCE_MODES = ["auto", "low-light", "denoise"] as const;
export type EnhanceMode = (typeof ENHANCE_MODES)[number];

/** Largest noise level the denoiser takes, in 0..255 levels (FFDNet was trained up to about 50). */
export const MAX_DENOISE_SIGMA = 50;

export const EnhanceOptions = Type.Object(
  {
    mode: oneOf(ENHANCE_MODES, {
      default: "auto",
      description:
        "auto: measures exposure and noise and corrects only what the photo needs; low-light: always brighten; denoise: only remove noise",
    }),
    strength: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 1,
      description:
        "How much of the correction to apply, 0 (none) to 1 (all): scales the brightening (in auto mode, the measured amount) and the estimated denoising; an explicit `denoise` is used as given",
    }),
    denoise: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: MAX_DENOISE_SIGMA,
        description:
          "Noise level to remove (standard deviation in 0–255 levels); default: estimated from the photo; 0 turns denoising off",
      }),
    ),
    ...commonOptions,
  },
  { additionalProperties: false },
);
export type EnhanceOptions = Static<typeof EnhanceOptions>;

export const COMIC_STYLES = ["ink", "mosaic", "candy"] as const;
export type ComicStyle = (typeof COMIC_STYLES)[number];

export const ComicOptions = Type.Object(
  {
    style: oneOf(COMIC_STYLES, {
      default: "ink",
      description:
        "ink: flat colours with ink outlines (the comic look); the others are painterly neural styles; `model` overrides it",
    }),
    ...commonOptions,
  },
  { additionalProperties: false },
);
export type ComicOptions = Static<typeof ComicOptions>;

export const BackgroundRemovalOptions = Type.Object(
  {
    output: oneOf(["cutout", "mask", "color"], {
      default: "cutout",
      description: "cutout: RGBA; mask: greyscale mask; color: composited on `background`",
    }),
    background: Type.String({
      pattern: "^#[0-9a-fA-F]{6}$",
      default: "#ffffff",
      description: "Background colour for output=color",
    }),
    ...commonOptions,
  },
  { additionalProperties: false },
);
export type BackgroundRemovalOptions = Static<typeof BackgroundRemovalOptions>;

export const OP_OPTION_SCHEMAS = {
  upscale: UpscaleOptions,
  enhance: EnhanceOptions,
  comic: ComicOptions,
  "background-removal": BackgroundRemovalOptions,
} as const satisfies Record<OpName, TSchema>;

export interface OpOptionsMap {
  upscale: UpscaleOptions;
  enhance: EnhanceOptions;
  comic: ComicOptions;
  "background-removal": BackgroundRemovalOptions;
}
export type OpOptions = OpOptionsMap[OpName];

export const OP_DESCRIPTIONS: Record<OpName, string> = {
  upscale: "Super-resolution: the photo at 2x, 3x or 4x its size, with real detail instead of blur",
  enhance:
    "Photo enhancement: brightens dark photos and removes noise as measured on each photo; a well-exposed, clean photo comes back nearly unchanged",
  comic: "Comic look: flat colour regions with dark ink outlines (or a painterly neural style)",
  "background-removal":
    "Cut-out of the main subject (people, animals, objects, vehicles) with an alpha channel, its mask, or a new background",
};

/**
 * Applies defaults and validates `raw` against the op's option schema. Unknown options, wrong types
 * and out-of-range values raise `INVALID_OPTIONS`, with a message naming the option.
 */
export function parseOptions<Op extends OpName>(op: Op, raw: unknown): OpOptionsMap[Op] {
  const schema = OP_OPTION_SCHEMAS[op];
  if (raw === undefined || raw === null) raw = {};
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new ValidationError(`Expected a JSON object for options but received ${describe(raw)}`, {
      code: "INVALID_OPTIONS",
    });
  }
  const withDefaults = Value.Default(schema, structuredClone(raw));
  const firstError = Value.Errors(schema, withDefaults).First();
  if (firstError) {
    const name = firstError.path.replace(/^\//, "") || "options";
    const isUnknown = firstError.schema === schema && firstError.message.includes("additional");
    const message = isUnknown
      ? `Unknown option ${unknownKey(schema, withDefaults) ?? name} for op ${op}`
      : `Invalid option ${name} for op ${op}: ${firstError.message}, received ${describe(firstError.value)}`;
    throw new ValidationError(message, { code: "INVALID_OPTIONS", details: { option: name } });
  }
  return withDefaults as OpOptionsMap[Op];
}

function unknownKey(schema: TSchema, value: unknown): string | undefined {
  const known = Object.keys((schema as { properties?: Record<string, unknown> }).properties ?? {});
  return Object.keys(value as object).find((k) => !known.includes(k));
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  try {
    return JSON.stringify(value);
  } catch {
    return typeof value;
  }
}

/** The encoder quality of `options`: upscale's `quality` may instead be a model choice (a word). */
export function encoderQuality(options: OpOptions): number | undefined {
  return typeof options.quality === "number" ? options.quality : undefined;
}

/** The size an op will produce for an input of `input` pixels, known before any decoding. */
export function expectedOutputSize(
  op: OpName,
  options: OpOptions,
  input: { width: number; height: number },
): { width: number; height: number } {
  const scale = op === "upscale" ? (options as UpscaleOptions).scale : 1;
  return { width: input.width * scale, height: input.height * scale };
}
