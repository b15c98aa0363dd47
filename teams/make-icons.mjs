// Generates the Teams app icons (teams/color.png 192x192, teams/outline.png 32x32) without any package:
// raw RGBA pixels, PNG chunks with CRC32, IDAT compressed with node:zlib. Run: node teams/make-icons.mjs
// The outline icon must be white on a transparent background (Teams' rule); the colour icon is opaque.
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const CRC_TABLE = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
function png(size, pixel) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // RGBA
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0; // filter: none
    for (let x = 0; x < size; x++) {
      const [r, g, b, a] = pixel(x + 0.5, y + 0.5, size);
      raw.set([r, g, b, a], y * (size * 4 + 1) + 1 + x * 4);
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// A speech bubble with three dots ("a conversation"). Shapes in unit coordinates (0..1).
function inBubble(u, v) {
  const dx = (u - 0.5) / 0.36;
  const dy = (v - 0.45) / 0.28;
  const body = dx * dx + dy * dy <= 1;
  const tail = v >= 0.6 && v <= 0.82 && u >= 0.3 && u <= 0.45 && u - 0.3 <= (0.82 - v) * 0.8;
  return body || tail;
}
function inDots(u, v) {
  return [0.36, 0.5, 0.64].some((cx) => (u - cx) ** 2 + (v - 0.45) ** 2 <= 0.045 ** 2);
}

const ACCENT = [0x1f, 0x5a, 0xa6, 255];
const WHITE = [255, 255, 255, 255];
const CLEAR = [0, 0, 0, 0];

writeFileSync(
  new URL('./color.png', import.meta.url),
  png(192, (x, y, s) => {
    const u = x / s;
    const v = y / s;
    if (inBubble(u, v)) return inDots(u, v) ? ACCENT : WHITE;
    return ACCENT;
  }),
);
writeFileSync(
  new URL('./outline.png', import.meta.url),
  png(32, (x, y, s) => {
    const u = x / s;
    const v = y / s;
    return inBubble(u, v) && !inDots(u, v) ? WHITE : CLEAR;
  }),
);
