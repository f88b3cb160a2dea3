import { Type, type Static, type TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { ValidationError } from "./errors.js";

export const OP_NAMES = ["upscale", "enhance", "comic", "background-removal"] as const;
export type OpName = (typeof OP_NAMES)[number];

export function isOpName(value: unknown): value is OpName {
  return typeof value === "string" && (OP_NAMES as readonly string[]).includes(value);
}

export const OUTPUT_FORMATS = ["png", "jpeg", "webp", "avif"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const OutputFormatSchema = Type.Union(
  OUTPUT_FORMATS.map((f) => Type.Literal(f)),
  { description: "Output encoding; default png for alpha output, else the input's format" },
);

/** Options every op accepts. `format` has no static default: it depends on the input. */
const commonOptions = {
  format: Type.Optional(OutputFormatSchema),
  quality: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: "Encoder quality (jpeg, webp, avif)" })),
  model: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 100,
      description: "Model id from the catalogue; default: the op's default model",
    }),
  ),
};

export const UpscaleOptions = Type.Object(
  {
    scale: Type.Union([Type.Literal(2), Type.Literal(4)], { default: 4, description: "Scale factor" }),
    ...commonOptions,
  },
  { additionalProperties: false },
);
export type UpscaleOptions = Static<typeof UpscaleOptions>;

export const EnhanceOptions = Type.Object(
  {
    strength: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 1,
      description: "Blend of input (0) and model output (1)",
    }),
    ...commonOptions,
  },
  { additionalProperties: false },
);
export type EnhanceOptions = Static<typeof EnhanceOptions>;

export const ComicOptions = Type.Object({ ...commonOptions }, { additionalProperties: false });
export type ComicOptions = Static<typeof ComicOptions>;

export const BackgroundRemovalOptions = Type.Object(
  {
    output: Type.Union([Type.Literal("cutout"), Type.Literal("mask"), Type.Literal("color")], {
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
  upscale: "Super-resolution: the image at 2x or 4x its size",
  enhance: "Photo enhancement (low-light correction), blended with the input by strength",
  comic: "Stylised, painterly rendering of the photo",
  "background-removal": "Cut-out of the foreground with an alpha channel, its mask, or a new background",
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

/** The size an op will produce for an input of `input` pixels, known before any decoding. */
export function expectedOutputSize(
  op: OpName,
  options: OpOptions,
  input: { width: number; height: number },
): { width: number; height: number } {
  const scale = op === "upscale" ? (options as UpscaleOptions).scale : 1;
  return { width: input.width * scale, height: input.height * scale };
}
