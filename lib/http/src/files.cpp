#include <ssebridge/http/files.hpp>

#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace ssebridge::http {

namespace fs = std::filesystem;

namespace {

std::string content_type_of(const fs::path& p) {
    static const std::map<std::string, std::string> types = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"}};
    auto it = types.find(p.extension().string());
    return it == types.end() ? "application/octet-stream" : it->second;
}

coro::awaitable<void> send_file(exchange& ex, std::shared_ptr<const response> file) {
    co_await ex.respond(*file);
}

} // namespace

void serve_files(server& srv, const fs::path& dir, std::size_t max_bytes) {
    if (!fs::is_directory(dir))
        throw std::runtime_error("static files: " + dir.string() + " is not a directory");
    std::size_t total = 0;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
        if (!entry.is_regular_file())
            continue;
        total += entry.file_size();
        if (total > max_bytes)
            throw std::runtime_error("static files: more than " + std::to_string(max_bytes) +
                                     " bytes under " + dir.string());
        std::ifstream in(entry.path(), std::ios::binary);
        std::ostringstream body;
        body << in.rdbuf();
        auto file = std::make_shared<const response>(response{
            200, content_type_of(entry.path()), body.str(), {{"Cache-Control", "no-cache"}}});
        std::string path = "/" + fs::relative(entry.path(), dir).generic_string();
        auto handler = [file](exchange& ex) {
            return send_file(ex, file);
        };
        srv.route("GET", path, handler);
        if (entry.path().filename() == "index.html")
            srv.route("GET", path.substr(0, path.size() - 10), handler); // "/dir/" too
    }
}

} // namespace ssebridge::http
