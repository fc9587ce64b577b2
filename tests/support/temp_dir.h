#pragma once

#include <string>
#include <string_view>

namespace warden::test {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it when the object is
// destroyed, unless the environment variable WARDEN_KEEP_TMP is set (then its path is printed
// to stderr so a failed test can be inspected). Movable, not copyable.
class TempDir {
 public:
  explicit TempDir(std::string_view tag = "warden");
  // The same under `parent` instead of $TMPDIR (e.g. /dev/shm for a server's data files).
  TempDir(std::string_view tag, const std::string& parent);
  ~TempDir();
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name; nothing is created.
  std::string File(std::string_view name) const;
  // Writes `content` to File(name) and returns its path.
  std::string Write(std::string_view name, std::string_view content) const;

 private:
  void Remove();
  std::string path_;
};

// Whole-file helpers; both throw std::runtime_error on failure.
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, std::string_view content);
// Lines in a file something else appends to; 0 while it does not exist yet.
size_t LineCount(const std::string& path);

}  // namespace warden::test
