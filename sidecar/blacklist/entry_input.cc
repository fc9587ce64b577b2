#include "blacklist/entry_input.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <unordered_set>

#include "base/errors.h"

namespace warden {

std::vector<Cidr> EntryInput::FromArgs(const std::vector<std::string>& args, bool reject_broad) {
  std::vector<Cidr> entries;
  std::unordered_set<std::string> seen;
  for (const std::string& arg : args) {
    std::string error;
    auto cidr = Cidr::Parse(arg, &error);
    if (!cidr) throw UsageError(error);
    if (reject_broad && FeedParser::TooBroad(*cidr, &error)) throw UsageError(error);
    if (seen.insert(cidr->ToString()).second) entries.push_back(*cidr);
  }
  return entries;
}

std::string EntryInput::DisplayName(const std::string& path) {
  return path == "-" ? "<stdin>" : path;
}

FeedParser::Result EntryInput::FromFile(const std::string& path, std::istream& stdin_stream,
                                        bool reject_broad, bool skip_invalid, std::ostream& err) {
  const std::string name = DisplayName(path);
  FeedParser::Options options;
  options.reject_broad = reject_broad;
  FeedParser::Result result;
  if (path == "-") {
    result = FeedParser::Parse(stdin_stream, options);
    if (stdin_stream.bad()) throw IoError("cannot read " + name);
  } else {
    std::ifstream file(path, std::ios::binary);
    if (!file) throw IoError("cannot read " + name + ": " + std::strerror(errno));
    result = FeedParser::Parse(file, options);
    if (file.bad()) throw IoError("cannot read " + name + ": " + std::strerror(errno));
  }

  if (result.problems.empty()) return result;
  size_t shown = std::min(result.problems.size(), kProblemsShown);
  for (size_t i = 0; i < shown; ++i) {
    err << name << ":" << result.problems[i].line << ": " << result.problems[i].message << '\n';
  }
  if (result.problems.size() > shown) {
    err << "... and " << result.problems.size() - shown << " more invalid lines\n";
  }
  const std::string count = std::to_string(result.problems.size()) +
                            (result.problems.size() == 1 ? " invalid line" : " invalid lines");
  if (!skip_invalid) {
    throw UsageError(name + ": " + count +
                     "; nothing was changed (fix them, or pass --skip-invalid to use the rest)");
  }
  err << "warden: " << name << ": skipped " << count << '\n';
  return result;
}

}  // namespace warden
