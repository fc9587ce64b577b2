/*
 * The C interface between the nginx glue (the ngx_module C files) and the C++ core.
 * Every function is noexcept on the C++ side: failures come back as return values and
 * messages, never as exceptions.
 */

#ifndef WARDEN_CORE_H
#define WARDEN_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sockaddr;
struct redisAsyncContext;

typedef struct warden_geo_s warden_geo_t;
typedef struct warden_policy_s warden_policy_t;
typedef struct warden_worker_s warden_worker_t;

enum { WARDEN_PASS = 0, WARDEN_ALLOW = 1, WARDEN_BLOCK = 2, WARDEN_DRY_RUN = 3 };
/* the blacklist says: challenge (warden_challenge) rather than refuse */
enum { WARDEN_CHALLENGE = 7 };

enum { WARDEN_LOG_ERR = 0, WARDEN_LOG_WARN = 1, WARDEN_LOG_INFO = 2, WARDEN_LOG_DEBUG = 3 };

/* what refused a request (a block, or a dry run's would-be block) */
enum {
  WARDEN_CAUSE_NONE = 0,
  WARDEN_CAUSE_BLACKLIST = 1,
  WARDEN_CAUSE_COUNTRY = 2,
  WARDEN_CAUSE_AUTOBAN = 3
};

typedef struct {
  int decision;
  int cause; /* WARDEN_CAUSE_* */
  size_t reason_len;
  char reason[96];
} warden_verdict_t;

/* warden_redis, read at configuration time */
typedef struct warden_redis_s warden_redis_t;

typedef void (*warden_log_pt)(void *ctx, int level, const char *msg, size_t len);
typedef int (*warden_attach_pt)(void *ctx, struct redisAsyncContext *ac);

/* the socket of a Redis connection the core attached is readable / writable: the glue calls
   these instead of redisAsyncHandleRead/Write (a TLS connection's I/O runs in the core);
   ac may have been freed when they return */
void warden_redis_read(struct redisAsyncContext *ac);
void warden_redis_write(struct redisAsyncContext *ac);
/* 1: a plain connection, connected: the glue may write without waiting for epoll */
int warden_redis_may_write_now(const struct redisAsyncContext *ac);

/* warden_redis: the address (host:port, unix:/path, redis://..., sentinel://...), then each
   key=value argument, then finish (checks them together and resolves host names: the master
   may block, a worker never does). NULL / -1 with err set; no message shows a password. */
warden_redis_t *warden_redis_parse(const char *address, size_t len, char *err, size_t errlen);
int warden_redis_option(warden_redis_t *r, const char *arg, size_t len, char *err, size_t errlen);
int warden_redis_finish(warden_redis_t *r, char *err, size_t errlen);
int warden_redis_timeout_ms(const warden_redis_t *r);
void warden_redis_free(warden_redis_t *r);

/* address parsing, for directive validation: 0 on success, else err is set */
int warden_cidr_check(const char *text, size_t len, char *err, size_t errlen);

/* country database */
warden_geo_t *warden_geo_open(const char *path, const char *lookup, char *err, size_t errlen);
void warden_geo_close(warden_geo_t *geo);
int warden_geo_country(const warden_geo_t *geo, const struct sockaddr *sa, char out[3]);

/* per-location policy */
warden_policy_t *warden_policy_create(void);
void warden_policy_destroy(warden_policy_t *policy);
int warden_policy_allow(warden_policy_t *policy, const char *cidr, size_t len, char *err,
                        size_t errlen);
int warden_policy_block_country(warden_policy_t *policy, const char *code, size_t len);
void warden_policy_set_dry_run(warden_policy_t *policy, int on);
int warden_policy_needs_country(const warden_policy_t *policy);
void warden_policy_evaluate(const warden_policy_t *policy, const warden_worker_t *w,
                            const struct sockaddr *sa, const char *country, int64_t now_ms,
                            warden_verdict_t *out);

/* shared zones, formatted by the master in init_zone: 0 when too small */
size_t warden_table_format(void *region, size_t bytes);
size_t warden_map_format(void *region, size_t bytes);
size_t warden_stats_format(void *region, size_t bytes);

/* per worker: views of the shared zones and the Redis side */
warden_worker_t *warden_worker_create(int pid, warden_log_pt log, warden_attach_pt attach,
                                      void *ctx);
/* how the fleet knows this node (NULL or "": the host name), for its heartbeat in Redis and
   its bans; before the zones and rules are added */
void warden_worker_set_node(warden_worker_t *w, const char *name, const char *version, int workers);
int warden_worker_attach_blacklist(warden_worker_t *w, void *region, size_t bytes);
/* returns the zone's index (in the order added), -1 on failure */
int warden_worker_add_limit_zone(warden_worker_t *w, const char *name, void *region, size_t bytes,
                                 int64_t rate, int64_t sync_ms);
