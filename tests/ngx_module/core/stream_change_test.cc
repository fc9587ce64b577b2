// ParseStreamChanges on replies made by hiredis's own reader from RESP text.
#include "core/stream_change.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <string>

#include "support/resp_reply.h"

namespace warden {
namespace {

using ReplyPtr = test::RespReplyPtr;

ReplyPtr Reply(const std::string& resp) { return test::ParseResp(resp); }

std::string Bulk(const std::string& s) {
  return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

std::string Entry(const std::string& id, const std::string& seq) {
  return "*2\r\n" + Bulk(id) + "*8\r\n" + Bulk("seq") + Bulk(seq) + Bulk("op") + Bulk("add") +
         Bulk("entry") + Bulk("192.0.2.1") + Bulk("value") + Bulk("v1");
}

TEST(StreamChangeTest, ReadsTheChangesOfAnXreadReply) {
  auto changes = ParseStreamChanges(Reply("*1\r\n*2\r\n" + Bulk("warden:bl:log") + "*2\r\n" +
                                          Entry("5-0", "7") + Entry("6-0", "8"))
                                        .get());
  ASSERT_TRUE(changes.has_value());
  ASSERT_EQ(changes->size(), 2u);
  EXPECT_EQ((*changes)[0].id, "5-0");
  EXPECT_EQ((*changes)[0].seq, 7u);
  EXPECT_EQ((*changes)[0].op, "add");
  EXPECT_EQ((*changes)[0].entry, "192.0.2.1");
  EXPECT_EQ((*changes)[0].value, "v1");
  EXPECT_EQ((*changes)[1].seq, 8u);
}

TEST(StreamChangeTest, NilIsNothingNewAndOtherShapesAreNotAStream) {
  auto none = ParseStreamChanges(Reply("$-1\r\n").get());
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(ParseStreamChanges(Reply(":1\r\n").get()).has_value());
  EXPECT_FALSE(ParseStreamChanges(Reply("*1\r\n:1\r\n").get()).has_value());
  EXPECT_FALSE(ParseStreamChanges(Reply("*1\r\n*2\r\n$1\r\nx\r\n:5\r\n").get()).has_value());
  EXPECT_FALSE(ParseStreamChanges(nullptr).has_value());
}

TEST(StreamChangeTest, MalformedEntriesAreSkippedAndABadSeqIsZero) {
  auto changes = ParseStreamChanges(
      Reply("*1\r\n*2\r\n" + Bulk("log") + "*3\r\n:1\r\n*1\r\n$-1\r\n" + Entry("9-0", "12x"))
          .get());
  ASSERT_TRUE(changes.has_value());
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_EQ((*changes)[0].seq, 0u);  // not a number: the caller sees a gap and reloads
}

}  // namespace
}  // namespace warden
