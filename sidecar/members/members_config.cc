#include "members/members_config.h"

#include <charconv>

#include "base/duration.h"
#include "base/errors.h"
#include "config/toml_reader.h"

namespace warden {

MembersSettings MembersSettings::Load(const std::string& path) {
  MembersSettings s;
  if (path.empty()) return s;
  const toml::table root = TomlReader::ParseFile(path);
  const toml::node* node = root.get("members");
  if (node == nullptr) return s;
  const toml::table* table = node->as_table();
  if (table == nullptr) {
    throw UsageError(path + ": members: expected a table, got " + TomlReader::Describe(*node));
  }
  TomlReader r(path, *table, "members");
  if (auto v = r.Identifier("table")) s.table = *v;
  if (auto v = r.Identifier("archive_table")) s.archive_table = *v;
  if (auto v = r.Identifier("id_column")) s.id_column = *v;
  if (auto v = r.Identifier("last_login_column")) s.last_login_column = *v;
  if (auto v = r.Identifier("email_column")) s.email_column = *v;
  if (auto v = r.Identifier("moved_at_column")) s.moved_at_column = *v;
  if (auto v = r.Identifier("state_table")) s.state_table = *v;
  if (auto v = r.Duration("inactive_for", 1000, int64_t{100} * 365 * 86400 * 1000)) {
    s.inactive_for_ms = *v;
  }
  if (auto v = r.Integer("chunk", 1, 1000000)) s.chunk = *v;
  if (auto v = r.Duration("chunk_time", 0, 60000)) s.chunk_time_ms = *v;
  if (auto v = r.Integer("max_chunk", 1, 1000000)) s.max_chunk = *v;
  if (auto v = r.Integer("parallel", 1, 16)) s.parallel = *v;
  if (auto v = r.String("throttle")) {
    std::string error;
    auto t = ThrottleSettings::Parse(*v, &error);
    if (!t) r.Fail(table->get("throttle"), "throttle", error);
    s.throttle = *t;
  }
  if (auto v = r.StringList("replicas")) {
    for (const std::string& text : *v) {
      std::string error;
      auto url = MysqlUrl::Parse(text, &error);
      if (!url) r.Fail(table->get("replicas"), "replicas", error);
      s.replicas.push_back(*url);
    }
  }
  r.RejectUnknown(
      "table, archive_table, id_column, last_login_column, email_column, moved_at_column, "
      "state_table, inactive_for, chunk, chunk_time, max_chunk, parallel, throttle, replicas");
  if (s.table == s.archive_table) {
    r.Fail(table->get("archive_table"), "archive_table", "must differ from table");
  }
  if (s.chunk > s.max_chunk) r.Fail(table->get("chunk"), "chunk", "is larger than max_chunk");
  return s;
}

}  // namespace warden
