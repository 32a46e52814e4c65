// The hashing worker: fingerprints files off the main thread, so the page stays responsive
// (issue 13). A file's bytes never leave this worker; only its fingerprints are posted back.
//   SHA-256 of the bytes (spec §2.4), streamed;
//   PDQ and its quality for images, and the PDQ hashes of 16 crops of the image (pdq_variants,
//   spec §2.4: crops and borders of a copy still match), on the pixels as the browser decodes them with their EXIF
//   orientation applied (as the Python SDK does with Pillow's exif_transpose). An image whose
//   longer side exceeds PDQ_MAX_SIDE is first scaled down to that size with the browser's
//   high-quality resampling: PDQ reduces every image to 64x64 anyway, and hashing 12 megapixels
//   in JavaScript would take seconds. The hash can then differ from the Python SDK's (which
//   hashes every pixel) by a few bits, far inside the matching distance (README "The web app").
//   The crops are computed from these pixels exactly as the SDK computes them from its own.
//   For a look-up, also the query hashes of the recommended check (spec §6.8.3 item 6).
import { fingerprintPixels, queryPixels, sha256Stream } from "./protocol";
import type { HashReply, HashRequest } from "./hashing";

declare const self: DedicatedWorkerGlobalScope;

export const PDQ_MAX_SIDE = 1024;

async function pixelsOf(file: Blob): Promise<{ data: Uint8ClampedArray; width: number; height: number } | null> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    return null; // not an image the browser decodes
  }
  const scale = Math.min(1, PDQ_MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(1, Math.round(bitmap.width * scale));
  const height = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  if (context === null) throw new Error("no 2D canvas in this browser");
  // Transparent pixels on white, as the SDK flattens images before hashing.
  context.fillStyle = "#fff";
  context.fillRect(0, 0, width, height);
  context.imageSmoothingEnabled = true;
  context.imageSmoothingQuality = "high";
  context.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  return { data: context.getImageData(0, 0, width, height).data, width, height };
}

self.onmessage = async (event: MessageEvent<HashRequest>) => {
  const { id, file, query } = event.data;
  try {
    const sha256 = await sha256Stream(file.stream());
    const pixels = file.type.startsWith("image/") || file.type === "" ? await pixelsOf(file) : null;
    const pdq = pixels === null ? null : fingerprintPixels(pixels.data, pixels.width, pixels.height);
    const reply: HashReply = {
      id,
      ok: true,
      sha256,
      pdq: pdq?.hash ?? null,
      quality: pdq?.quality ?? null,
      variants: pdq?.variants ?? [],
      query: pixels !== null && pdq !== null && query ? queryPixels(pixels.data, pixels.width, pixels.height, pdq) : null,
      width: pixels?.width ?? null,
      height: pixels?.height ?? null,
    };
    self.postMessage(reply);
  } catch (error) {
    const reply: HashReply = { id, ok: false, error: String(error) };
    self.postMessage(reply);
  }
};
