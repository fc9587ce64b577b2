// HttpClient helpers that need no server, and the alert bodies.
#include "net/http_client.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "jobs/webhook_alerter.h"

namespace warden {
namespace {

TEST(HttpClient, RemoteIsSchemeHostAndPort) {
  EXPECT_EQ(HttpClient::Remote("http://a.internal/api?x=1"), "http://a.internal:80");
  EXPECT_EQ(HttpClient::Remote("https://a.internal/api"), "https://a.internal:443");
  EXPECT_EQ(HttpClient::Remote("http://127.0.0.1:8080/x"), "http://127.0.0.1:8080");
  EXPECT_EQ(HttpClient::Remote("http://user:pw@host:81/x"), "http://host:81");
  EXPECT_EQ(HttpClient::Remote("http://[::1]/x"), "http://[::1]:80");
  EXPECT_EQ(HttpClient::Remote("http://[::1]:9/x"), "http://[::1]:9");
}

TEST(HttpClient, ConnectionRefusedIsAConnectError) {
  HttpClient client;
  HttpClient::Request request;
  request.url = "http://127.0.0.1:1/";
  try {
    client.Send(request);
    FAIL() << "no error";
  } catch (const HttpError& e) {
    EXPECT_EQ(e.kind(), HttpError::Kind::kConnect) << e.what();
  }
}

TEST(Alerts, JsonAndSlackBodies) {
  AlertEvent event;
  event.kind = AlertEvent::Kind::kFailing;
  event.job = "sync";
  event.node = "edge-1";
  event.failures = 3;
  event.error = "HTTP 503";
  event.at_ms = 1000;
  auto json = nlohmann::json::parse(WebhookAlerter::Body(event, false));
  EXPECT_EQ(json["event"], "failing");
  EXPECT_EQ(json["job"], "sync");
  EXPECT_EQ(json["failures"], 3);
  EXPECT_EQ(json["error"], "HTTP 503");
  EXPECT_EQ(json["text"], "warden job sync failed 3 times in a row: HTTP 503 (node edge-1)");
  auto slack = nlohmann::json::parse(WebhookAlerter::Body(event, true));
  EXPECT_EQ(slack.size(), 1u);
  EXPECT_EQ(slack["text"], json["text"]);
  event.kind = AlertEvent::Kind::kRecovered;
  EXPECT_EQ(event.Text(), "warden job sync recovered: the last run succeeded (node edge-1)");
}

}  // namespace
}  // namespace warden
