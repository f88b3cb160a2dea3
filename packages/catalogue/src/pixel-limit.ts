import { PermanentJobError } from "@imagen/core";

/**
 * Refuses a size over `maxPixels` with `code`; `what` names the image in the message ("an image",
 * "an output"). Shared by the input check (from the header) and the output check (before decoding).
 */
export function assertPixelLimit(
  size: { width: number; height: number },
  maxPixels: number,
  limit: { code: "IMAGE_TOO_LARGE" | "OUTPUT_TOO_LARGE"; what: string },
): void {
  const pixels = size.width * size.height;
  if (pixels > maxPixels) {
    throw new PermanentJobError(
      limit.code,
      `Expected ${limit.what} of at most ${maxPixels} pixels but received ${size.width}×${size.height} (${pixels} pixels)`,
    );
  }
}
