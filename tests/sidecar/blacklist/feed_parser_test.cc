#include "blacklist/feed_parser.h"

#include <gtest/gtest.h>

#include <sstream>

namespace warden {
namespace {

struct Line {
  FeedParser::LineKind kind;
  std::string entry;
  std::string error;
};

Line ParseLine(std::string_view text, bool reject_broad = true) {
  FeedParser::Options options;
  options.reject_broad = reject_broad;
  Cidr cidr;
  Line line;
  line.kind = FeedParser::ParseLine(text, options, &cidr, &line.error);
  if (line.kind == FeedParser::LineKind::kEntry) line.entry = cidr.ToString();
  return line;
}

using Kind = FeedParser::LineKind;

TEST(FeedParser, SkipsBlankAndComments) {
  for (const char* text : {"", "   ", "\t\r", "# comment", "  # indented", "; Spamhaus DROP",
                           "// note", "\xEF\xBB\xBF# after a BOM"}) {
    EXPECT_EQ(ParseLine(text).kind, Kind::kSkip) << text;
  }
}

TEST(FeedParser, TakesTheFirstToken) {
  EXPECT_EQ(ParseLine("1.2.3.4").entry, "1.2.3.4");
  EXPECT_EQ(ParseLine("1.2.3.0/24 ; SBL123").entry, "1.2.3.0/24");
  EXPECT_EQ(ParseLine("1.2.3.0/24;SBL123").entry, "1.2.3.0/24");
  EXPECT_EQ(ParseLine("1.2.3.4 # note").entry, "1.2.3.4");
  EXPECT_EQ(ParseLine("1.2.3.4#note").entry, "1.2.3.4");
  EXPECT_EQ(ParseLine("1.2.3.4,scanner,2024").entry, "1.2.3.4");
  EXPECT_EQ(ParseLine("  1.2.3.4\tssh\r").entry, "1.2.3.4");
  EXPECT_EQ(ParseLine("\xEF\xBB\xBF"
                      "5.6.7.8")
                .entry,
            "5.6.7.8");
}

TEST(FeedParser, Canonicalises) {
  EXPECT_EQ(ParseLine("1.2.3.4/32").entry, "1.2.3.4");
  EXPECT_EQ(ParseLine("2001:DB8:0:0::/32").entry, "2001:db8::/32");
  EXPECT_EQ(ParseLine("::ffff:1.2.3.4").entry, "1.2.3.4");
  EXPECT_EQ(ParseLine("2001:db8::1").entry, "2001:db8::1");
}

TEST(FeedParser, ReportsInvalidLines) {
  Line line = ParseLine("1.2.3.4/24");
  EXPECT_EQ(line.kind, Kind::kInvalid);
  EXPECT_NE(line.error.find("did you mean 1.2.3.0/24"), std::string::npos) << line.error;
  EXPECT_EQ(ParseLine("not-an-ip").kind, Kind::kInvalid);
  EXPECT_EQ(ParseLine("1.2.3.4/33").kind, Kind::kInvalid);
  EXPECT_EQ(ParseLine("1.2.3.4-1.2.3.9").kind, Kind::kInvalid);
  line = ParseLine(std::string(5000, 'a'));
  EXPECT_EQ(line.kind, Kind::kInvalid);
  EXPECT_LT(line.error.size(), 100u);
  line = ParseLine("1.2.\x01\x1b[31m");
  EXPECT_EQ(line.kind, Kind::kInvalid);
  EXPECT_EQ(line.error.find('\x1b'), std::string::npos);
}

TEST(FeedParser, RejectsBroadNetworksUnlessAllowed) {
  Line line = ParseLine("0.0.0.0/0");
  EXPECT_EQ(line.kind, Kind::kInvalid);
  EXPECT_NE(line.error.find("--force"), std::string::npos);
  EXPECT_EQ(ParseLine("10.0.0.0/7").kind, Kind::kInvalid);
  EXPECT_EQ(ParseLine("10.0.0.0/8").kind, Kind::kEntry);
  EXPECT_EQ(ParseLine("::/0").kind, Kind::kInvalid);
  EXPECT_EQ(ParseLine("2000::/15").kind, Kind::kInvalid);
  EXPECT_EQ(ParseLine("2001::/16").kind, Kind::kEntry);
  EXPECT_EQ(ParseLine("0.0.0.0/0", /*reject_broad=*/false).entry, "0.0.0.0/0");
}

TEST(FeedParser, ParsesAStream) {
  std::istringstream in(
      "# header\n"
      "1.2.3.4\n"
      "bogus\n"
      "\n"
      "10.0.0.0/8 ; SBL1\n"
      "1.2.3.4/32\n"
      "1.2.3.4/24\n"
      "2001:db8::/32");
  FeedParser::Result result = FeedParser::Parse(in, {});
  EXPECT_EQ(result.lines, 8u);
  ASSERT_EQ(result.entries.size(), 3u);
  EXPECT_EQ(result.entries[0].cidr.ToString(), "1.2.3.4");
  EXPECT_EQ(result.entries[0].line, 2u);
  EXPECT_EQ(result.entries[1].cidr.ToString(), "10.0.0.0/8");
  EXPECT_EQ(result.entries[2].cidr.ToString(), "2001:db8::/32");
  EXPECT_EQ(result.entries[2].line, 8u);
  EXPECT_EQ(result.duplicates, 1u);
  ASSERT_EQ(result.problems.size(), 2u);
  EXPECT_EQ(result.problems[0].line, 3u);
  EXPECT_EQ(result.problems[1].line, 7u);
}

}  // namespace
}  // namespace warden
