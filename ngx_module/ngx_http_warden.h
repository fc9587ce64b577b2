
/*
 * Warden: what the module's C files share: the configuration, the request
 * ctx, the shared zones' handles, and the functions one file calls in another.
 */


#ifndef _NGX_HTTP_WARDEN_H_INCLUDED_
#define _NGX_HTTP_WARDEN_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "core/warden_core.h"


#define NGX_HTTP_WARDEN_SYNC_UNSET     ((ngx_msec_t) -2)
#define NGX_HTTP_WARDEN_SYNC_EXACT     ((ngx_msec_t) -3)

/* the largest rate, burst and delay: far from overflow once x 1000 */
#define NGX_HTTP_WARDEN_MAX_COUNT      1000000

/* a request's wait for Redis under sync=exact */
#define NGX_HTTP_WARDEN_EXACT_NONE     0
#define NGX_HTTP_WARDEN_EXACT_WAITING  1
#define NGX_HTTP_WARDEN_EXACT_DONE     2
#define NGX_HTTP_WARDEN_EXACT_TIMEOUT  3

/* decisions of the rate limits, after the core's WARDEN_PASS..WARDEN_DRY_RUN */
#define NGX_HTTP_WARDEN_LIMIT          4
#define NGX_HTTP_WARDEN_DELAY          5
#define NGX_HTTP_WARDEN_LIMIT_DRY_RUN  6
/* (7: WARDEN_CHALLENGE, the core's) */
#define NGX_HTTP_WARDEN_LAST_DECISION  WARDEN_CHALLENGE


typedef struct {
    void                        *region;
    size_t                       bytes;
} ngx_http_warden_shctx_t;


typedef size_t (*ngx_http_warden_format_pt)(void *region, size_t bytes);


/*
 * How long an automatic ban lasts and what it covers: warden_autoban's and
 * warden_behaviour's bantime=, maxtime=, factor= and ipv6_prefix= (parsed by
 * ngx_http_warden_parse_ban(), ngx_http_warden_limit.c).
 */
typedef struct {
    ngx_msec_t                   bantime;
    ngx_msec_t                   maxtime;
    ngx_uint_t                   factor;       /* x 100 */
    ngx_uint_t                   ipv6_prefix;  /* an IPv6 client's ban scope */
} ngx_http_warden_ban_t;


typedef struct {
    ngx_str_t                    name;
    ngx_http_complex_value_t     key;
    ngx_int_t                    key_variable; /* a key of one variable: its
                                                  index; NGX_ERROR: other */
    ngx_shm_zone_t              *shm_zone;
    ngx_int_t                    rate;         /* requests per second x 1000 */
    ngx_msec_t                   sync;         /* 0: this node only */
    ngx_int_t                    index;        /* in the worker's node */
    ngx_http_warden_shctx_t     *sh;           /* the buckets, by init_zone */

    ngx_shm_zone_t              *autoban_zone; /* strikes; NULL: no autoban */
    ngx_uint_t                   strikes;
    ngx_msec_t                   findtime;
    ngx_http_warden_ban_t        ban;
    ngx_int_t                    autoban_index;
    ngx_http_warden_shctx_t     *autoban_sh;
} ngx_http_warden_limit_zone_t;


typedef struct {
    ngx_shm_zone_t              *shm_zone;     /* data: the limit zone */
    ngx_int_t                    burst;        /* x 1000 */
    ngx_int_t                    delay;        /* x 1000, or NODELAY */
} ngx_http_warden_limit_t;


/* a warden_behaviour rule (ngx_http_warden_behaviour.c) */
#define NGX_HTTP_WARDEN_BEHAVIOUR_MAX_DISTINCT  32

typedef struct {
    ngx_str_t                    name;         /* NUL-terminated */
    u_char                       statuses[63]; /* a bit per status 100..599 */
    ngx_uint_t                   any_status;   /* no status= */
    ngx_array_t                 *exclude;      /* of ngx_str_t: extensions */
    ngx_http_complex_value_t    *condition;    /* if=, or NULL */
    ngx_uint_t                   capacity;
    ngx_msec_t                   leak;
    ngx_uint_t                   distinct_path;
    ngx_uint_t                   decision;     /* WARDEN_BEHAVIOUR_BAN... */
    ngx_http_warden_ban_t        ban;
    ngx_uint_t                   ipv4_subnet;  /* 0: off */
    ngx_shm_zone_t              *shm_zone;
    ngx_http_warden_shctx_t     *sh;           /* the buckets, by init_zone */
    ngx_int_t                    index;        /* in the worker's node */
} ngx_http_warden_behaviour_t;


/* a warden_limit that names its zone before the zone's warden_limit_zone */
typedef struct {
    ngx_shm_zone_t              *shm_zone;
    ngx_str_t                    name;
    ngx_str_t                    file;
    ngx_uint_t                   line;
} ngx_http_warden_zone_ref_t;


