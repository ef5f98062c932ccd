// The admin console's static files (services/gateway/console/, built with npm and esbuild at
// build time), served by the HTTP front at /admin. They are read once at start-up and kept in
// memory: only the files found then are ever served, so no request path reaches the disk.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace loyalty::gateway::http {

// The console's URL prefix.
inline constexpr std::string_view kConsolePrefix = "/admin";

// Sent with every console file: scripts and styles from the gateway itself only (no inline
// script, no CDN), calls to the same origin only, never framed.
inline constexpr const char* kConsoleSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

// The file a request path names: "/admin" and "/admin/" are index.html, "/admin/app.js" is
// app.js; nullopt for a path outside /admin or one that is not a plain file name (a '/', "..",
// a hidden file).
std::optional<std::string> ConsoleFileName(std::string_view path);

// The Content-Type for a file name, by its extension.
std::string ConsoleContentType(std::string_view file_name);

class ConsoleFiles {
 public:
  struct File {
    std::string content_type;
    std::string body;
  };

  // Reads every regular file of `dir` (not its subdirectories). Throws std::runtime_error when
  // the directory has no index.html.
  static ConsoleFiles Load(const std::string& dir);

  // The file for a request path, or nullptr.
  const File* Find(std::string_view path) const;

 private:
  std::map<std::string, File, std::less<>> files_;
};

}  // namespace loyalty::gateway::http