/* an autoban rule on a limit zone; returns its index, -1 on failure. An IPv6 client is
   counted and banned by its network of ipv6_prefix bits (128: by its address). */
int warden_worker_add_autoban(warden_worker_t *w, int limit_zone, void *region, size_t bytes,
                              unsigned strikes, int64_t findtime_ms, int64_t bantime_ms,
                              double factor, int64_t maxtime_ms, int ipv6_prefix);
/* a request refused by that zone's limit: returns 1 when the client got banned; *strikes
   (may be NULL) gets its strike count (the rule's strikes= when it got banned) */
int warden_worker_strike(warden_worker_t *w, int autoban, const struct sockaddr *sa, int64_t now_ms,
                         unsigned *strikes);
/* warden_behaviour */
enum { WARDEN_BEHAVIOUR_BAN = 0, WARDEN_BEHAVIOUR_CHALLENGE = 1, WARDEN_BEHAVIOUR_LOG = 2 };
enum {
  WARDEN_BEHAVIOUR_REPEAT = 0,   /* distinct=path: a path counted already */
  WARDEN_BEHAVIOUR_COUNTED = 1,  /* the bucket rose and holds */
  WARDEN_BEHAVIOUR_OVERFLOW = 2, /* the rule's decision applies; reason says why */
  WARDEN_BEHAVIOUR_BANNED_ALREADY = 3
};

typedef struct {
  const char *name;
  unsigned capacity;
  int64_t leak_ms; /* one event leaks out every leak_ms */
  int distinct_path;
  int decision; /* WARDEN_BEHAVIOUR_BAN... */
  int64_t bantime_ms;
  double factor;
  int64_t maxtime_ms;
  int ipv6_prefix;
  unsigned ipv4_subnet; /* 0: off; else the /24 after that many of its addresses */
} warden_behaviour_conf_t;

/* formats a rule's region (or keeps it across a reload): its slots, 0 when too small */
size_t warden_behaviour_format(void *region, size_t bytes);
/* returns the rule's index, -1 on failure */
int warden_worker_add_behaviour(warden_worker_t *w, const warden_behaviour_conf_t *conf,
                                void *region, size_t bytes);
/* a response that matched the rule: WARDEN_BEHAVIOUR_*, the reason (NUL-terminated, cut to
   reason_size) on an overflow; -1 when it could not be counted */
int warden_worker_behaviour_event(warden_worker_t *w, int rule, const struct sockaddr *sa,
                                  const char *path, size_t len, int status, int64_t now_ms,
                                  char *reason, size_t reason_size);

void warden_worker_connect_redis(warden_worker_t *w, const warden_redis_t *redis);
int warden_worker_attach_stats(warden_worker_t *w, void *region, size_t bytes, int worker);
size_t warden_stats_region_size(void);
int warden_worker_attach_traffic(warden_worker_t *w, void *region, size_t bytes);
/* what the log phase knows of one request, for warden_top_zone */
typedef struct {
  int refused; /* blocked or limited by Warden */
  const char *country;
  int status;           /* the response's status, 0: none */
  uint64_t bytes;       /* sent to the client */
  uint64_t upstream_ms; /* spent waiting on upstreams */
  const char *path;     /* as the client asked for it, without its query */
  size_t path_len;
  const char *user_agent; /* NULL: none */
  size_t user_agent_len;
  unsigned strikes; /* the warden_autoban strike count its refusal reached (0: none) */
} warden_traffic_sample_t;
/* A decided request, once, in the log phase: the node's decision counts (cause, WARDEN_CAUSE_*,
   tells a block's reason apart) and, with warden_top_zone attached, its traffic sample (NULL
   without: the glue fills none). One call: this runs on every request. */
void warden_worker_count(warden_worker_t *w, int decision, int cause, const struct sockaddr *sa,
                         const warden_traffic_sample_t *sample, int64_t now_ms);
/* Prometheus text; valid until the next call */
const char *warden_worker_metrics(warden_worker_t *w, int64_t now_ms, size_t *len);
void warden_worker_tick(warden_worker_t *w);
int64_t warden_worker_tick_ms(const warden_worker_t *w);
/* the delay to the next tick: tick_ms, shorter while following a Sentinel failover */
int64_t warden_worker_next_tick_ms(const warden_worker_t *w);
void warden_worker_shutdown(warden_worker_t *w);
void warden_worker_destroy(warden_worker_t *w);

/* warden_challenge: a proof-of-work page and a signed cookie (core/challenge.h) */
typedef struct warden_challenge_s warden_challenge_t;
enum {
  WARDEN_CHALLENGE_OK = 0,
  WARDEN_CHALLENGE_MALFORMED = 1,
  WARDEN_CHALLENGE_EXPIRED = 2,
  WARDEN_CHALLENGE_FORGED = 3,
  WARDEN_CHALLENGE_WRONG = 4
};
/* keys: the key file's text; NULL with err set (never a key's text) when unusable */
warden_challenge_t *warden_challenge_create(const char *keys, size_t len, int difficulty,
                                            int64_t cookie_ttl_ms, char *err, size_t errlen);
