// Controls for an op's options, generated from the JSON Schema that GET /v1/ops returns: a select
// for an enum, a slider for a bounded number, a colour picker for a #rrggbb string, a checkbox for
// a boolean. Options with a default are the main controls; the optional rest go under "More".

const HEX_COLOUR = "^#[0-9a-fA-F]{6}$";
// How a value reads in a select, where the raw value would be cryptic.
const VALUE_LABELS = { scale: (value) => `${value}×`, format: (value) => value.toUpperCase() };

const humanize = (key) => key.charAt(0).toUpperCase() + key.slice(1).replace(/[-_]/g, " ");
const plain = (text) => (text ?? "").replaceAll("`", "");

/** The values of an enum-like schema (`enum`, or `anyOf` of `const`s, or the first such branch). */
export function enumValues(schema) {
  if (Array.isArray(schema.enum)) return schema.enum;
  if (!Array.isArray(schema.anyOf)) return null;
  if (schema.anyOf.every((branch) => "const" in branch)) return schema.anyOf.map((branch) => branch.const);
  for (const branch of schema.anyOf) {
    const values = enumValues(branch);
    if (values) return values;
  }
  return null;
}

const isNumber = (schema) => schema.type === "number" || schema.type === "integer";

function element(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function selectControl(id, values, schema, key) {
  const select = element("select", { id });
  if (schema.default === undefined) select.append(new Option("Default", ""));
  for (const value of values) {
    const label = VALUE_LABELS[key]?.(value) ?? String(value);
    select.append(new Option(label, String(value), false, value === schema.default));
  }
  return { control: select, read: () => values.find((value) => String(value) === select.value) };
}

function modelControl(id, models, schema) {
  // Models with a role (a denoiser next to the enhancer) are picked by the op itself.
  const allowed = enumValues(schema);
  const choices = models.filter((model) => model.role === undefined && (!allowed || allowed.includes(model.id)));
  const select = element("select", { id }, new Option("Default", ""));
  for (const model of choices) {
    const option = new Option(model.label === model.id ? model.id : `${model.label} (${model.id})`, model.id);
    option.disabled = model.available === false;
    select.append(option);
  }
  return { control: select, read: () => select.value || undefined };
}

function rangeControl(id, schema) {
  const step = schema.type === "integer" ? 1 : (schema.maximum - schema.minimum) / 100;
  const decimals = step >= 1 ? 0 : Math.ceil(-Math.log10(step));
  const initial = schema.default ?? (schema.minimum + schema.maximum) / 2;
  const input = element("input", { id, type: "range", min: schema.minimum, max: schema.maximum, step });
  input.value = String(initial);
  const shown = element("output", { htmlFor: id, className: "range-value" });
  const auto = schema.default === undefined && element("input", { type: "checkbox", checked: true, id: `${id}-auto` });
  const show = () => (shown.value = auto?.checked ? "auto" : Number(input.value).toFixed(decimals));
  input.addEventListener("input", show);
  show();
  const row = element("div", { className: "range-row" }, input, shown);
  if (!auto) return { control: row, focus: input, read: () => Number(input.value) };
  // No default (the service decides, e.g. from the photo): "Auto" until the person unticks it.
  const sync = () => {
    input.disabled = auto.checked;
    shown.classList.toggle("muted", auto.checked);
    show();
  };
  auto.addEventListener("change", sync);
  sync();
  row.append(element("label", { className: "auto", htmlFor: auto.id }, auto, " Auto"));
  return { control: row, focus: input, read: () => (auto.checked ? undefined : Number(input.value)) };
}

function colourControl(id, schema) {
  const input = element("input", { id, type: "color", value: schema.default ?? "#ffffff" });
  const shown = element("output", { htmlFor: id, className: "range-value mono", value: input.value });
  input.addEventListener("input", () => (shown.value = input.value));
  return { control: element("div", { className: "range-row" }, input, shown), focus: input, read: () => input.value };
}

function checkboxControl(id, schema) {
  const input = element("input", { id, type: "checkbox", checked: schema.default === true });
  return { control: input, read: () => input.checked };
}

function textControl(id, schema) {
  const input = element("input", { id, type: "text", value: schema.default ?? "" });
  return { control: input, read: () => input.value.trim() || undefined };
}

function controlFor(id, key, schema, op) {
  if (key === "model" && op.models?.length) return { kind: "select", ...modelControl(id, op.models, schema) };
  const values = enumValues(schema);
  if (values) return { kind: "select", ...selectControl(id, values, schema, key) };
  if (schema.type === "boolean") return { kind: "checkbox", ...checkboxControl(id, schema) };
  if (isNumber(schema) && schema.minimum !== undefined && schema.maximum !== undefined) {
    return { kind: "range", ...rangeControl(id, schema) };
  }
  if (schema.type === "string" && schema.pattern === HEX_COLOUR)
    return { kind: "colour", ...colourControl(id, schema) };
  return { kind: "text", ...textControl(id, schema) };
}

function field(key, schema, op) {
  const id = `opt-${op.name}-${key}`;
  const { kind, control, focus, read } = controlFor(id, key, schema, op);
  // A union's description may sit on its branch (upscale's quality: a word, or a number).
  const description = schema.description ?? schema.anyOf?.find((branch) => branch.description)?.description;
  const hint = element("p", { id: `${id}-hint`, className: "hint", textContent: plain(description) });
  (focus ?? control).setAttribute("aria-describedby", hint.id);
  const label = element("label", { htmlFor: id, textContent: humanize(key) });
  const node =
    kind === "checkbox"
      ? element("div", { className: "field field-check" }, element("div", {}, control, label), hint)
      : element("div", { className: "field" }, label, control, hint);
  return { node, read };
}

/**
 * A field whose description says it applies "for output=color" shows only while that select has
 * that value; where no description says so, every field shows.
 */
function linkConditions(fields) {
  for (const f of fields) {
    const [, key, value] = /\bfor `?(\w+)=(\w+)`?\s*$/.exec(plain(f.schema.description)) ?? [];
    const select = fields.find((other) => other.key === key)?.node.querySelector("select");
    if (!select) continue;
    const sync = () => (f.node.hidden = select.value !== value);
    select.addEventListener("change", sync);
    sync();
    f.applies = () => select.value === value;
  }
}

/**
 * Fills `main` and `more` with controls for `op`; `values()` returns the options to send: those
 * that differ from their default and the optional ones the person set.
 */
export function renderOptions(op, { main, more }) {
  const properties = op.options?.properties ?? {};
  const fields = Object.entries(properties).map(([key, schema]) => ({ key, schema, ...field(key, schema, op) }));
  linkConditions(fields);
  main.replaceChildren(...fields.filter((f) => f.schema.default !== undefined).map((f) => f.node));
  const optional = fields.filter((f) => f.schema.default === undefined).map((f) => f.node);
  more.replaceChildren(...optional);
  if (main.childElementCount === 0) main.append(element("p", { className: "muted", textContent: "No options." }));
  return {
    hasMore: optional.length > 0,
    values() {
      const chosen = {};
      for (const { key, schema, read, applies } of fields) {
        if (applies && !applies()) continue;
        const value = read();
        if (value !== undefined && value !== schema.default) chosen[key] = value;
      }
      return chosen;
    },
  };
}

/**
 * A short tag for file names from the op's first enum option with a default: `x4` for upscale's
 * scale, `cutout` for background-removal's output; "" where the op has none.
 */
export function optionTag(op, options) {
  for (const [key, property] of Object.entries(op?.options?.properties ?? {})) {
    if (property.default === undefined || !enumValues(property)) continue;
    const value = options?.[key] ?? property.default;
    return typeof value === "number" ? `x${value}` : String(value);
  }
  return "";
}
