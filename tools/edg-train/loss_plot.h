//===- loss_plot.h - a loss curve as a PNG, no libraries ----------*- C++ -*-===//
// SPDX-License-Identifier: Apache-2.0
//
// edg-train draws its loss curve without depending on libpng or zlib: the
// PNG encoder here stores the image in uncompressed deflate blocks
// (RFC 1951 §3.2.4) inside a zlib stream (RFC 1950, Adler-32), with CRC-32
// chunk checksums (PNG spec §5.5). A few hundred KB for a 640x400 RGB plot.
//===----------------------------------------------------------------------===//
#ifndef EDG_TOOLS_EDG_TRAIN_LOSS_PLOT_H
#define EDG_TOOLS_EDG_TRAIN_LOSS_PLOT_H

#include <cstdint>
#include <string>
#include <vector>

namespace edg::train {

/// An RGB image, rows top to bottom, 3 bytes per pixel.
struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;
  Image(int w, int h) : width(w), height(h), rgb(size_t(w) * size_t(h) * 3, 255) {}
  void set(int x, int y, uint32_t color);
};

/// The PNG file bytes of `image` (8-bit RGB, no interlace, filter 0).
std::vector<uint8_t> encode_png(const Image &image);

uint32_t crc32(const uint8_t *data, size_t n, uint32_t crc = 0);
uint32_t adler32(const uint8_t *data, size_t n);

/// Plots `loss` against its index (step) over a light grid, and writes the
/// PNG to `path` (atomically: temp + rename). Throws edg::Error on I/O
/// failure. Values that are not finite are skipped.
void write_loss_plot(const std::string &path, const std::vector<double> &loss);

} // namespace edg::train

#endif // EDG_TOOLS_EDG_TRAIN_LOSS_PLOT_H
