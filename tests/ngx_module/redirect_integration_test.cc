// A request is charged, counted and judged once, across internal redirects (try_files to a
// named location or to index.php, error_page) and subrequests (auth_request, mirror, SSI), the
// way limit_req does it: the limits of the first location that applies any are the request's.
// nginx-tests style: a config per case, with the shapes users write, real requests.
#include <gtest/gtest.h>

#include <string>

#include "support/nginx_server.h"
#include "support/server_suite.h"
#include "support/temp_dir.h"

namespace warden::test {
namespace {

class RedirectIntegrationTest : public RedisSuite {
 protected:
  // A zone at 1 request a minute: only the burst gets through in a test's time.
  static NginxServer::Options Server(const std::string& server_level, const std::string& locations,
                                     const std::string& http = "") {
    NginxServer::Options o;
    o.http = "warden_redis 127.0.0.1:" + std::to_string(redis_->port()) + ";\n" +
             "warden_limit_zone $binary_remote_addr zone=z:1m rate=1r/m sync=off;\n"
             "warden_limit_zone $binary_remote_addr zone=other:1m rate=1r/m sync=off;\n"
             "limit_req_zone $binary_remote_addr zone=std:1m rate=1r/m;\n"
             "limit_req_status 429;\n" +
             http + "server {\n  listen 127.0.0.1:@PORT@;\n  root @DIR@/html;\n" + server_level +
             locations + "}\n";
    return o;
  }