typedef struct {
    ngx_str_t                    node;         /* warden_node; NUL-terminated */

    ngx_flag_t                   redis_set;
    warden_redis_t              *redis;

    size_t                       zone_size;
    ngx_shm_zone_t              *shm_zone;

    warden_geo_t                *geo;

    /* of ngx_http_warden_limit_zone_t *, in the order declared */
    ngx_array_t                  limit_zones;
    /* of ngx_http_warden_zone_ref_t, checked once the http block is read */
    ngx_array_t                  zone_refs;

    /* of ngx_http_warden_behaviour_t *, in the order declared */
    ngx_array_t                  behaviours;

    /* warden_challenge_key: the file's text, for the levels that challenge */
    ngx_str_t                    challenge_keys;
    ngx_str_t                    challenge_key_file;

    ngx_shm_zone_t              *stats_zone;
    ngx_shm_zone_t              *traffic_zone;
    ssize_t                      traffic_size;  /* 0: off */
} ngx_http_warden_main_conf_t;


typedef struct {
    ngx_flag_t                   enable;
    ngx_array_t                 *allow;        /* of ngx_str_t */
    ngx_array_t                 *countries;    /* of ngx_str_t */
    ngx_uint_t                   block_status;
    ngx_flag_t                   dry_run;
    warden_policy_t             *policy;

    ngx_array_t                 *limits;       /* of ngx_http_warden_limit_t */
    ngx_uint_t                   limit_status;
    ngx_uint_t                   limit_log_level;
    ngx_flag_t                   limit_dry_run;
    ngx_flag_t                   limit_headers;
    ngx_uint_t                   limit_fail;   /* 1: closed */

    /* warden_watch: of ngx_http_warden_behaviour_t *; empty: off */
    ngx_array_t                 *watch;

    ngx_flag_t                   challenge;
    ngx_uint_t                   challenge_difficulty;
    ngx_msec_t                   challenge_ttl;
    warden_challenge_t          *challenger;
    /* exempt=: requests that cannot run scripts (API clients) */
    ngx_http_complex_value_t    *challenge_exempt;
} ngx_http_warden_loc_conf_t;


typedef struct {
    void                        *conf;         /* the location that decided */
    unsigned                     evaluated:1;
    unsigned                     country_done:1;
    unsigned                     limited:1;    /* limits charged: once per
                                                  main request */
    unsigned                     challenged:1; /* the challenge page was sent */
    unsigned                     challenge_passed:1;
    ngx_http_request_t          *limiting;     /* whose limits run (and may
                                                  wait on Redis) */
    void                        *limit_conf;   /* and in which location */
    char                         country[3];
    unsigned                     strikes;      /* warden_autoban's count, for
                                                  warden_top_zone */

    /* the limits, resumable across a wait for Redis (sync=exact) */
    ngx_uint_t                   next_limit;
    ngx_int_t                    hit;          /* the deciding limit, or -1 */
    ngx_uint_t                   exact_state;
    void                        *exact_waiter; /* what an answer must match */

    /*
     * Not zeroed by ngx_http_warden_get_ctx(), for every request makes a
     * context: each is written before it is read (hv once hit is set,
     * exact once exact_state says so, verdict's reason up to reason_len).
     */
    warden_limit_verdict_t       hv;
    warden_limit_verdict_t       exact;
    warden_verdict_t             verdict;
} ngx_http_warden_ctx_t;


/*
 * A request waiting for Redis (sync=exact, warden_cache_serve), as
 * limit_req's delay: the phase handler returns NGX_AGAIN, the request stays
 * owned by its connection, and the client's write event, on a timer, brings
 * it back. A client that leaves meanwhile is finalized by
 * ngx_http_test_reading(); the waiter then outlives the request, and the
 * answer frees it.
 */

typedef struct {
    ngx_http_request_t  *r;            /* NULL once the request is gone */
    void                *ctx;          /* the waiting module's request ctx */
    ngx_uint_t           in_flight;    /* Redis has yet to answer */
} ngx_http_warden_waiter_t;


extern ngx_module_t    ngx_http_warden_module;

/* this worker's node, made in init_process; NULL in the master */
extern warden_worker_t  *ngx_http_warden_worker;

/* ngx_http_warden_module.c */
ngx_uint_t ngx_http_warden_redis_configured(ngx_conf_t *cf);

/* ngx_http_warden_access.c */
ngx_int_t ngx_http_warden_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_warden_log_handler(ngx_http_request_t *r);
/* after an internal redirect (which clears module contexts), or a new one */
ngx_http_warden_ctx_t *ngx_http_warden_find_ctx(ngx_http_request_t *r,
    ngx_uint_t create);
const char *ngx_http_warden_country(ngx_http_request_t *r,
    ngx_http_warden_ctx_t *ctx);


/* the request's context (inline: three calls a request, most find it set) */
static ngx_inline ngx_http_warden_ctx_t *
ngx_http_warden_get_ctx(ngx_http_request_t *r, ngx_uint_t create)
{
    ngx_http_warden_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_warden_module);
    if (ctx) {
        return ctx;
    }

    return ngx_http_warden_find_ctx(r, create);
}


