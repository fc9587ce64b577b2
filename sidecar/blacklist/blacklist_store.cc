#include "blacklist/blacklist_store.h"

#include <algorithm>
#include <deque>

#include "base/errors.h"
#include "base/random_hex.h"

namespace warden {

namespace {

const char* OpName(BlacklistChange::Op op) {
  return op == BlacklistChange::Op::kAdd ? "add" : "del";
}

bool EntryLess(const BlacklistEntry& a, const BlacklistEntry& b) {
  bool a4 = a.cidr.IsV4();
  bool b4 = b.cidr.IsV4();
  if (a4 != b4) return a4;
  if (a.cidr.network().bytes() != b.cidr.network().bytes()) {
    return a.cidr.network().bytes() < b.cidr.network().bytes();
  }
  return a.cidr.prefix_len() < b.cidr.prefix_len();
}

}  // namespace

BlacklistStore::BlacklistStore(RedisConnection& conn, RedisSchema schema, std::string epoch)
    : conn_(conn),
      schema_(std::move(schema)),
      epoch_(std::move(epoch)),
      apply_script_(RedisSchema::kApplyChangesScript),
      purge_script_(RedisSchema::kPurgeExpiredScript) {}

std::string BlacklistStore::NewEpoch() { return RandomHex(32); }

std::vector<std::string> BlacklistStore::ApplyKeys() const {
  return {schema_.BlacklistEntries(), schema_.BlacklistExpiry(), schema_.BlacklistSeq(),
          schema_.BlacklistLog(), schema_.BlacklistEpoch()};
}

int64_t BlacklistStore::ServerNowMs() {
  RedisReply reply = conn_.Command({"TIME"});
  ReplyView view = reply.view();
  return view[0].integer() * 1000 + view[1].integer() / 1000;
}

BlacklistStore::ApplyResult BlacklistStore::Apply(const std::vector<BlacklistChange>& changes,
                                                  const ApplyOptions& options) {
  ApplyResult result;
  if (changes.empty()) return result;
  const std::vector<std::string> keys = ApplyKeys();
  const size_t batch_size = std::max<size_t>(1, options.batch_size);
  const size_t max_in_flight = std::max<size_t>(1, options.max_in_flight);

  struct Batch {
    std::vector<std::string> argv;
    size_t changes;
  };
  std::deque<Batch> in_flight;
  std::vector<Batch> rejected;  // NOSCRIPT: not run, sent again with EVAL after the drain
  size_t acknowledged = 0;

  auto take_reply = [&](Batch& batch, RedisReply reply) {
    ReplyView view = reply.view();
    view.ThrowIfError();
    result.seq = std::max<int64_t>(result.seq, view[0].integer());
    result.changed += view[1].integer();
    acknowledged += batch.changes;
    if (options.progress) options.progress(acknowledged);
  };
  auto read_one = [&] {
    Batch batch = std::move(in_flight.front());
    in_flight.pop_front();
    RedisReply reply = conn_.GetReply("EVALSHA");
    if (RedisScript::IsNoScript(reply)) {
      rejected.push_back(std::move(batch));
    } else {
      take_reply(batch, std::move(reply));
    }
  };

  try {
    apply_script_.Load(conn_);
    for (size_t start = 0; start < changes.size(); start += batch_size) {
      size_t end = std::min(changes.size(), start + batch_size);
      std::vector<std::string> args;
      args.reserve(2 + 4 * (end - start));
      args.push_back(std::to_string(RedisSchema::kLogMaxLen));
      args.push_back(epoch_);
      for (size_t i = start; i < end; ++i) {
        const BlacklistChange& change = changes[i];
        args.push_back(OpName(change.op));
        args.push_back(change.entry);
        args.push_back(std::to_string(change.expires_ms));
        args.push_back(change.value);
      }
      if (in_flight.size() >= max_in_flight) read_one();
      Batch batch{apply_script_.BuildArgv(keys, std::move(args)), end - start};
      conn_.Append(batch.argv);
      in_flight.push_back(std::move(batch));
    }
    while (!in_flight.empty()) read_one();

    if (!rejected.empty()) apply_script_.Invalidate();
    for (Batch& batch : rejected) {
      apply_script_.ToEval(batch.argv);
      take_reply(batch, conn_.Command(batch.argv));
    }
  } catch (const RedisError& e) {
    if (acknowledged == 0) throw;
    throw RedisError(std::string(e.what()) + " (" + std::to_string(acknowledged) + " of " +
                     std::to_string(changes.size()) + " changes were applied before)");
  }
  return result;
}

int64_t BlacklistStore::PurgeExpired(int64_t now_ms, int64_t limit) {
  RedisReply reply = purge_script_.Run(
      conn_, ApplyKeys(),
      {std::to_string(RedisSchema::kLogMaxLen), std::to_string(now_ms), std::to_string(limit)});
  reply.view().ThrowIfError();
  return reply.view().integer();
}

std::vector<std::optional<std::string>> BlacklistStore::Get(
    const std::vector<std::string>& entries) {
  std::vector<std::optional<std::string>> values;
  if (entries.empty()) return values;
  std::vector<std::string> argv{"HMGET", schema_.BlacklistEntries()};
  argv.insert(argv.end(), entries.begin(), entries.end());
  RedisReply reply = conn_.Command(argv);
  ReplyView view = reply.view();
  view.ThrowIfError();
  for (size_t i = 0; i < entries.size(); ++i) {
    ReplyView item = view[i];
    if (item.is_nil()) {
      values.emplace_back();
    } else {
      values.emplace_back(std::string(item.str()));
    }
  }
  return values;
}

int64_t BlacklistStore::Count() {
  RedisReply reply = conn_.Command({"HLEN", schema_.BlacklistEntries()});
  return reply.view().integer();
}

std::vector<BlacklistEntry> BlacklistStore::ReadLive(
    int64_t now_ms, const std::function<void(const std::string&)>& on_malformed) {
  std::vector<BlacklistEntry> entries;
  const std::string key = schema_.BlacklistEntries();
  std::string cursor = "0";
  do {
    RedisReply reply = conn_.Command({"HSCAN", key, cursor, "COUNT", "1000"});
    ReplyView view = reply.view();
    view.ThrowIfError();
    cursor = std::string(view[0].str());
    ReplyView items = view[1];
    for (size_t i = 0; i + 1 < items.size(); i += 2) {
      std::string_view field = items[i].str();
      std::string error;
      auto entry = BlacklistEntry::Decode(field, items[i + 1].str(), &error);
      if (!entry) {
        if (on_malformed)
          on_malformed("skipping malformed entry \"" + std::string(field) + "\": " + error);
        continue;
      }
      if (!entry->ExpiredAt(now_ms)) entries.push_back(std::move(*entry));
    }
  } while (cursor != "0");

  std::sort(entries.begin(), entries.end(), EntryLess);
  // HSCAN may return a field twice while the hash is rehashed.
  entries.erase(std::unique(entries.begin(), entries.end(),
                            [](const BlacklistEntry& a, const BlacklistEntry& b) {
                              return a.cidr == b.cidr;
                            }),
                entries.end());
  return entries;
}

}  // namespace warden
