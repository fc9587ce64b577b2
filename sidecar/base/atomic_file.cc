#include "base/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/errors.h"

namespace warden {

namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return close(fd);
  }

 private:
  int fd_;
};

[[noreturn]] void Fail(const std::string& what, const std::string& path) {
  throw IoError("cannot " + what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

void WriteFileAtomically(const std::string& path, std::string_view content) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string temp_path = (dir == "/" ? "" : dir) + "/." + name + ".XXXXXX";
  std::vector<char> temp(temp_path.begin(), temp_path.end());
  temp.push_back('\0');

  Fd fd(mkstemp(temp.data()));
  if (fd.get() < 0) Fail("create a temporary file for", path);
  temp_path = temp.data();
  bool renamed = false;
  try {
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd.get(), 0666 & ~mask) != 0) Fail("set the mode of", temp_path);
    while (!content.empty()) {
      ssize_t n = write(fd.get(), content.data(), content.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) Fail("write", temp_path);
      content.remove_prefix(static_cast<size_t>(n));
    }
    if (fsync(fd.get()) != 0) Fail("sync", temp_path);
    if (fd.Release() != 0) Fail("close", temp_path);
    if (rename(temp_path.c_str(), path.c_str()) != 0) Fail("replace", path);
    renamed = true;
    Fd dir_fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir_fd.get() >= 0) fsync(dir_fd.get());
  } catch (...) {
    if (!renamed) unlink(temp_path.c_str());
    throw;
  }
}

}  // namespace warden