  // Statuses of `n` requests for `path`, in order.
  static std::string Statuses(const NginxServer& nginx, const std::string& path, int n = 10) {
    std::string out;
    for (int i = 0; i < n; ++i) out += std::to_string(nginx.Get(path).status) + " ";
    return out;
  }
  static int Count(const std::string& statuses, const std::string& status) {
    int n = 0;
    for (size_t at = statuses.find(status); at != std::string::npos;
         at = statuses.find(status, at + 1)) {
      ++n;
    }
    return n;
  }
};

const char kFiveThenRefused[] = "200 200 200 200 200 429 429 429 429 429 ";

TEST_F(RedirectIntegrationTest, TryFilesToANamedLocationChargesOnce) {
  const std::string locations =
      "  location / { try_files /nonexistent @app; }\n"
      "  location @app { try_files /index.html =404; }\n";
  NginxServer warden(Server("  warden_limit zone=z burst=4 nodelay;\n", locations));
  EXPECT_EQ(Statuses(warden, "/"), kFiveThenRefused);
  NginxServer stock(Server("  limit_req zone=std burst=4 nodelay;\n", locations));
  EXPECT_EQ(Statuses(stock, "/"), kFiveThenRefused);  // limit_req, for comparison
}

TEST_F(RedirectIntegrationTest, TryFilesToIndexPhpChargesOnce) {
  // The php-fpm shape; the php location serves a file instead of fastcgi_pass.
  NginxServer nginx(Server("  warden_limit zone=z burst=4 nodelay;\n",
                           "  location / { try_files $uri /index.php?$args; }\n"
                           "  location ~ \\.php$ { try_files /index.html =404; }\n"));
  EXPECT_EQ(Statuses(nginx, "/some/page?x=1"), kFiveThenRefused);
}

TEST_F(RedirectIntegrationTest, ErrorPageToANamedLocationChargesOnce) {
  NginxServer nginx(Server("  warden_limit zone=z burst=4 nodelay;\n",
                           "  location / { root @DIR@/missing; error_page 404 = @app; }\n"
                           "  location @app { try_files /index.html =404; }\n"));
  EXPECT_EQ(Statuses(nginx, "/"), kFiveThenRefused);
}

TEST_F(RedirectIntegrationTest, RewriteLastChargesOnce) {
  NginxServer nginx(Server("  warden_limit zone=z burst=4 nodelay;\n",
                           "  location /old/ { rewrite ^/old/(.*)$ /new/$1 last; }\n"
                           "  location /new/ { alias @DIR@/html/; }\n"));
  EXPECT_EQ(Statuses(nginx, "/old/"), kFiveThenRefused);
}

TEST_F(RedirectIntegrationTest, AuthRequestSubrequestIsNotChargedAgain) {
  NginxServer nginx(Server("  warden_limit zone=z burst=4 nodelay;\n",
                           "  location / { auth_request /auth; try_files /index.html =404; }\n"
                           "  location = /auth { try_files /index.html =404; }\n"));
  EXPECT_EQ(Statuses(nginx, "/"), kFiveThenRefused);
}

TEST_F(RedirectIntegrationTest, MirrorSubrequestIsNotChargedAgain) {
  NginxServer nginx(Server("  warden_limit zone=z burst=4 nodelay;\n",
                           "  location / { mirror /mirror; try_files /index.html =404; }\n"
                           "  location = /mirror { internal; try_files /index.html =404; }\n"));
  EXPECT_EQ(Statuses(nginx, "/"), kFiveThenRefused);
}

TEST_F(RedirectIntegrationTest, SsiIncludeIsNotChargedAgain) {
  NginxServer nginx(Server("  warden_limit zone=z burst=4 nodelay;\n",
                           "  location / { ssi on; }\n"
                           "  location /parts/ { alias @DIR@/html/; }\n"));
  WriteFile(nginx.dir() + "/html/page.html",
            "<p><!--# include virtual=\"/parts/index.html\" --></p>\n");
  EXPECT_EQ(Statuses(nginx, "/page.html"), kFiveThenRefused);
}

TEST_F(RedirectIntegrationTest, ASubrequestsRefusalIsNotTheMainRequestsDecision) {
  // The page has no limits; its SSI include does, and is refused from the second page on.
  NginxServer nginx(
      Server("",
             "  location / { ssi on; }\n"
             "  location /parts/ { warden_limit zone=z nodelay; alias @DIR@/html/; }\n",
             "log_format decision '$status $warden_decision';\n"
             "access_log @DIR@/decisions.log decision;\n"));
  WriteFile(nginx.dir() + "/html/page.html",
            "<p><!--# include virtual=\"/parts/index.html\" --></p>\n");
  EXPECT_EQ(Statuses(nginx, "/page.html", 3), "200 200 200 ");
  const std::string log = nginx.AccessLog("decisions.log");
  EXPECT_EQ(Count(log, "200 pass\n"), 3) << log;
  EXPECT_EQ(Count(log, "limit"), 0) << log;
}

TEST_F(RedirectIntegrationTest, ARedirectIntoOtherLimitsKeepsTheFirstLocationsLikeLimitReq) {
  // The named location has limits of its own (a zone with no burst): as with limit_req, the
  // request was already counted by the first location's, and the second's do not apply.
  NginxServer warden(Server("  warden_limit zone=z burst=4 nodelay;\n",
                            "  location / { try_files /nonexistent @app; }\n"
                            "  location @app { warden_limit zone=other nodelay;"
                            " try_files /index.html =404; }\n"));
  NginxServer stock(Server("  limit_req zone=std burst=4 nodelay;\n",
                           "  location / { try_files /nonexistent @app; }\n"
                           "  location @app { limit_req zone=std nodelay;"
                           " try_files /index.html =404; }\n"));
  const std::string expected = Statuses(stock, "/");
  EXPECT_EQ(expected, kFiveThenRefused);
  EXPECT_EQ(Statuses(warden, "/"), expected);
}

TEST_F(RedirectIntegrationTest, AutobanCountsEachRefusedRequestOnce) {
  // strikes=3: the first request passes, three refusals ban, the fifth is blocked.
  NginxServer nginx(Server("  warden on;\n  warden_limit zone=z nodelay;\n",
                           "  location / { try_files /nonexistent @app; }\n"
                           "  location @app { try_files /index.html =404; }\n",
                           "warden_autoban zone=z strikes=3 findtime=1m bantime=1h;\n"));
  EXPECT_EQ(Statuses(nginx, "/", 6), "200 429 429 429 403 403 ");
}

TEST_F(RedirectIntegrationTest, TheDecisionAndTheMetricsAreTheMainRequests) {
  // Both locations limit (the metrics location does not): the named one must not charge again.
  NginxServer nginx(Server(
      "",
      "  location / { warden_limit zone=z burst=4 nodelay; try_files /nonexistent @app; }\n"
      "  location @app { warden_limit zone=z burst=4 nodelay; try_files /index.html =404; }\n"
      "  location = /metrics { warden_status; }\n",
      "log_format decision '$status $warden_decision';\n"
      "access_log @DIR@/decisions.log decision;\n"));
  const std::string statuses = Statuses(nginx, "/", 7);
  EXPECT_EQ(Count(statuses, "200"), 5);
  const std::string log = nginx.AccessLog("decisions.log");
  EXPECT_EQ(Count(log, "200 pass\n"), 5) << log;
  EXPECT_EQ(Count(log, "429 limit\n"), 2) << log;
  const std::string metrics = nginx.Get("/metrics").body;
  EXPECT_NE(metrics.find("warden_requests_total{decision=\"pass\"} 5\n"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("warden_requests_total{decision=\"limit\"} 2\n"), std::string::npos)
      << metrics;
}

}  // namespace
}  // namespace warden::test
