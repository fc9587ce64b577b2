#pragma once

#include <string>
#include <string_view>

namespace warden {

// Replaces `path` with `content` so readers (nginx -s reload, cron jobs) see the old file or the
// new one, never a torn one: a temporary file in the same directory, fsync, rename, fsync of
// the directory. The new file gets mode 0666 minus the umask. Throws IoError.
void WriteFileAtomically(const std::string& path, std::string_view content);

}  // namespace warden
