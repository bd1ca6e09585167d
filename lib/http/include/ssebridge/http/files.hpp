// Static files (the demo page) served from memory.
#pragma once

#include <ssebridge/http/server.hpp>

#include <cstddef>
#include <filesystem>

namespace ssebridge::http {

/// Reads every regular file under `dir` once, now, and routes `GET /<path>`
/// to it (and `GET /` to `index.html`), so requests never touch the disk.
/// Throws `std::runtime_error` if `dir` is not a directory or holds more
/// than `max_bytes` in all.
void serve_files(server& srv, const std::filesystem::path& dir,
                 std::size_t max_bytes = 16 * 1024 * 1024);

} // namespace ssebridge::http
