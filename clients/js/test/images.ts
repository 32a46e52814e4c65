// Generated test images: the same integer formulas as generated_pixels() in
// scripts/python_answers.py, so TypeScript and Python hash the same pixels.
export function generatedRgba(kind: string, width: number, height: number): Uint8Array {
  const data = new Uint8Array(4 * width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r: number;
      let g: number;
      let b: number;
      if (kind === "gradient") {
        r = Math.floor((x * 255) / Math.max(width - 1, 1));
        g = Math.floor((y * 255) / Math.max(height - 1, 1));
        b = (x + y) % 256;
      } else if (kind === "checker") {
        const v = ((Math.floor(x / 25) + Math.floor(y / 25)) % 2) * 200 + 30;
        r = v;
        g = 255 - v;
        b = (x * 3) % 256;
      } else if (kind === "rings") {
        const dx = x - Math.floor(width / 3);
        const dy = y - Math.floor(height / 2);
        const d = Math.floor((dx * dx + dy * dy) / 97);
        r = (d * 7) % 256;
        g = (d * 13) % 256;
        b = Math.floor(x / 4) % 256;
      } else if (kind === "noise") {
        let h = Number((BigInt(x) * 73856093n + BigInt(y) * 19349663n) % 4294967296n);
        h = Number((BigInt(h) * 1103515245n + 12345n) % 4294967296n);
        r = Math.floor(h / 256) % 256;
        g = Math.floor(h / 65536) % 256;
        b = Math.floor(h / 16777216) % 256;
      } else if (kind === "framed") {
        const inside =
          x >= Math.floor(width / 8) && x < width - Math.floor(width / 8) && y >= Math.floor(height / 10) && y < height - Math.floor(height / 10);
        const dx = x - Math.floor(width / 3);
        const dy = y - Math.floor(height / 2);
        const d = Math.floor((dx * dx + dy * dy) / 97);
        r = inside ? (d * 7) % 256 : 250;
        g = inside ? (d * 13) % 256 : 250;
        b = inside ? Math.floor(x / 4) % 256 : 250;
      } else if (kind === "bars") {
        r = (Math.floor(x / 9) % 2) * 255;
        g = (Math.floor(y / 11) % 2) * 255;
        b = ((Math.floor(x / 9) + Math.floor(y / 11)) % 3) * 100;
      } else throw new Error(kind);
      const i = 4 * (y * width + x);
      data[i] = r;
      data[i + 1] = g;
      data[i + 2] = b;
      data[i + 3] = 255;
    }
  }
  return data;
}