/* ngx_http_warden_limit.c */
ngx_int_t ngx_http_warden_limit(ngx_http_request_t *r,
    ngx_http_warden_loc_conf_t *wlcf, ngx_http_warden_ctx_t *ctx);
char *ngx_http_warden_limit_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_warden_limit_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_warden_autoban(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
void ngx_http_warden_ban_init(ngx_http_warden_ban_t *ban);
ngx_int_t ngx_http_warden_parse_ban(ngx_conf_t *cf, ngx_str_t *value,
    ngx_http_warden_ban_t *ban);
char *ngx_http_warden_check_ban(ngx_conf_t *cf, ngx_http_warden_ban_t *ban);
ngx_int_t ngx_http_warden_parse_zone_size(ngx_conf_t *cf, ngx_str_t *value,
    ssize_t *size);

/* ngx_http_warden_behaviour.c */
char *ngx_http_warden_behaviour(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_warden_watch(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
void ngx_http_warden_behaviour_log(ngx_http_request_t *r,
    ngx_http_warden_ctx_t *ctx);

/* ngx_http_warden_challenge.c */
char *ngx_http_warden_challenge_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_warden_challenge_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_warden_challenge_merge(ngx_conf_t *cf,
    ngx_http_warden_loc_conf_t *prev, ngx_http_warden_loc_conf_t *conf);
ngx_int_t ngx_http_warden_challenge(ngx_http_request_t *r,
    ngx_http_warden_loc_conf_t *wlcf, ngx_http_warden_ctx_t *ctx);
ngx_int_t ngx_http_warden_challenge_exempt(ngx_http_request_t *r,
    ngx_http_warden_loc_conf_t *wlcf);

/* ngx_http_warden_variables.c */
ngx_int_t ngx_http_warden_add_variables(ngx_conf_t *cf);
/* adds a null-terminated table of variables (also the cache module's) */
ngx_http_complex_value_t *ngx_http_warden_compile_condition(ngx_conf_t *cf,
    ngx_str_t *param, size_t skip);
ngx_uint_t ngx_http_warden_condition(ngx_http_request_t *r,
    ngx_http_complex_value_t *cv);
ngx_int_t ngx_http_warden_single_variable(ngx_conf_t *cf, ngx_str_t *value);
ngx_int_t ngx_http_warden_value(ngx_http_request_t *r,
    ngx_http_complex_value_t *cv, ngx_int_t variable, ngx_str_t *value);
ngx_int_t ngx_http_warden_register_variables(ngx_conf_t *cf,
    ngx_http_variable_t *vars);

/* ngx_http_warden_status.c */
char *ngx_http_warden_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_warden_init_stats_zone(ngx_shm_zone_t *shm_zone,
    void *data);

/* ngx_http_warden_zone.c */
ngx_shm_zone_t *ngx_http_warden_shm_zone(ngx_conf_t *cf, char *ns,
    ngx_str_t *name, size_t size);
char *ngx_http_warden_top_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_warden_init_blacklist_zone(ngx_shm_zone_t *shm_zone,
    void *data);
ngx_int_t ngx_http_warden_init_top_zone(ngx_shm_zone_t *shm_zone,
    void *data);
ngx_int_t ngx_http_warden_init_limit_zone(ngx_shm_zone_t *shm_zone,
    void *data);
ngx_int_t ngx_http_warden_init_autoban_zone(ngx_shm_zone_t *shm_zone,
    void *data);
ngx_int_t ngx_http_warden_init_region(ngx_shm_zone_t *shm_zone,
    ngx_http_warden_shctx_t *osh, ngx_http_warden_format_pt format,
    ngx_http_warden_shctx_t **shp, size_t *slots);

/* ngx_http_warden_worker.c */
int64_t ngx_http_warden_now_ms(void);
void ngx_http_warden_post_flush(void);
ngx_int_t ngx_http_warden_init_process(ngx_cycle_t *cycle);
void ngx_http_warden_exit_process(ngx_cycle_t *cycle);

/* ngx_http_warden_wait.c */
/* a waiter, in flight, freed with the request unless Redis still owes it */
ngx_http_warden_waiter_t *ngx_http_warden_waiter_create(ngx_http_request_t *r,
    void *ctx);
/* parks the request until ngx_http_warden_wake() or `timeout` */
void ngx_http_warden_wait(ngx_http_request_t *r,
    ngx_http_event_handler_pt resume, ngx_msec_t timeout);
/* in the answer's callback: the request, or NULL when it is gone */
ngx_http_request_t *ngx_http_warden_waiter_answered(
    ngx_http_warden_waiter_t *w);
/* brings the request back from the event loop (not from inside hiredis) */
void ngx_http_warden_wake(ngx_http_request_t *r);
/* in `resume`: 1 when a write event came before the answer (keep waiting) */
ngx_uint_t ngx_http_warden_still_waiting(ngx_http_request_t *r);
/* in `resume`: back to the phases where the request stopped */
void ngx_http_warden_resume(ngx_http_request_t *r);


#endif /* _NGX_HTTP_WARDEN_H_INCLUDED_ */
