//===- loss_plot.cc - a loss curve as a PNG, no libraries ---------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// See loss_plot.h. Layout: 640x400, a 50 px margin, 5x5 grid, the curve in
// blue (lines between consecutive points, Bresenham), axes in black, the
// loss range and the step count in a 3x5 bitmap font.
//===----------------------------------------------------------------------===//
#include "tools/edg-train/loss_plot.h"

#include "runtime/core/status.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace edg::train {

void Image::set(int x, int y, uint32_t color) {
  if (x < 0 || y < 0 || x >= width || y >= height)
    return;
  uint8_t *p = &rgb[(size_t(y) * size_t(width) + size_t(x)) * 3];
  p[0] = uint8_t(color >> 16), p[1] = uint8_t(color >> 8), p[2] = uint8_t(color);
}

uint32_t crc32(const uint8_t *data, size_t n, uint32_t crc) {
  // Bitwise CRC-32 (IEEE, reflected 0xEDB88320): small images, no table.
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) {
    crc ^= data[i];
    for (int k = 0; k < 8; ++k)
      crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

uint32_t adler32(const uint8_t *data, size_t n) {
  uint32_t a = 1, b = 0;
  for (size_t i = 0; i < n; ++i) {
    a = (a + data[i]) % 65521u;
    b = (b + a) % 65521u;
  }
  return (b << 16) | a;
}

namespace {
void put32(std::vector<uint8_t> &out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8)
    out.push_back(uint8_t(v >> s));
}

void chunk(std::vector<uint8_t> &out, const char *type,
           const std::vector<uint8_t> &data) {
  put32(out, uint32_t(data.size()));
  size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  put32(out, crc32(&out[start], out.size() - start));
}

/// zlib stream of `raw` in stored (uncompressed) deflate blocks.
std::vector<uint8_t> zlib_stored(const std::vector<uint8_t> &raw) {
  std::vector<uint8_t> z = {0x78, 0x01}; // deflate, 32K window, no dict
  size_t pos = 0;
  do {
    size_t n = std::min<size_t>(65535, raw.size() - pos);
    bool last = pos + n == raw.size();
    z.push_back(last ? 1 : 0); // BFINAL, BTYPE = 00 (stored)
    z.push_back(uint8_t(n)), z.push_back(uint8_t(n >> 8));
    z.push_back(uint8_t(~n)), z.push_back(uint8_t(~n >> 8));
    z.insert(z.end(), raw.begin() + long(pos), raw.begin() + long(pos + n));
    pos += n;
  } while (pos < raw.size());
  put32(z, adler32(raw.data(), raw.size()));
  return z;
}

void line(Image &im, int x0, int y0, int x1, int y1, uint32_t color) {
  int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
  int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
  for (;;) {
    im.set(x0, y0, color);
    im.set(x0, y0 + 1, color); // 2 px thick
    if (x0 == x1 && y0 == y1)
      return;
    int e2 = 2 * err;
    if (e2 >= dy)
      err += dy, x0 += sx;
    if (e2 <= dx)
      err += dx, y0 += sy;
  }
}
/// 3x5 bitmap digits (rows top to bottom, 3 bits each) for the axis
/// labels: "0"-"9", ".", "-", "e", " ".
uint16_t glyph(char c) {
  static const uint16_t digits[10] = {0x7B6F, 0x2C97, 0x73E7, 0x73CF, 0x5BC9,
                                      0x79CF, 0x79EF, 0x7249, 0x7BEF, 0x7BCF};
  if (c >= '0' && c <= '9')
    return digits[c - '0'];
  switch (c) {
  case '.': return 0x0002;
  case '-': return 0x01C0;
  case 'e': return 0x2BE3;
  default: return 0;
  }
}

/// Draws `text` with its top-left corner at (x, y), 2 px per font pixel.
void text(Image &im, int x, int y, const std::string &s, uint32_t color) {
  for (char c : s) {
    uint16_t g = glyph(c);
    for (int r = 0; r < 5; ++r)
      for (int col = 0; col < 3; ++col)
        if (g & (1u << (14 - (r * 3 + col))))
          for (int d = 0; d < 4; ++d)
            im.set(x + col * 2 + d % 2, y + r * 2 + d / 2, color);
    x += 8;
  }
}

std::string label(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4g", v);
  return buf;
}
} // namespace

std::vector<uint8_t> encode_png(const Image &im) {
  std::vector<uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::vector<uint8_t> ihdr;
  put32(ihdr, uint32_t(im.width));
  put32(ihdr, uint32_t(im.height));
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0}); // 8-bit, RGB, deflate, filter, no interlace
  chunk(out, "IHDR", ihdr);
  std::vector<uint8_t> raw;
  size_t row = size_t(im.width) * 3;
  for (int y = 0; y < im.height; ++y) {
    raw.push_back(0); // filter type None
    raw.insert(raw.end(), im.rgb.begin() + long(size_t(y) * row),
               im.rgb.begin() + long(size_t(y + 1) * row));
  }
  chunk(out, "IDAT", zlib_stored(raw));
  chunk(out, "IEND", {});
  return out;
}

void write_loss_plot(const std::string &path, const std::vector<double> &loss) {
  const int W = 640, H = 400, m = 50;
  Image im(W, H);
  double lo = INFINITY, hi = -INFINITY;
  for (double v : loss)
    if (std::isfinite(v))
      lo = std::min(lo, v), hi = std::max(hi, v);
  if (!(hi > lo))
    lo = std::isfinite(lo) ? lo - 1 : 0, hi = lo + 2;
  for (int i = 0; i <= 5; ++i) { // grid
    int x = m + i * (W - 2 * m) / 5, y = m + i * (H - 2 * m) / 5;
    for (int t = m; t <= H - m; ++t)
      im.set(x, t, 0xDDDDDD);
    for (int t = m; t <= W - m; ++t)
      im.set(t, y, 0xDDDDDD);
  }
  line(im, m, H - m, W - m, H - m, 0x000000); // axes
  line(im, m, m, m, H - m, 0x000000);
  auto px = [&](size_t i) {
    return m + int(double(i) * (W - 2 * m) / double(std::max<size_t>(1, loss.size() - 1)));
  };
  auto py = [&](double v) { return H - m - int((v - lo) / (hi - lo) * (H - 2 * m)); };
  bool have = false;
  int x0 = 0, y0 = 0;
  for (size_t i = 0; i < loss.size(); ++i) {
    if (!std::isfinite(loss[i]))
      continue;
    int x = px(i), y = py(loss[i]);
    if (have)
      line(im, x0, y0, x, y, 0x1F5FBF);
    else
      im.set(x, y, 0x1F5FBF);
    x0 = x, y0 = y, have = true;
  }
  // Labels: the loss range on the y axis, the step count on the x axis.
  text(im, 4, m - 4, label(hi), 0x000000);
  text(im, 4, H - m - 6, label(lo), 0x000000);
  text(im, m, H - m + 8, "1", 0x000000);
  text(im, W - m - 8 * int(label(double(loss.size())).size()), H - m + 8,
       label(double(loss.size())), 0x000000);
  std::vector<uint8_t> png = encode_png(im);
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::FILE *f = std::fopen(tmp.c_str(), "wb");
  check(f != nullptr, "cannot write ", tmp);
  bool ok = std::fwrite(png.data(), 1, png.size(), f) == png.size();
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    fail("cannot write the loss plot ", path);
  }
}

} // namespace edg::train
