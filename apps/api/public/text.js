// How names, sizes and refusals read on the page.
import { ApiError } from "./api.js";

/** `background-removal` → `Background removal`. */
export const opLabel = (name) => name.charAt(0).toUpperCase() + name.slice(1).replaceAll("-", " ");

export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  return bytes < 1024 * 1024 ? `${Math.round(bytes / 1024)} KB` : `${(bytes / 1048576).toFixed(1)} MB`;
}

/** The API's own `CODE: message`; a network failure says so. */
export const describeError = (err) =>
  err instanceof ApiError ? `${err.code}: ${err.message}` : `The service could not be reached (${err.message})`;
