#include "console_files.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace loyalty::gateway::http {

std::optional<std::string> ConsoleFileName(std::string_view path) {
  if (!path.starts_with(kConsolePrefix)) return std::nullopt;
  path.remove_prefix(kConsolePrefix.size());
  if (path.empty() || path == "/") return "index.html";
  if (path.front() != '/') return std::nullopt;  // "/adminx"
  path.remove_prefix(1);
  if (path.front() == '.' || path.find('/') != std::string_view::npos ||
      path.find('\\') != std::string_view::npos) {
    return std::nullopt;
  }
  return std::string(path);
}

std::string ConsoleContentType(std::string_view file_name) {
  static const std::map<std::string_view, std::string_view> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".json", "application/json"},
      {".map", "application/json"},
  };
  const auto dot = file_name.rfind('.');
  if (dot != std::string_view::npos) {
    if (const auto it = kTypes.find(file_name.substr(dot)); it != kTypes.end()) {
      return std::string(it->second);
    }
  }
  return "application/octet-stream";
}

ConsoleFiles ConsoleFiles::Load(const std::string& dir) {
  ConsoleFiles files;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = entry.path().filename().string();
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream body;
    body << in.rdbuf();
    files.files_[name] = File{ConsoleContentType(name), body.str()};
  }
  if (!files.files_.contains("index.html")) {
    throw std::runtime_error("has no index.html (build the console: cmake --build)");
  }
  return files;
}

const ConsoleFiles::File* ConsoleFiles::Find(std::string_view path) const {
  const auto name = ConsoleFileName(path);
  if (!name) return nullptr;
  const auto it = files_.find(*name);
  return it == files_.end() ? nullptr : &it->second;
}

}  // namespace loyalty::gateway::http
