import { OP_OPTION_SCHEMAS, parseOptions, type OpName, type OpOptionsMap } from "@imagen/core";
import { UsageError } from "./usage-error.js";

/** The op's options as the user gave them (for the API, which applies its own defaults) and validated with defaults. */
export interface ParsedOptions<Op extends OpName> {
  given: Record<string, string | number | boolean>;
  options: OpOptionsMap[Op];
}

interface JsonSchemaNode {
  type?: string;
  anyOf?: JsonSchemaNode[];
}

/**
 * Turns `--option key=value` pairs (plus `--model`, `--format`, which win over a pair of the same
 * name) into the op's options, validated by the same schema the API uses (core's `parseOptions`).
 * A value becomes a number or a boolean where the option's schema accepts one, else stays a string.
 * Throws `UsageError` naming the bad pair or option.
 */
export function parseOptionPairs<Op extends OpName>(
  op: Op,
  pairs: readonly string[],
  flags: { model?: string | undefined; format?: string | undefined } = {},
): ParsedOptions<Op> {
  const properties = (OP_OPTION_SCHEMAS[op] as { properties: Record<string, JsonSchemaNode> }).properties;
  const given: Record<string, string | number | boolean> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new UsageError(`Expected key=value for --option but received ${JSON.stringify(pair)}`);
    const key = pair.slice(0, at);
    const schema = Object.hasOwn(properties, key) ? properties[key] : undefined;
    given[key] = coerce(pair.slice(at + 1), schema);
  }
  if (flags.model !== undefined) given.model = flags.model;
  if (flags.format !== undefined) given.format = flags.format;
  try {
    return { given, options: parseOptions(op, given) };
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err), { cause: err });
  }
}

function coerce(raw: string, schema: JsonSchemaNode | undefined): string | number | boolean {
  const types = schema ? typesOf(schema) : new Set<string>();
  if ((types.has("number") || types.has("integer")) && /^-?(\d+\.?\d*|\.\d+)(e-?\d+)?$/i.test(raw)) return Number(raw);
  if (types.has("boolean") && (raw === "true" || raw === "false")) return raw === "true";
  return raw;
}

function typesOf(schema: JsonSchemaNode): Set<string> {
  const types = new Set<string>(schema.type === undefined ? [] : [schema.type]);
  for (const member of schema.anyOf ?? []) for (const type of typesOf(member)) types.add(type);
  return types;
}