void warden_challenge_destroy(warden_challenge_t *c);
/* the metrics: a page served, or an answer accepted */
enum { WARDEN_CHALLENGE_SERVED = 0, WARDEN_CHALLENGE_SOLVED = 1 };
void warden_worker_count_challenge(warden_worker_t *w, int result);
/* into out (NUL-terminated); returns the length, 0 on failure */
size_t warden_challenge_nonce(const warden_challenge_t *c, const char *client, size_t client_len,
                              int64_t now_ms, char *out, size_t outlen);
size_t warden_challenge_cookie(const warden_challenge_t *c, const char *client, size_t client_len,
                               int64_t now_ms, char *out, size_t outlen);
/* answer: "<nonce>:<solution>" as the page's script sends it; WARDEN_CHALLENGE_* */
int warden_challenge_verify_answer(const warden_challenge_t *c, const char *client,
                                   size_t client_len, const char *answer, size_t len,
                                   int64_t now_ms);
int warden_challenge_verify_cookie(const warden_challenge_t *c, const char *client,
                                   size_t client_len, const char *cookie, size_t len,
                                   int64_t now_ms);

typedef struct {
  int rejected;
  int64_t excess; /* requests x 1000 */
  int64_t delay_ms;
  int64_t retry_after_ms;
  int unanswered; /* sync=exact: decided by the fail mode, Redis did not answer */
} warden_limit_verdict_t;

/* sync=exact: one zone's verdict for a request, counted once per request and zone (the node's
   heartbeat, warden_limit_requests_total); dry_run: warden_limit_dry_run applies */
void warden_worker_count_limit(warden_worker_t *w, int zone, const warden_limit_verdict_t *v,
                               int dry_run, int fail_closed);

/* rate, burst, delay as limit_req: x 1000; delay < 0: nodelay. Counts the verdict in the zone
   as warden_worker_count_limit does (one call per request and zone on the request path). */
void warden_worker_limit(warden_worker_t *w, int zone, const unsigned char *key, size_t len,
                         int64_t rate, int64_t burst, int64_t delay, int64_t now_ms, int dry_run,
                         warden_limit_verdict_t *out);

/* sync=exact: returns 1 when the request must wait for done (called once, also
   on failure), 0 when decided now into out */
typedef void (*warden_exact_done_pt)(void *data, const warden_limit_verdict_t *verdict, int failed);
int warden_worker_limit_exact(warden_worker_t *w, int zone, const unsigned char *key, size_t len,
                              int64_t rate, int64_t burst, int64_t delay, int64_t now_ms,
                              int fail_closed, warden_limit_verdict_t *out,
                              warden_exact_done_pt done, void *data);
void warden_worker_exact_timed_out(warden_worker_t *w);
/* sends what warden_worker_limit_exact queued: once per event-loop turn */
void warden_worker_exact_flush(warden_worker_t *w);

/* warden_cache_serve: values warmed by `warden cache warm`, read from Redis */
enum {
  WARDEN_CACHE_HIT = 0,
  WARDEN_CACHE_REVALIDATED = 1, /* a hit answered 304 */
  WARDEN_CACHE_MISS = 2,
  WARDEN_CACHE_MALFORMED = 3,
  WARDEN_CACHE_ERROR = 4, /* Redis down, slow, or the circuit open */
  WARDEN_CACHE_BYPASS = 5 /* not looked up: method, subrequest... */
};

typedef struct {
  const char *body;
  size_t body_len;
  const char *etag; /* with its quotes */
  size_t etag_len;
  const char *content_type;
  size_t content_type_len;
  int64_t computed_at_ms;
} warden_cache_value_t;

/* result is HIT (value set, valid during the call only), MISS, MALFORMED or
   ERROR (value NULL) */
typedef void (*warden_cache_done_pt)(void *data, int result, const warden_cache_value_t *value);

/* every worker keeps the request-path Redis connection */
void warden_worker_enable_cache(warden_worker_t *w);
/* one HMGET of key, used as given; returns 1 when done will be called once,
   later, from the event loop; 0 when Redis is unavailable (done is not
   called) */
int warden_worker_cache_get(warden_worker_t *w, const char *key, size_t len,
                            warden_cache_done_pt done, void *data);
void warden_worker_count_cache(warden_worker_t *w, int result);
/* how long a request may wait for Redis: warden_redis timeout=, 0 without */
int64_t warden_worker_redis_timeout_ms(const warden_worker_t *w);

#ifdef __cplusplus
}
#endif

#endif /* WARDEN_CORE_H */
