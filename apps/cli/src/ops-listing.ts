import { OP_DESCRIPTIONS, OP_NAMES, OP_OPTION_SCHEMAS } from "@imagen/core";
import type { ModelManifest } from "@imagen/catalogue";
import type { Paint } from "./output/paint.js";
import { renderTable } from "./output/table.js";

/** A JSON Schema node as the op option schemas use them (TypeBox output). */
export interface SchemaNode {
  type?: string;
  const?: unknown;
  anyOf?: SchemaNode[];
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  properties?: Record<string, SchemaNode>;
}

/** An op as `GET /v1/ops` describes it; the in-process listing has the same shape. */
export interface OpListing {
  name: string;
  description: string;
  /** Whether it can run now; `null` where the answer is not known here. */
  available?: boolean | null;
  unavailableReason?: string;
  options: SchemaNode;
  models: {
    id: string;
    label: string;
    default: boolean;
    role?: string;
    selectedBy?: Record<string, string>;
  }[];
}

/** The ops of this build with the models of `manifest`, as the API lists them (availability unknown: nothing is checked). */
export function localOpListing(manifest: ModelManifest): OpListing[] {
  return OP_NAMES.map((name) => ({
    name,
    description: OP_DESCRIPTIONS[name],
    available: null,
    options: OP_OPTION_SCHEMAS[name],
    models: manifest.models
      .filter((m) => m.op === name)
      .map((m) => ({
        id: m.id,
        label: m.label,
        default: m.default,
        ...(m.role !== undefined && { role: m.role }),
        ...(m.choice !== undefined && { selectedBy: { [m.choice.option]: m.choice.value } }),
      })),
  }));
}

/** Each op, its options (accepted values and default) and its models. */
export function renderOps(ops: readonly OpListing[], paint: Paint): string {
  const blocks = ops.map((op) => {
    const lines = [`${paint("bold", op.name)}  ${op.description}`];
    if (op.available === false) lines.push(paint("bad", `  unavailable: ${op.unavailableReason ?? "unknown reason"}`));
    const options = Object.entries(op.options.properties ?? {}).map(([name, schema]) => [
      `  ${name}`,
      describeValues(schema),
      schema.default === undefined ? "" : `default ${show(schema.default)}`,
      descriptionOf(schema),
    ]);
    lines.push(
      "  options (--option key=value):",
      ...renderTable(["", "", "", ""], options)
        .slice(1)
        .map((l) => `  ${l}`),
    );
    const models = op.models.map((m) => [
      `  ${m.id}`,
      [m.default && "default", m.role, ...Object.entries(m.selectedBy ?? {}).map(([k, v]) => `${k}=${v}`)]
        .filter(Boolean)
        .join(", "),
      m.label,
    ]);
    lines.push(
      "  models (--model ID):",
      ...renderTable(["", "", ""], models)
        .slice(1)
        .map((l) => `  ${l}`),
    );
    return lines.join("\n");
  });
  return `${blocks.join("\n\n")}\n`;
}

function show(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function descriptionOf(schema: SchemaNode): string {
  return schema.description ?? schema.anyOf?.map(descriptionOf).find((d) => d !== "") ?? "";
}

/** The values a schema accepts, in short: `2|3|4`, `integer 1..100`, `string ^#[0-9a-fA-F]{6}$`. */
function describeValues(schema: SchemaNode): string {
  if (schema.anyOf) return schema.anyOf.map(describeValues).join("|");
  if (schema.const !== undefined) return show(schema.const);
  const range =
    schema.minimum !== undefined || schema.maximum !== undefined
      ? ` ${schema.minimum ?? ""}..${schema.maximum ?? ""}`
      : "";
  const pattern = schema.pattern === undefined ? "" : ` ${schema.pattern}`;
  return `${schema.type ?? "any"}${range}${pattern}`;
}
