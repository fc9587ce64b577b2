#include "common/cache_value.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>

namespace warden {
namespace {

using Fields = std::optional<std::string_view>[CacheValue::kFields];
using Problem = CacheValue::Problem;

// What `warden cache warm` stores (sidecar/cache_warmer.cc); Drop() removes a field.
struct Stored {
  std::string value[CacheValue::kFields] = {R"([{"id":2,"name":"Emma"}])",
                                            "\"9c1f0e0a1b2c3d4e5f60718293a4b5c6\"", "1764150006123",
                                            "application/json"};
  bool present[CacheValue::kFields] = {true, true, true, true};

  Stored& Set(CacheValue::Field f, std::string v) {
    value[f] = std::move(v);
    present[f] = true;
    return *this;
  }
  Stored& Drop(CacheValue::Field f) {
    present[f] = false;
    return *this;
  }
  Problem Parse(CacheValue* out) const {
    Fields fields;
    for (int i = 0; i < CacheValue::kFields; ++i) {
      if (present[i]) fields[i] = std::string_view(value[i]);
    }
    return CacheValue::Parse(fields, out);
  }
};

TEST(CacheValueTest, ParsesWhatTheWarmerStores) {
  Stored s;
  CacheValue v;
  ASSERT_EQ(s.Parse(&v), Problem::kNone);
  EXPECT_EQ(v.body, s.value[CacheValue::kBody]);
  EXPECT_EQ(v.etag, s.value[CacheValue::kEtag]);
  EXPECT_EQ(v.computed_at_ms, 1764150006123);
  EXPECT_EQ(v.content_type, "application/json");
}

TEST(CacheValueTest, NothingThereIsAMiss) {
  Stored s;
  for (int f = 0; f < CacheValue::kFields; ++f) s.Drop(static_cast<CacheValue::Field>(f));
  CacheValue v;
  EXPECT_EQ(s.Parse(&v), Problem::kMissing);
}

TEST(CacheValueTest, RequiredFieldsMissing) {
  for (auto f : {CacheValue::kBody, CacheValue::kEtag, CacheValue::kComputedAt}) {
    CacheValue v;
    EXPECT_EQ(Stored().Drop(f).Parse(&v), Problem::kMissingField) << f;
  }
  CacheValue v;
  EXPECT_EQ(Stored()
                .Drop(CacheValue::kBody)
                .Drop(CacheValue::kEtag)
                .Drop(CacheValue::kComputedAt)
                .Parse(&v),
            Problem::kMissingField);
}

TEST(CacheValueTest, ContentTypeDefaultsAndIsTrimmed) {
  // The value's views point into the stored fields: each Stored outlives its checks.
  CacheValue v;
  Stored absent;
  ASSERT_EQ(absent.Drop(CacheValue::kContentType).Parse(&v), Problem::kNone);
  EXPECT_EQ(v.content_type, "application/json");
  Stored blank;
  ASSERT_EQ(blank.Set(CacheValue::kContentType, " ").Parse(&v), Problem::kNone);
  EXPECT_EQ(v.content_type, "application/json");
  Stored csv;
  ASSERT_EQ(csv.Set(CacheValue::kContentType, " text/csv; charset=utf-8 ").Parse(&v),
            Problem::kNone);
  EXPECT_EQ(v.content_type, "text/csv; charset=utf-8");
}

TEST(CacheValueTest, HeaderInjectionIsRefused) {
  CacheValue v;
  EXPECT_EQ(Stored().Set(CacheValue::kContentType, "application/json\r\nSet-Cookie: a=b").Parse(&v),
            Problem::kBadContentType);
  EXPECT_EQ(Stored().Set(CacheValue::kEtag, "\"abc\"\r\nSet-Cookie: a=b").Parse(&v),
            Problem::kBadEtag);
  EXPECT_EQ(
      Stored().Set(CacheValue::kContentType, std::string("application/json\0x", 18)).Parse(&v),
      Problem::kBadContentType);
  EXPECT_EQ(Stored().Set(CacheValue::kContentType, std::string(300, 'a')).Parse(&v),
            Problem::kBadContentType);
}

TEST(CacheValueTest, EntityTags) {
  CacheValue v;
  for (const char* good : {"\"\"", "\"abc\"", "W/\"abc\"", "\"a!#~\x80\xff\""}) {
    EXPECT_EQ(Stored().Set(CacheValue::kEtag, good).Parse(&v), Problem::kNone) << good;
  }
  for (const char* bad : {"", "abc", "\"abc", "abc\"", "\"", "\"a\"b\"", "\"a b\"", "w/\"abc\"",
                          "W/abc", "\"a\x7f\""}) {
    EXPECT_EQ(Stored().Set(CacheValue::kEtag, bad).Parse(&v), Problem::kBadEtag) << bad;
  }
  EXPECT_EQ(Stored().Set(CacheValue::kEtag, "\"" + std::string(300, 'a') + "\"").Parse(&v),
            Problem::kBadEtag);
}

TEST(CacheValueTest, ComputedAt) {
  CacheValue v;
  for (const char* bad :
       {"", "-1", "12a", "1.5", " 12", "99999999999999999999", "9223372036854775808"}) {
    EXPECT_EQ(Stored().Set(CacheValue::kComputedAt, bad).Parse(&v), Problem::kBadComputedAt) << bad;
  }
  Stored max;
  ASSERT_EQ(max.Set(CacheValue::kComputedAt, "9223372036854775807").Parse(&v), Problem::kNone);
  EXPECT_EQ(v.computed_at_ms, INT64_MAX);
}

TEST(CacheValueTest, EmptyBody) {
  CacheValue v;
  EXPECT_EQ(Stored().Set(CacheValue::kBody, "").Parse(&v), Problem::kEmptyBody);
}

TEST(CacheValueTest, EveryProblemHasAnExplanation) {
  for (int p = 0; p < CacheValue::kProblems; ++p) {
    EXPECT_NE(std::string(CacheValue::Describe(static_cast<Problem>(p))), "unknown problem");
  }
}

}  // namespace
}  // namespace warden

namespace warden {
namespace {

// The writer's script names every field the reader asks for.
TEST(CacheValueTest, StoreScriptWritesEveryFieldTheReaderReads) {
  const std::string& script = CacheValue::StoreScript();
  for (const char* name : CacheValue::kFieldNames) {
    EXPECT_NE(script.find("'" + std::string(name) + "'"), std::string::npos) << name;
  }
  EXPECT_NE(script.find("'" + std::string(CacheValue::kDefaultContentType) + "'"),
            std::string::npos);
}

}  // namespace
}  // namespace warden
