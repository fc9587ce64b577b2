
/*
 * Warden: a fleet-wide IP blacklist, allow list and country block for nginx.
 *
 * This file is the nginx glue: directives, the shared zone, the request
 * handler, variables and the per-worker timer. The logic lives in the C++ core
 * behind warden_core.h. The request path reads shared memory only; the Redis
 * sync runs in the background on the worker's event loop.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <arpa/inet.h>

#include "core/warden_core.h"
#include "ngx_http_warden.h"
#include "ngx_http_warden_redis.h"


#define NGX_HTTP_WARDEN_TICK_MS        100
#define NGX_HTTP_WARDEN_DEFAULT_ZONE   (32 * 1024 * 1024)
#define NGX_HTTP_WARDEN_MIN_ZONE       (64 * 1024)
#define NGX_HTTP_WARDEN_SYNC_UNSET     ((ngx_msec_t) -2)
#define NGX_HTTP_WARDEN_SYNC_EXACT     ((ngx_msec_t) -3)
#define NGX_HTTP_WARDEN_NODELAY        -1

/* a request's wait for Redis under sync=exact */
#define NGX_HTTP_WARDEN_EXACT_NONE     0
#define NGX_HTTP_WARDEN_EXACT_WAITING  1
#define NGX_HTTP_WARDEN_EXACT_DONE     2
#define NGX_HTTP_WARDEN_EXACT_TIMEOUT  3

/* decisions of the rate limits, after the core's WARDEN_PASS..WARDEN_DRY_RUN */
#define NGX_HTTP_WARDEN_LIMIT          4
#define NGX_HTTP_WARDEN_DELAY          5
#define NGX_HTTP_WARDEN_LIMIT_DRY_RUN  6
#define NGX_HTTP_WARDEN_LAST_DECISION  NGX_HTTP_WARDEN_LIMIT_DRY_RUN


typedef struct {
    void                        *region;
    size_t                       bytes;
} ngx_http_warden_shctx_t;


typedef size_t (*ngx_http_warden_format_pt)(void *region, size_t bytes);


typedef struct {
    ngx_str_t                    name;
    ngx_http_complex_value_t     key;
    ngx_shm_zone_t              *shm_zone;
    ngx_int_t                    rate;         /* requests per second x 1000 */
    ngx_msec_t                   sync;         /* 0: this node only */
    ngx_int_t                    index;        /* in the worker's node */

    ngx_shm_zone_t              *autoban_zone; /* strikes; NULL: no autoban */
    ngx_uint_t                   strikes;
    ngx_msec_t                   findtime;
    ngx_msec_t                   bantime;
    ngx_msec_t                   maxtime;
    ngx_uint_t                   factor;       /* x 100 */
    ngx_int_t                    autoban_index;
} ngx_http_warden_limit_zone_t;


typedef struct {
    ngx_http_warden_limit_zone_t  *zone;
    ngx_int_t                      burst;      /* x 1000 */
    ngx_int_t                      delay;      /* x 1000, or NODELAY */
} ngx_http_warden_limit_t;


typedef struct {
    ngx_flag_t                   redis_set;
    warden_redis_conf_t          redis;
    ngx_str_t                    redis_text;

    size_t                       zone_size;
    ngx_shm_zone_t              *shm_zone;

    warden_geo_t                *geo;

    ngx_array_t                  limit_zones;  /* of ngx_http_warden_limit_zone_t * */

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
} ngx_http_warden_loc_conf_t;


typedef struct {
    void                        *conf;         /* the location that decided */
    unsigned                     evaluated:1;
    unsigned                     country_done:1;
    char                         country[3];
    warden_verdict_t             verdict;

    /* the limits, resumable across a wait for Redis (sync=exact) */
    ngx_uint_t                   next_limit;
    ngx_int_t                    hit;          /* index of the deciding limit, or -1 */
    warden_limit_verdict_t       hv;
    ngx_uint_t                   exact_state;
    warden_limit_verdict_t       exact;
    void                        *exact_waiter; /* the wait an answer must match */
} ngx_http_warden_ctx_t;


static ngx_int_t ngx_http_warden_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_warden_limit(ngx_http_request_t *r,
    ngx_http_warden_loc_conf_t *wlcf, ngx_http_warden_ctx_t *ctx);
static ngx_int_t ngx_http_warden_limit_headers(ngx_http_request_t *r,
    ngx_http_warden_limit_t *limit, warden_limit_verdict_t *v,
    ngx_uint_t rejected);
static ngx_int_t ngx_http_warden_add_header(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value);
static void ngx_http_warden_delay(ngx_http_request_t *r);
static ngx_int_t ngx_http_warden_exact_wait(ngx_http_request_t *r,
    ngx_http_warden_ctx_t *ctx, ngx_http_warden_limit_t *limit,
    ngx_str_t *key, int64_t now, ngx_uint_t fail_closed,
    warden_limit_verdict_t *v);
static void ngx_http_warden_exact_done(void *data,
    const warden_limit_verdict_t *verdict, int failed);
static void ngx_http_warden_waiter_cleanup(void *data);
static void ngx_http_warden_exact_resume(ngx_http_request_t *r);
static ngx_int_t ngx_http_warden_log_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_warden_status_handler(ngx_http_request_t *r);
static char *ngx_http_warden_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_warden_top_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_warden_init_stats_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_http_warden_ctx_t *ngx_http_warden_get_ctx(ngx_http_request_t *r,
    ngx_uint_t create);
static void ngx_http_warden_ctx_cleanup(void *data);
static const char *ngx_http_warden_country(ngx_http_request_t *r,
    ngx_http_warden_ctx_t *ctx);
static int64_t ngx_http_warden_now_ms(void);

static ngx_int_t ngx_http_warden_country_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_warden_decision_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_warden_reason_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

static char *ngx_http_warden_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_warden_geoip(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_warden_allow(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_warden_block_country(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_warden_limit_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_warden_limit_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_warden_autoban(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_warden_geo_cleanup(void *data);
static void ngx_http_warden_policy_cleanup(void *data);
static ngx_int_t ngx_http_warden_init_blacklist_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_warden_init_limit_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_warden_init_region(ngx_shm_zone_t *shm_zone,
    void *data, ngx_http_warden_format_pt format, size_t *slots);

static void ngx_http_warden_log(void *ctx, int level, const char *msg,
    size_t len);
static int ngx_http_warden_attach(void *ctx, struct redisAsyncContext *ac);
static void ngx_http_warden_tick(ngx_event_t *ev);
static void ngx_http_warden_flush(ngx_event_t *ev);

static ngx_int_t ngx_http_warden_add_variables(ngx_conf_t *cf);
static void *ngx_http_warden_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_warden_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_warden_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_warden_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_warden_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_warden_init_process(ngx_cycle_t *cycle);
static void ngx_http_warden_exit_process(ngx_cycle_t *cycle);


static ngx_conf_num_bounds_t  ngx_http_warden_status_bounds = {
    ngx_conf_check_num_bounds, 400, 599
};


static ngx_conf_enum_t  ngx_http_warden_fail_modes[] = {
    { ngx_string("open"), 0 },
    { ngx_string("closed"), 1 },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_warden_log_levels[] = {
    { ngx_string("info"), NGX_LOG_INFO },
    { ngx_string("notice"), NGX_LOG_NOTICE },
    { ngx_string("warn"), NGX_LOG_WARN },
    { ngx_string("error"), NGX_LOG_ERR },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_warden_commands[] = {

    { ngx_string("warden_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_warden_redis,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("warden_blacklist_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_warden_main_conf_t, zone_size),
      NULL },

    { ngx_string("warden_geoip"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_warden_geoip,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("warden"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_warden_loc_conf_t, enable),
      NULL },

    { ngx_string("warden_allow"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_warden_allow,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("warden_block_country"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_warden_block_country,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("warden_block_status"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_warden_loc_conf_t, block_status),
      &ngx_http_warden_status_bounds },

    { ngx_string("warden_dry_run"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_warden_loc_conf_t, dry_run),
      NULL },

    { ngx_string("warden_limit_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_warden_limit_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("warden_limit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_warden_limit_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("warden_autoban"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_warden_autoban,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("warden_top_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_warden_top_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("warden_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_warden_status,
      0,
      0,
      NULL },

    { ngx_string("warden_limit_status"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_warden_loc_conf_t, limit_status),
      &ngx_http_warden_status_bounds },

    { ngx_string("warden_limit_log_level"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_warden_loc_conf_t, limit_log_level),
      &ngx_http_warden_log_levels },

    { ngx_string("warden_limit_dry_run"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_warden_loc_conf_t, limit_dry_run),
      NULL },

    { ngx_string("warden_limit_fail"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_warden_loc_conf_t, limit_fail),
      &ngx_http_warden_fail_modes },

    { ngx_string("warden_limit_headers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_warden_loc_conf_t, limit_headers),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_warden_module_ctx = {
    ngx_http_warden_add_variables,         /* preconfiguration */
    ngx_http_warden_init,                  /* postconfiguration */

    ngx_http_warden_create_main_conf,      /* create main configuration */
    ngx_http_warden_init_main_conf,        /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_warden_create_loc_conf,       /* create location configuration */
    ngx_http_warden_merge_loc_conf         /* merge location configuration */
};


ngx_module_t  ngx_http_warden_module = {
    NGX_MODULE_V1,
    &ngx_http_warden_module_ctx,           /* module context */
    ngx_http_warden_commands,              /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_warden_init_process,          /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_warden_exit_process,          /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_http_warden_vars[] = {

    { ngx_string("warden_country"), NULL,
      ngx_http_warden_country_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("warden_decision"), NULL,
      ngx_http_warden_decision_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("warden_reason"), NULL,
      ngx_http_warden_reason_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_str_t  ngx_http_warden_decisions[] = {
    ngx_string("pass"),
    ngx_string("allow"),
    ngx_string("block"),
    ngx_string("dry_run"),
    ngx_string("limit"),
    ngx_string("delay"),
    ngx_string("limit_dry_run")
};


/* per worker: the node's table and its Redis sync (the cache module uses it) */
warden_node_t         *ngx_http_warden_node;
static ngx_event_t     ngx_http_warden_tick_event;
static ngx_msec_t      ngx_http_warden_tick_ms = NGX_HTTP_WARDEN_TICK_MS;
static ngx_event_t     ngx_http_warden_flush_event;


static ngx_int_t
ngx_http_warden_handler(ngx_http_request_t *r)
{
    const char                  *country;
    ngx_http_warden_ctx_t       *ctx;
    ngx_http_warden_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_warden_module);

    if (!wlcf->enable && wlcf->limits == NULL) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_warden_get_ctx(r, 1);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->exact_state == NGX_HTTP_WARDEN_EXACT_DONE
        || ctx->exact_state == NGX_HTTP_WARDEN_EXACT_TIMEOUT)
    {
        /* Redis answered (or did not in time): go on with the limits */
        return ngx_http_warden_limit(r, wlcf, ctx);
    }

    if (ctx->evaluated) {
        /*
         * An internal redirect, or the end of a delay: a refused request now
         * serves its error page; one that passed is judged again only by a
         * location with other rules.
         */
        if (ctx->verdict.decision == WARDEN_BLOCK
            || ctx->verdict.decision == NGX_HTTP_WARDEN_LIMIT
            || ctx->conf == wlcf)
        {
            return NGX_DECLINED;
        }
    }

    ctx->evaluated = 1;
    ctx->conf = wlcf;

    country = NULL;
    if (warden_policy_needs_country(wlcf->policy)) {
        country = ngx_http_warden_country(r, ctx);
    }

    /* without "warden on" only the allow list counts: it exempts from limits */
    warden_policy_evaluate(wlcf->policy,
                           wlcf->enable ? ngx_http_warden_node : NULL,
                           r->connection->sockaddr,
                           wlcf->enable ? country : NULL,
                           ngx_http_warden_now_ms(), &ctx->verdict);

    switch (ctx->verdict.decision) {

    case WARDEN_BLOCK:
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "access forbidden by warden: %*s",
                      ctx->verdict.reason_len, ctx->verdict.reason);
        return wlcf->block_status;

    case WARDEN_ALLOW:
        return NGX_DECLINED;

    case WARDEN_DRY_RUN:
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "warden dry run, would forbid: %*s",
                      ctx->verdict.reason_len, ctx->verdict.reason);
        break;

    default:
        break;
    }

    if (wlcf->limits) {
        ctx->next_limit = 0;
        ctx->hit = -1;
        return ngx_http_warden_limit(r, wlcf, ctx);
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_warden_limit(ngx_http_request_t *r, ngx_http_warden_loc_conf_t *wlcf,
    ngx_http_warden_ctx_t *ctx)
{
    u_char                   *p;
    int64_t                   now;
    ngx_int_t                 rc;
    ngx_str_t                 key;
    ngx_uint_t                i, level;
    ngx_http_warden_limit_t  *limits, *limit, *hit;
    warden_limit_verdict_t    v, hv;

    static ngx_str_t  retry_after = ngx_string("Retry-After");

    if (ngx_http_warden_node == NULL) {
        return NGX_DECLINED;
    }

    now = ngx_http_warden_now_ms();
    limits = wlcf->limits->elts;

    for (i = ctx->next_limit; i < wlcf->limits->nelts; i++) {
        limit = &limits[i];

        if (ngx_http_complex_value(r, &limit->zone->key, &key) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (key.len == 0) {
            /* as limit_req: an empty key is not limited */
            continue;
        }

        if (limit->zone->sync != NGX_HTTP_WARDEN_SYNC_EXACT) {
            warden_node_limit(ngx_http_warden_node, (int) limit->zone->index,
                              key.data, key.len, limit->zone->rate,
                              limit->burst, limit->delay, now, &v);

        } else if (ctx->exact_state == NGX_HTTP_WARDEN_EXACT_NONE) {
            rc = ngx_http_warden_exact_wait(r, ctx, limit, &key, now,
                                            wlcf->limit_fail, &v);

            if (rc == NGX_AGAIN) {
                ctx->next_limit = i;
                return NGX_AGAIN;
            }

            if (rc != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

        } else {
            /* back from the wait: Redis's verdict, or the fail mode's */
            if (ctx->exact_state == NGX_HTTP_WARDEN_EXACT_TIMEOUT) {
                ngx_memzero(&ctx->exact, sizeof(warden_limit_verdict_t));
                if (wlcf->limit_fail) {
                    ctx->exact.rejected = 1;
                    ctx->exact.retry_after_ms = 1000;
                }
            }

            v = ctx->exact;
            ctx->exact_state = NGX_HTTP_WARDEN_EXACT_NONE;
        }

        if (v.rejected) {
            ctx->hit = (ngx_int_t) i;
            ctx->hv = v;
            break;
        }

        if (ctx->hit == -1 || v.delay_ms > ctx->hv.delay_ms) {
            ctx->hit = (ngx_int_t) i;
            ctx->hv = v;
        }
    }

    ctx->next_limit = wlcf->limits->nelts;
    hit = ctx->hit >= 0 ? &limits[ctx->hit] : NULL;
    hv = ctx->hv;

    if (hit == NULL) {
        return NGX_DECLINED;
    }

    if (wlcf->limit_headers
        && ngx_http_warden_limit_headers(r, hit, &hv, hv.rejected) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (hv.rejected) {
        ngx_log_error(wlcf->limit_log_level, r->connection->log, 0,
                      "limiting requests%s by warden, excess: %L.%03L by zone \"%V\"",
                      wlcf->limit_dry_run ? ", dry run," : "",
                      hv.excess / 1000, hv.excess % 1000, &hit->zone->name);

        p = ngx_snprintf((u_char *) ctx->verdict.reason,
                         sizeof(ctx->verdict.reason) - 1, "limit zone %V",
                         &hit->zone->name);
        ctx->verdict.reason_len = p - (u_char *) ctx->verdict.reason;

        if (wlcf->limit_dry_run) {
            ctx->verdict.decision = NGX_HTTP_WARDEN_LIMIT_DRY_RUN;
            return NGX_DECLINED;
        }

        ctx->verdict.decision = NGX_HTTP_WARDEN_LIMIT;

        if (hit->zone->autoban_zone
            && warden_node_strike(ngx_http_warden_node,
                                  (int) hit->zone->autoban_index,
                                  r->connection->sockaddr, now))
        {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "warden autoban: client banned after %ui strikes "
                          "in zone \"%V\"",
                          hit->zone->strikes, &hit->zone->name);
        }

        p = ngx_pnalloc(r->pool, NGX_INT64_LEN);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        key.data = p;
        key.len = ngx_sprintf(p, "%L", hv.retry_after_ms > 0
                                       ? (hv.retry_after_ms + 999) / 1000 : 1)
                  - p;

        if (ngx_http_warden_add_header(r, &retry_after, &key) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return wlcf->limit_status;
    }

    if (hv.delay_ms <= 0 || wlcf->limit_dry_run) {
        return NGX_DECLINED;
    }

    level = wlcf->limit_log_level == NGX_LOG_INFO ? NGX_LOG_INFO
                                                  : wlcf->limit_log_level + 1;

    ngx_log_error(level, r->connection->log, 0,
                  "delaying request by warden, excess: %L.%03L, by zone \"%V\"",
                  hv.excess / 1000, hv.excess % 1000, &hit->zone->name);

    ctx->verdict.decision = NGX_HTTP_WARDEN_DELAY;
    p = ngx_snprintf((u_char *) ctx->verdict.reason,
                     sizeof(ctx->verdict.reason) - 1, "delay zone %V %Lms",
                     &hit->zone->name, hv.delay_ms);
    ctx->verdict.reason_len = p - (u_char *) ctx->verdict.reason;

    /* as limit_req: hold the request on a timer, the worker goes on */
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_warden_delay;

    r->connection->write->delayed = 1;
    ngx_add_timer(r->connection->write, (ngx_msec_t) hv.delay_ms);

    return NGX_AGAIN;
}


static ngx_int_t
ngx_http_warden_exact_wait(ngx_http_request_t *r, ngx_http_warden_ctx_t *ctx,
    ngx_http_warden_limit_t *limit, ngx_str_t *key, int64_t now,
    ngx_uint_t fail_closed, warden_limit_verdict_t *v)
{
    ngx_http_warden_waiter_t     *w;
    ngx_http_warden_main_conf_t  *wmcf;

    w = ngx_http_warden_waiter_create(r, ctx);
    if (w == NULL) {
        return NGX_ERROR;
    }

    if (!warden_node_limit_exact(ngx_http_warden_node,
                                 (int) limit->zone->index, key->data, key->len,
                                 limit->zone->rate, limit->burst, limit->delay,
                                 now, (int) fail_closed, v,
                                 ngx_http_warden_exact_done, w))
    {
        /* decided here: refused from the mirror, or Redis unavailable */
        w->in_flight = 0;
        return NGX_OK;
    }

    ctx->exact_state = NGX_HTTP_WARDEN_EXACT_WAITING;
    ctx->exact_waiter = w;

    /* one script call for all the requests of this event-loop turn */
    if (!ngx_http_warden_flush_event.posted) {
        ngx_post_event(&ngx_http_warden_flush_event, &ngx_posted_events);
    }

    wmcf = ngx_http_get_module_main_conf(r, ngx_http_warden_module);

    ngx_http_warden_wait(r, ngx_http_warden_exact_resume,
                         (ngx_msec_t) wmcf->redis.timeout_ms);

    return NGX_AGAIN;
}


static void
ngx_http_warden_exact_done(void *data, const warden_limit_verdict_t *verdict,
    int failed)
{
    ngx_http_request_t        *r;
    ngx_http_warden_ctx_t     *ctx;
    ngx_http_warden_waiter_t  *w = data;

    r = ngx_http_warden_waiter_answered(w);
    if (r == NULL) {
        return;
    }

    ctx = w->ctx;

    if (ctx->exact_state != NGX_HTTP_WARDEN_EXACT_WAITING
        || ctx->exact_waiter != w)
    {
        /*
         * The request stopped waiting already, or waits on another limit
         * now: this late answer is for a limit that timed out.
         */
        return;
    }

    if (failed) {
        ctx->exact_state = NGX_HTTP_WARDEN_EXACT_TIMEOUT;

    } else {
        ctx->exact = *verdict;
        ctx->exact_state = NGX_HTTP_WARDEN_EXACT_DONE;
    }

    ngx_http_warden_wake(r);
}


static void
ngx_http_warden_exact_resume(ngx_http_request_t *r)
{
    ngx_http_warden_ctx_t  *ctx;

    ctx = ngx_http_warden_get_ctx(r, 0);

    if (ctx && ctx->exact_state == NGX_HTTP_WARDEN_EXACT_WAITING) {

        if (ngx_http_warden_still_waiting(r)) {
            return;
        }

        /* the timer fired: Redis is too slow for this request */
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "warden: redis did not decide in time, failing %s",
                      "per the warden_limit_fail mode");
        warden_node_exact_timed_out(ngx_http_warden_node);
        ctx->exact_state = NGX_HTTP_WARDEN_EXACT_TIMEOUT;
    }

    ngx_http_warden_resume(r);
}


ngx_http_warden_waiter_t *
ngx_http_warden_waiter_create(ngx_http_request_t *r, void *ctx)
{
    ngx_pool_cleanup_t        *cln;
    ngx_http_warden_waiter_t  *w;

    /* not from the pool: outlives the request if the client leaves first */
    w = ngx_alloc(sizeof(ngx_http_warden_waiter_t), r->connection->log);
    if (w == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        ngx_free(w);
        return NULL;
    }

    w->r = r;
    w->ctx = ctx;
    w->in_flight = 1;

    cln->handler = ngx_http_warden_waiter_cleanup;
    cln->data = w;

    return w;
}


void
ngx_http_warden_wait(ngx_http_request_t *r, ngx_http_event_handler_pt resume,
    ngx_msec_t timeout)
{
    ngx_event_t  *wev;

    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = resume;

    wev = r->connection->write;
    wev->delayed = 1;
    ngx_add_timer(wev, timeout);
}


ngx_http_request_t *
ngx_http_warden_waiter_answered(ngx_http_warden_waiter_t *w)
{
    w->in_flight = 0;

    if (w->r == NULL) {
        /* the request is gone; its pool cleanup left the waiter to us */
        ngx_free(w);
        return NULL;
    }

    return w->r;
}


void
ngx_http_warden_wake(ngx_http_request_t *r)
{
    ngx_event_t  *wev;

    wev = r->connection->write;

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    wev->delayed = 0;

    /* resume from the event loop, not from inside hiredis's callback */
    ngx_post_event(wev, &ngx_posted_events);
}


ngx_uint_t
ngx_http_warden_still_waiting(ngx_http_request_t *r)
{
    ngx_event_t  *wev;

    wev = r->connection->write;

    if (!wev->delayed) {
        /* woken, or the timer fired */
        return 0;
    }

    /* a write event before the answer: keep waiting */
    if (ngx_handle_write_event(wev, 0) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }

    return 1;
}


void
ngx_http_warden_resume(ngx_http_request_t *r)
{
    if (ngx_handle_read_event(r->connection->read, 0) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_core_run_phases;

    ngx_http_core_run_phases(r);
}


static void
ngx_http_warden_waiter_cleanup(void *data)
{
    ngx_http_warden_waiter_t  *w = data;

    if (w->in_flight) {
        /* Redis still owes the answer, which frees the waiter */
        w->r = NULL;
        return;
    }

    ngx_free(w);
}


static ngx_int_t
ngx_http_warden_limit_headers(ngx_http_request_t *r,
    ngx_http_warden_limit_t *limit, warden_limit_verdict_t *v,
    ngx_uint_t rejected)
{
    u_char     *p;
    int64_t     rate, window, quota, remaining, reset;
    ngx_str_t   value;

    static ngx_str_t  policy = ngx_string("RateLimit-Policy");
    static ngx_str_t  state = ngx_string("RateLimit");

    /* draft-ietf-httpapi-ratelimit-headers: the bucket as a quota per window */
    rate = limit->zone->rate;
    window = rate >= 1000 ? 1 : 60;
    quota = rate * window / 1000 + limit->burst / 1000;
    remaining = rejected ? 0 : (limit->burst - v->excess) / 1000;
    if (remaining < 0) {
        remaining = 0;
    }
    reset = rate > 0 ? (v->excess + rate - 1) / rate : 0;

    p = ngx_pnalloc(r->pool, limit->zone->name.len + 2 * NGX_INT64_LEN + 16);
    if (p == NULL) {
        return NGX_ERROR;
    }

    value.data = p;
    value.len = ngx_sprintf(p, "\"%V\";q=%L;w=%L", &limit->zone->name, quota,
                            window)
                - p;

    if (ngx_http_warden_add_header(r, &policy, &value) != NGX_OK) {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(r->pool, limit->zone->name.len + 2 * NGX_INT64_LEN + 16);
    if (p == NULL) {
        return NGX_ERROR;
    }

    value.data = p;
    value.len = ngx_sprintf(p, "\"%V\";r=%L;t=%L", &limit->zone->name,
                            remaining, reset)
                - p;

    return ngx_http_warden_add_header(r, &state, &value);
}


static ngx_int_t
ngx_http_warden_add_header(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key = *name;
    h->value = *value;

    return NGX_OK;
}


static void
ngx_http_warden_delay(ngx_http_request_t *r)
{
    ngx_event_t  *wev;

    wev = r->connection->write;

    if (wev->delayed) {
        if (ngx_handle_write_event(wev, 0) != NGX_OK) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        }

        return;
    }

    if (ngx_handle_read_event(r->connection->read, 0) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_core_run_phases;

    ngx_http_core_run_phases(r);
}


static ngx_int_t
ngx_http_warden_log_handler(ngx_http_request_t *r)
{
    ngx_http_warden_ctx_t  *ctx;

    if (ngx_http_warden_node == NULL) {
        return NGX_OK;
    }

    ctx = ngx_http_warden_get_ctx(r, 0);

    if (ctx && ctx->evaluated) {
        warden_node_count(ngx_http_warden_node, ctx->verdict.decision);

        if (warden_node_counts_traffic(ngx_http_warden_node)) {
            warden_node_count_traffic(ngx_http_warden_node,
                                      r->connection->sockaddr,
                                      ctx->verdict.decision == WARDEN_BLOCK
                                      || ctx->verdict.decision
                                         == NGX_HTTP_WARDEN_LIMIT,
                                      ngx_http_warden_country(r, ctx),
                                      ngx_http_warden_now_ms());
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_warden_status_handler(ngx_http_request_t *r)
{
    size_t        len;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;
    const char   *text;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_warden_node == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    text = warden_node_metrics(ngx_http_warden_node, ngx_http_warden_now_ms(),
                               &len);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->last, text, len);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    ngx_str_set(&r->headers_out.content_type,
                "text/plain; version=0.0.4; charset=utf-8");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = len;

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static char *
ngx_http_warden_top_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_warden_main_conf_t *wmcf = conf;

    ngx_str_t  *value;

    if (wmcf->traffic_size != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        wmcf->traffic_size = 0;
        return NGX_CONF_OK;
    }

    wmcf->traffic_size = ngx_parse_size(&value[1]);

    if (wmcf->traffic_size == NGX_ERROR
        || wmcf->traffic_size < (ssize_t) (8 * ngx_pagesize))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid size \"%V\", expected \"off\" or at "
                           "least 32k", &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_warden_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_warden_status_handler;

    return NGX_CONF_OK;
}


static ngx_http_warden_ctx_t *
ngx_http_warden_get_ctx(ngx_http_request_t *r, ngx_uint_t create)
{
    ngx_pool_cleanup_t     *cln;
    ngx_http_warden_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_warden_module);
    if (ctx) {
        return ctx;
    }

    /*
     * An internal redirect clears module contexts; the pool cleanup keeps the
     * verdict reachable for the error page and the access log (as realip does).
     */
    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_warden_ctx_cleanup) {
            ctx = cln->data;
            ngx_http_set_ctx(r, ctx, ngx_http_warden_module);
            return ctx;
        }
    }

    if (!create) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_warden_ctx_t));
    if (cln == NULL) {
        return NULL;
    }

    ctx = cln->data;
    ngx_memzero(ctx, sizeof(ngx_http_warden_ctx_t));
    cln->handler = ngx_http_warden_ctx_cleanup;

    ngx_http_set_ctx(r, ctx, ngx_http_warden_module);

    return ctx;
}


static void
ngx_http_warden_ctx_cleanup(void *data)
{
    /* only a marker for ngx_http_warden_get_ctx() */
}


static const char *
ngx_http_warden_country(ngx_http_request_t *r, ngx_http_warden_ctx_t *ctx)
{
    ngx_http_warden_main_conf_t  *wmcf;

    if (!ctx->country_done) {
        ctx->country_done = 1;
        wmcf = ngx_http_get_module_main_conf(r, ngx_http_warden_module);

        if (wmcf->geo == NULL
            || !warden_geo_country(wmcf->geo, r->connection->sockaddr,
                                   ctx->country))
        {
            ctx->country[0] = '\0';
        }
    }

    return ctx->country[0] ? ctx->country : NULL;
}


static int64_t
ngx_http_warden_now_ms(void)
{
    ngx_time_t  *tp;

    /* the cached wall clock: expiry times in Redis are Unix milliseconds */
    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
}


ngx_uint_t
ngx_http_warden_redis_configured(ngx_conf_t *cf)
{
    ngx_http_warden_main_conf_t  *wmcf;

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_warden_module);

    return wmcf->redis_set ? 1 : 0;
}


static ngx_int_t
ngx_http_warden_country_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    const char             *country;
    ngx_http_warden_ctx_t  *ctx;

    ctx = ngx_http_warden_get_ctx(r, 1);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    country = ngx_http_warden_country(r, ctx);

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    if (country == NULL) {
        v->len = 1;
        v->data = (u_char *) "-";
        return NGX_OK;
    }

    v->len = 2;
    v->data = (u_char *) ctx->country;

    return NGX_OK;
}


static ngx_int_t
ngx_http_warden_decision_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_warden_ctx_t  *ctx;

    ctx = ngx_http_warden_get_ctx(r, 0);

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    if (ctx == NULL || !ctx->evaluated
        || ctx->verdict.decision < WARDEN_PASS
        || ctx->verdict.decision > NGX_HTTP_WARDEN_LAST_DECISION)
    {
        /* Warden is off where this request was handled */
        v->len = 1;
        v->data = (u_char *) "-";
        return NGX_OK;
    }

    v->len = ngx_http_warden_decisions[ctx->verdict.decision].len;
    v->data = ngx_http_warden_decisions[ctx->verdict.decision].data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_warden_reason_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_warden_ctx_t  *ctx;

    ctx = ngx_http_warden_get_ctx(r, 0);

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    if (ctx == NULL || !ctx->evaluated) {
        v->len = 0;
        v->data = (u_char *) "";
        return NGX_OK;
    }

    v->len = ctx->verdict.reason_len;
    v->data = (u_char *) ctx->verdict.reason;

    return NGX_OK;
}


static char *
ngx_http_warden_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_warden_main_conf_t *wmcf = conf;

    u_char      *p, *addr;
    size_t       len;
    ngx_str_t   *value, s;
    ngx_url_t    u;
    ngx_int_t    n;
    ngx_uint_t   i;

    if (wmcf->redis_set) {
        return "is duplicate";
    }

    value = cf->args->elts;

    wmcf->redis_set = 1;
    wmcf->redis_text = value[1];
    wmcf->redis.timeout_ms = 1000;
    wmcf->redis.prefix = "warden:";

    if (ngx_strncmp(value[1].data, "unix:", 5) == 0) {
        if (value[1].len <= 5) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "missing socket path in \"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }

        p = ngx_pnalloc(cf->pool, value[1].len - 5 + 1);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_cpystrn(p, value[1].data + 5, value[1].len - 5 + 1);
        wmcf->redis.unix_path = (const char *) p;

    } else {
        /* resolved here, once: hiredis would resolve with blocking calls */
        ngx_memzero(&u, sizeof(ngx_url_t));
        u.url = value[1];
        u.default_port = 6379;

        if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
            if (u.err) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "%s in redis address \"%V\"", u.err,
                                   &value[1]);
            }

            return NGX_CONF_ERROR;
        }

        if (u.naddrs == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "cannot resolve redis address \"%V\"",
                               &value[1]);
            return NGX_CONF_ERROR;
        }

        addr = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
        if (addr == NULL) {
            return NGX_CONF_ERROR;
        }

        len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen, addr,
                            NGX_SOCKADDR_STRLEN, 0);

        /* ngx_sock_ntop() brackets IPv6 only when it adds a port */
        addr[len] = '\0';

        wmcf->redis.host = (const char *) addr;
        wmcf->redis.port = (int) ngx_inet_get_port(u.addrs[0].sockaddr);
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "password=", 9) == 0) {
            s.len = value[i].len - 9;
            p = ngx_pnalloc(cf->pool, s.len + 1);
            if (p == NULL) {
                return NGX_CONF_ERROR;
            }

            ngx_cpystrn(p, value[i].data + 9, s.len + 1);
            wmcf->redis.password = (const char *) p;
            continue;
        }

        if (ngx_strncmp(value[i].data, "db=", 3) == 0) {
            n = ngx_atoi(value[i].data + 3, value[i].len - 3);
            if (n == NGX_ERROR || n > 65535) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid redis database \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            wmcf->redis.db = (int) n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "prefix=", 7) == 0) {
            s.len = value[i].len - 7;
            p = ngx_pnalloc(cf->pool, s.len + 1);
            if (p == NULL) {
                return NGX_CONF_ERROR;
            }

            ngx_cpystrn(p, value[i].data + 7, s.len + 1);
            wmcf->redis.prefix = (const char *) p;
            continue;
        }

        if (ngx_strncmp(value[i].data, "timeout=", 8) == 0) {
            s.len = value[i].len - 8;
            s.data = value[i].data + 8;

            n = ngx_parse_time(&s, 0);
            if (n == NGX_ERROR || n == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid redis timeout \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            wmcf->redis.timeout_ms = (int) n;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_warden_geoip(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_warden_main_conf_t *wmcf = conf;

    char                 err[256];
    u_char              *lookup;
    ngx_str_t           *value, path;
    ngx_pool_cleanup_t  *cln;

    if (wmcf->geo) {
        return "is duplicate";
    }

    value = cf->args->elts;
    path = value[1];

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    lookup = NULL;

    if (cf->args->nelts == 3) {
        if (ngx_strncmp(value[2].data, "lookup=", 7) != 0
            || value[2].len == 7)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\", expected "
                               "lookup=path such as lookup=country.iso_code",
                               &value[2]);
            return NGX_CONF_ERROR;
        }

        lookup = ngx_pnalloc(cf->pool, value[2].len - 7 + 1);
        if (lookup == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_cpystrn(lookup, value[2].data + 7, value[2].len - 7 + 1);
    }

    wmcf->geo = warden_geo_open((const char *) path.data,
                                (const char *) lookup, err, sizeof(err));
    if (wmcf->geo == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", err);
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_warden_geo_cleanup;
    cln->data = wmcf->geo;

    return NGX_CONF_OK;
}


static void
ngx_http_warden_geo_cleanup(void *data)
{
    warden_geo_close(data);
}


static char *
ngx_http_warden_allow(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_warden_loc_conf_t *wlcf = conf;

    char        err[256];
    ngx_str_t  *value, *s;
    ngx_uint_t  i;

    if (wlcf->allow == NULL) {
        wlcf->allow = ngx_array_create(cf->pool, 4, sizeof(ngx_str_t));
        if (wlcf->allow == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (warden_cidr_check((const char *) value[i].data, value[i].len, err,
                              sizeof(err))
            != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", err);
            return NGX_CONF_ERROR;
        }

        s = ngx_array_push(wlcf->allow);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        *s = value[i];
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_warden_block_country(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_warden_loc_conf_t *wlcf = conf;

    ngx_str_t  *value, *s;
    ngx_uint_t  i;

    if (wlcf->countries == NULL) {
        wlcf->countries = ngx_array_create(cf->pool, 4, sizeof(ngx_str_t));
        if (wlcf->countries == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len != 2
            || !isalpha(value[i].data[0]) || !isalpha(value[i].data[1]))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid country code \"%V\", expected two "
                               "letters such as \"CN\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        s = ngx_array_push(wlcf->countries);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        *s = value[i];
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_warden_limit_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_warden_main_conf_t *wmcf = conf;

    u_char                            *p;
    size_t                             len;
    ssize_t                            size;
    ngx_str_t                         *value, name, s;
    ngx_int_t                          rate, scale;
    ngx_msec_t                         sync;
    ngx_uint_t                         i;
    ngx_http_warden_limit_zone_t      *zone, **zones;
    ngx_http_compile_complex_value_t   ccv;

    value = cf->args->elts;

    zone = ngx_pcalloc(cf->pool, sizeof(ngx_http_warden_limit_zone_t));
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = &zone->key;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    size = 0;
    rate = 0;
    scale = 1;
    sync = NGX_HTTP_WARDEN_SYNC_UNSET;
    name.len = 0;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {

            name.data = value[i].data + 5;

            p = (u_char *) ngx_strchr(name.data, ':');

            if (p == NULL) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid zone size \"%V\", expected "
                                   "zone=name:size", &value[i]);
                return NGX_CONF_ERROR;
            }

            name.len = p - name.data;

            s.data = p + 1;
            s.len = value[i].data + value[i].len - s.data;

            size = ngx_parse_size(&s);

            if (size == NGX_ERROR) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid zone size \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            if (size < (ssize_t) (8 * ngx_pagesize)) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "zone \"%V\" is too small", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "rate=", 5) == 0) {

            len = value[i].len;
            p = value[i].data + len - 3;

            if (ngx_strncmp(p, "r/s", 3) == 0) {
                scale = 1;
                len -= 3;

            } else if (ngx_strncmp(p, "r/m", 3) == 0) {
                scale = 60;
                len -= 3;
            }

            rate = ngx_atoi(value[i].data + 5, len - 5);
            if (rate <= 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid rate \"%V\", expected rate=Nr/s "
                                   "or rate=Nr/m", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "sync=", 5) == 0) {

            s.data = value[i].data + 5;
            s.len = value[i].len - 5;

            if (s.len == 3 && ngx_strncmp(s.data, "off", 3) == 0) {
                sync = 0;
                continue;
            }

            if (s.len == 5 && ngx_strncmp(s.data, "exact", 5) == 0) {
                sync = NGX_HTTP_WARDEN_SYNC_EXACT;
                continue;
            }

            sync = ngx_parse_time(&s, 0);
            if (sync == (ngx_msec_t) NGX_ERROR || sync < 10) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid sync \"%V\", expected sync=off, "
                                   "sync=exact or an interval of 10ms or more",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have \"zone\" parameter",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (rate == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have \"rate\" parameter",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    zones = wmcf->limit_zones.elts;
    for (i = 0; i < wmcf->limit_zones.nelts; i++) {
        if (zones[i]->name.len == name.len
            && ngx_strncmp(zones[i]->name.data, name.data, name.len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "warden_limit_zone \"%V\" is duplicate", &name);
            return NGX_CONF_ERROR;
        }
    }

    /* NUL-terminated for the core */
    zone->name.len = name.len;
    zone->name.data = ngx_pnalloc(cf->pool, name.len + 1);
    if (zone->name.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_cpystrn(zone->name.data, name.data, name.len + 1);

    zone->rate = rate * 1000 / scale;
    zone->sync = sync;
    zone->index = (ngx_int_t) wmcf->limit_zones.nelts;

    /* our own namespace: limit_req may use the same zone names */
    s.len = sizeof("warden_limit:") - 1 + name.len;
    s.data = ngx_pnalloc(cf->pool, s.len);
    if (s.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_sprintf(s.data, "warden_limit:%V", &name);

    zone->shm_zone = ngx_shared_memory_add(cf, &s, size,
                                           &ngx_http_warden_module);
    if (zone->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    zone->shm_zone->init = ngx_http_warden_init_limit_zone;

    zones = ngx_array_push(&wmcf->limit_zones);
    if (zones == NULL) {
        return NGX_CONF_ERROR;
    }

    *zones = zone;

    return NGX_CONF_OK;
}


static char *
ngx_http_warden_limit_directive(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_warden_loc_conf_t *wlcf = conf;

    ngx_int_t                      burst, delay;
    ngx_str_t                     *value, name;
    ngx_uint_t                     i;
    ngx_http_warden_limit_t       *limit, *limits;
    ngx_http_warden_main_conf_t   *wmcf;
    ngx_http_warden_limit_zone_t  *zone, **zones;

    value = cf->args->elts;

    zone = NULL;
    burst = 0;
    delay = 0;
    name.len = 0;

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_warden_module);

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {
            name.data = value[i].data + 5;
            name.len = value[i].len - 5;
            continue;
        }

        if (ngx_strncmp(value[i].data, "burst=", 6) == 0) {

            burst = ngx_atoi(value[i].data + 6, value[i].len - 6);
            if (burst <= 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid burst value \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "delay=", 6) == 0) {

            delay = ngx_atoi(value[i].data + 6, value[i].len - 6);
            if (delay <= 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid delay value \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strcmp(value[i].data, "nodelay") == 0) {
            delay = NGX_HTTP_WARDEN_NODELAY;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have \"zone\" parameter",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    zones = wmcf->limit_zones.elts;
    for (i = 0; i < wmcf->limit_zones.nelts; i++) {
        if (zones[i]->name.len == name.len
            && ngx_strncmp(zones[i]->name.data, name.data, name.len) == 0)
        {
            zone = zones[i];
            break;
        }
    }

    if (zone == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown warden_limit_zone \"%V\" (declare it "
                           "with warden_limit_zone before it is used)",
                           &name);
        return NGX_CONF_ERROR;
    }

    if (wlcf->limits == NULL) {
        wlcf->limits = ngx_array_create(cf->pool, 2,
                                        sizeof(ngx_http_warden_limit_t));
        if (wlcf->limits == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    limits = wlcf->limits->elts;
    for (i = 0; i < wlcf->limits->nelts; i++) {
        if (limits[i].zone == zone) {
            return "is duplicate";
        }
    }

    limit = ngx_array_push(wlcf->limits);
    if (limit == NULL) {
        return NGX_CONF_ERROR;
    }

    limit->zone = zone;
    limit->burst = burst * 1000;
    limit->delay = delay == NGX_HTTP_WARDEN_NODELAY ? NGX_HTTP_WARDEN_NODELAY
                                                    : delay * 1000;

    return NGX_CONF_OK;
}


static char *
ngx_http_warden_autoban(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_warden_main_conf_t *wmcf = conf;

    ssize_t                        size;
    ngx_int_t                      n;
    ngx_str_t                     *value, name, s;
    ngx_uint_t                     i;
    ngx_msec_t                    *time;
    ngx_http_warden_limit_zone_t  *zone, **zones;

    value = cf->args->elts;

    zone = NULL;
    name.len = 0;
    size = 1024 * 1024;

    for (i = 1; i < cf->args->nelts; i++) {
        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {
            name.data = value[i].data + 5;
            name.len = value[i].len - 5;
            break;
        }
    }

    zones = wmcf->limit_zones.elts;
    for (i = 0; i < wmcf->limit_zones.nelts; i++) {
        if (zones[i]->name.len == name.len
            && ngx_strncmp(zones[i]->name.data, name.data, name.len) == 0)
        {
            zone = zones[i];
            break;
        }
    }

    if (zone == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" needs zone= naming a warden_limit_zone "
                           "declared before it", &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (zone->autoban_zone) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" has an autoban already", &name);
        return NGX_CONF_ERROR;
    }

    zone->strikes = 5;
    zone->findtime = 60000;
    zone->bantime = 600000;
    zone->maxtime = 7 * 24 * 3600 * 1000;
    zone->factor = 200;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {
            continue;
        }

        if (ngx_strncmp(value[i].data, "strikes=", 8) == 0) {
            n = ngx_atoi(value[i].data + 8, value[i].len - 8);
            if (n <= 0 || n > 1000000) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid strikes \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            zone->strikes = (ngx_uint_t) n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "factor=", 7) == 0) {
            n = ngx_atofp(value[i].data + 7, value[i].len - 7, 2);
            if (n < 100 || n > 100000) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid factor \"%V\", expected a number "
                                   "from 1 to 1000", &value[i]);
                return NGX_CONF_ERROR;
            }

            zone->factor = (ngx_uint_t) n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "size=", 5) == 0) {
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;
            size = ngx_parse_size(&s);
            if (size == NGX_ERROR || size < (ssize_t) (8 * ngx_pagesize)) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid size \"%V\", at least 32k",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        time = NULL;
        s.len = 0;

        if (ngx_strncmp(value[i].data, "findtime=", 9) == 0) {
            time = &zone->findtime;
            s.data = value[i].data + 9;
            s.len = value[i].len - 9;

        } else if (ngx_strncmp(value[i].data, "bantime=", 8) == 0) {
            time = &zone->bantime;
            s.data = value[i].data + 8;
            s.len = value[i].len - 8;

        } else if (ngx_strncmp(value[i].data, "maxtime=", 8) == 0) {
            time = &zone->maxtime;
            s.data = value[i].data + 8;
            s.len = value[i].len - 8;
        }

        if (time == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        *time = ngx_parse_time(&s, 0);
        if (*time == (ngx_msec_t) NGX_ERROR || *time < 1000) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid time \"%V\", expected 1s or more "
                               "such as 30s, 10m, 1h, 7d", &value[i]);
            return NGX_CONF_ERROR;
        }
    }

    if (zone->maxtime < zone->bantime) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "maxtime is shorter than bantime");
        return NGX_CONF_ERROR;
    }

    s.len = sizeof("warden_autoban:") - 1 + zone->name.len;
    s.data = ngx_pnalloc(cf->pool, s.len);
    if (s.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_sprintf(s.data, "warden_autoban:%V", &zone->name);

    zone->autoban_zone = ngx_shared_memory_add(cf, &s, size,
                                               &ngx_http_warden_module);
    if (zone->autoban_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    zone->autoban_zone->init = ngx_http_warden_init_limit_zone;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_warden_init_blacklist_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    size_t  slots;

    if (ngx_http_warden_init_region(shm_zone, data, warden_table_format, &slots)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (slots) {
        ngx_log_error(NGX_LOG_NOTICE, shm_zone->shm.log, 0,
                      "warden: warden_blacklist_zone holds up to %uz entries",
                      slots * 4 / 5);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_warden_init_stats_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    size_t  slots;

    return ngx_http_warden_init_region(shm_zone, data, warden_stats_format,
                                       &slots);
}


static ngx_int_t
ngx_http_warden_init_limit_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    size_t  slots;

    return ngx_http_warden_init_region(shm_zone, data, warden_map_format,
                                       &slots);
}


static ngx_int_t
ngx_http_warden_init_region(ngx_shm_zone_t *shm_zone, void *data,
    ngx_http_warden_format_pt format, size_t *slots)
{
    ngx_http_warden_shctx_t  *octx = data;

    size_t                    bytes;
    ngx_slab_pool_t          *shpool;
    ngx_http_warden_shctx_t  *ctx;

    *slots = 0;

    if (octx) {
        /* a reload with the same size: the state carries over as it is */
        shm_zone->data = octx;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        return NGX_OK;
    }

    ctx = ngx_slab_alloc(shpool, sizeof(ngx_http_warden_shctx_t));
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    /* the structure takes every free page but one, in one block */
    if (shpool->pfree < 2) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "warden: zone \"%V\" is too small",
                      &shm_zone->shm.name);
        return NGX_ERROR;
    }

    bytes = (shpool->pfree - 1) * ngx_pagesize;

    ctx->region = ngx_slab_alloc(shpool, bytes);
    if (ctx->region == NULL) {
        return NGX_ERROR;
    }

    *slots = format(ctx->region, bytes);
    if (*slots == 0) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "warden: zone \"%V\" is too small",
                      &shm_zone->shm.name);
        return NGX_ERROR;
    }

    ctx->bytes = bytes;
    shpool->data = ctx;
    shm_zone->data = ctx;

    return NGX_OK;
}


static void
ngx_http_warden_log(void *ctx, int level, const char *msg, size_t len)
{
    ngx_uint_t  nlevel;

    switch (level) {
    case WARDEN_LOG_ERR:
        nlevel = NGX_LOG_ERR;
        break;
    case WARDEN_LOG_WARN:
        nlevel = NGX_LOG_WARN;
        break;
    case WARDEN_LOG_INFO:
        nlevel = NGX_LOG_NOTICE;
        break;
    default:
        nlevel = NGX_LOG_DEBUG;
        break;
    }

    ngx_log_error(nlevel, (ngx_log_t *) ctx, 0, "warden: %*s", len, msg);
}


static int
ngx_http_warden_attach(void *ctx, struct redisAsyncContext *ac)
{
    return ngx_http_warden_redis_attach(ac, ctx) == NGX_OK ? 0 : -1;
}


static void
ngx_http_warden_tick(ngx_event_t *ev)
{
    if (ngx_http_warden_node == NULL) {
        return;
    }

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        /* hand the sync to a worker of the next generation */
        warden_node_shutdown(ngx_http_warden_node);
        return;
    }

    warden_node_tick(ngx_http_warden_node);

    ngx_add_timer(ev, ngx_http_warden_tick_ms);
}


static void
ngx_http_warden_flush(ngx_event_t *ev)
{
    if (ngx_http_warden_node) {
        warden_node_exact_flush(ngx_http_warden_node);
    }
}


static ngx_int_t
ngx_http_warden_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_warden_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static void *
ngx_http_warden_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_warden_main_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_warden_main_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->redis_set = 0;
     *     conf->redis = { 0 };
     *     conf->shm_zone = NULL;
     *     conf->geo = NULL;
     */

    conf->zone_size = NGX_CONF_UNSET_SIZE;
    conf->traffic_size = NGX_CONF_UNSET;

    if (ngx_array_init(&conf->limit_zones, cf->pool, 4,
                       sizeof(ngx_http_warden_limit_zone_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return conf;
}


static char *
ngx_http_warden_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_warden_main_conf_t *wmcf = conf;

    ngx_uint_t                     i;
    ngx_http_warden_limit_zone_t **zones;

    ngx_str_t  name = ngx_string("warden_blacklist");
    ngx_str_t  stats = ngx_string("warden_stats");

    zones = wmcf->limit_zones.elts;
    for (i = 0; i < wmcf->limit_zones.nelts; i++) {
        if (zones[i]->sync == NGX_HTTP_WARDEN_SYNC_UNSET) {
            /* fleet-wide by default when there is a fleet to share with */
            zones[i]->sync = wmcf->redis_set ? 100 : 0;

        }

        if (zones[i]->autoban_zone && !wmcf->redis_set) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "warden_autoban on zone \"%V\" bans through "
                               "the blacklist: it needs \"warden_redis\"",
                               &zones[i]->name);
            return NGX_CONF_ERROR;
        }

        if (zones[i]->sync && !wmcf->redis_set) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "warden_limit_zone \"%V\" syncs with redis, "
                               "but there is no \"warden_redis\"",
                               &zones[i]->name);
            return NGX_CONF_ERROR;
        }
    }

    ngx_conf_init_size_value(wmcf->zone_size, NGX_HTTP_WARDEN_DEFAULT_ZONE);

    if (wmcf->zone_size < NGX_HTTP_WARDEN_MIN_ZONE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "warden_blacklist_zone of %uz bytes is too small, "
                           "at least 64k is needed", wmcf->zone_size);
        return NGX_CONF_ERROR;
    }

    wmcf->stats_zone = ngx_shared_memory_add(cf, &stats,
                                             8 * ngx_pagesize
                                             + warden_stats_region_size(),
                                             &ngx_http_warden_module);
    if (wmcf->stats_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    wmcf->stats_zone->init = ngx_http_warden_init_stats_zone;

    if (!wmcf->redis_set) {
        /* no list to hold: allow list and countries need no shared memory */
        return NGX_CONF_OK;
    }

    wmcf->shm_zone = ngx_shared_memory_add(cf, &name, wmcf->zone_size,
                                           &ngx_http_warden_module);
    if (wmcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    wmcf->shm_zone->init = ngx_http_warden_init_blacklist_zone;

    if (wmcf->traffic_size == NGX_CONF_UNSET) {
        wmcf->traffic_size = 4 * 1024 * 1024;
    }

    if (wmcf->traffic_size) {
        name.len = sizeof("warden_top") - 1;
        name.data = (u_char *) "warden_top";

        wmcf->traffic_zone = ngx_shared_memory_add(cf, &name,
                                                   wmcf->traffic_size,
                                                   &ngx_http_warden_module);
        if (wmcf->traffic_zone == NULL) {
            return NGX_CONF_ERROR;
        }

        wmcf->traffic_zone->init = ngx_http_warden_init_limit_zone;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_warden_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_warden_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_warden_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->allow = NULL;
     *     conf->countries = NULL;
     *     conf->policy = NULL;
     *     conf->limits = NULL;
     */

    conf->enable = NGX_CONF_UNSET;
    conf->block_status = NGX_CONF_UNSET_UINT;
    conf->dry_run = NGX_CONF_UNSET;
    conf->limit_status = NGX_CONF_UNSET_UINT;
    conf->limit_log_level = NGX_CONF_UNSET_UINT;
    conf->limit_dry_run = NGX_CONF_UNSET;
    conf->limit_headers = NGX_CONF_UNSET;
    conf->limit_fail = NGX_CONF_UNSET_UINT;

    return conf;
}


static char *
ngx_http_warden_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_warden_loc_conf_t *prev = parent;
    ngx_http_warden_loc_conf_t *conf = child;

    char                 err[256];
    ngx_str_t           *s;
    ngx_uint_t           i;
    ngx_pool_cleanup_t  *cln;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_uint_value(conf->block_status, prev->block_status,
                              NGX_HTTP_FORBIDDEN);
    ngx_conf_merge_value(conf->dry_run, prev->dry_run, 0);
    ngx_conf_merge_uint_value(conf->limit_status, prev->limit_status,
                              NGX_HTTP_TOO_MANY_REQUESTS);
    ngx_conf_merge_uint_value(conf->limit_log_level, prev->limit_log_level,
                              NGX_LOG_ERR);
    ngx_conf_merge_value(conf->limit_dry_run, prev->limit_dry_run, 0);
    ngx_conf_merge_value(conf->limit_headers, prev->limit_headers, 0);
    ngx_conf_merge_uint_value(conf->limit_fail, prev->limit_fail, 0);

    if (conf->limits == NULL) {
        conf->limits = prev->limits;
    }

    /* lists are inherited only when a level has none of its own, as allow/deny */
    if (conf->allow == NULL) {
        conf->allow = prev->allow;
    }

    if (conf->countries == NULL) {
        conf->countries = prev->countries;
    }

    if (prev->policy && conf->allow == prev->allow
        && conf->countries == prev->countries && conf->dry_run == prev->dry_run)
    {
        conf->policy = prev->policy;
        return NGX_CONF_OK;
    }

    conf->policy = warden_policy_create();
    if (conf->policy == NULL) {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        warden_policy_destroy(conf->policy);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_warden_policy_cleanup;
    cln->data = conf->policy;

    if (conf->allow) {
        s = conf->allow->elts;
        for (i = 0; i < conf->allow->nelts; i++) {
            if (warden_policy_allow(conf->policy, (const char *) s[i].data,
                                    s[i].len, err, sizeof(err))
                != 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", err);
                return NGX_CONF_ERROR;
            }
        }
    }

    if (conf->countries) {
        s = conf->countries->elts;
        for (i = 0; i < conf->countries->nelts; i++) {
            if (warden_policy_block_country(conf->policy,
                                            (const char *) s[i].data,
                                            s[i].len)
                != 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid country code \"%V\"", &s[i]);
                return NGX_CONF_ERROR;
            }
        }
    }

    warden_policy_set_dry_run(conf->policy, conf->dry_run);

    return NGX_CONF_OK;
}


static void
ngx_http_warden_policy_cleanup(void *data)
{
    warden_policy_destroy(data);
}


static ngx_int_t
ngx_http_warden_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    /* preaccess, as limit_req: "satisfy any" must not bypass a block */
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_warden_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_warden_log_handler;

    return NGX_OK;
}


static ngx_int_t
ngx_http_warden_init_process(ngx_cycle_t *cycle)
{
    ngx_int_t                      tick;
    ngx_uint_t                     i;
    ngx_http_warden_shctx_t       *shctx;
    ngx_http_warden_main_conf_t   *wmcf;
    ngx_http_warden_limit_zone_t **zones;

    wmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_warden_module);

    if (wmcf == NULL || wmcf->stats_zone == NULL) {
        return NGX_OK;
    }

    ngx_http_warden_node = warden_node_create((int) ngx_pid,
                                              ngx_http_warden_log,
                                              ngx_http_warden_attach,
                                              cycle->log);
    if (ngx_http_warden_node == NULL) {
        return NGX_ERROR;
    }

    shctx = wmcf->stats_zone->data;

    if (warden_node_attach_stats(ngx_http_warden_node, shctx->region,
                                 shctx->bytes, (int) ngx_worker)
        != 0)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "warden: cannot attach to the stats zone");
        return NGX_ERROR;
    }

    if (wmcf->shm_zone) {
        shctx = wmcf->shm_zone->data;

        if (warden_node_attach_blacklist(ngx_http_warden_node, shctx->region,
                                         shctx->bytes)
            != 0)
        {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                          "warden: cannot attach to the blacklist zone");
            return NGX_ERROR;
        }
    }

    if (wmcf->traffic_zone) {
        shctx = wmcf->traffic_zone->data;

        if (warden_node_attach_traffic(ngx_http_warden_node, shctx->region,
                                       shctx->bytes)
            != 0)
        {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                          "warden: cannot attach to warden_top_zone");
            return NGX_ERROR;
        }
    }

    zones = wmcf->limit_zones.elts;
    for (i = 0; i < wmcf->limit_zones.nelts; i++) {
        shctx = zones[i]->shm_zone->data;

        if (warden_node_add_limit_zone(ngx_http_warden_node,
                                       (const char *) zones[i]->name.data,
                                       shctx->region, shctx->bytes,
                                       zones[i]->rate,
                                       zones[i]->sync == NGX_HTTP_WARDEN_SYNC_EXACT
                                       ? -1 : (int64_t) zones[i]->sync)
            != zones[i]->index)
        {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                          "warden: cannot attach to warden_limit_zone \"%V\"",
                          &zones[i]->name);
            return NGX_ERROR;
        }
    }

    for (i = 0; i < wmcf->limit_zones.nelts; i++) {
        if (zones[i]->autoban_zone == NULL) {
            continue;
        }

        shctx = zones[i]->autoban_zone->data;

        zones[i]->autoban_index = warden_node_add_autoban(
            ngx_http_warden_node, (int) zones[i]->index, shctx->region,
            shctx->bytes, (unsigned) zones[i]->strikes,
            (int64_t) zones[i]->findtime, (int64_t) zones[i]->bantime,
            zones[i]->factor / 100.0, (int64_t) zones[i]->maxtime);

        if (zones[i]->autoban_index < 0) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                          "warden: cannot attach to the autoban zone of \"%V\"",
                          &zones[i]->name);
            return NGX_ERROR;
        }
    }

    if (wmcf->redis_set) {
        warden_node_connect_redis(ngx_http_warden_node, &wmcf->redis);
    }

    tick = (ngx_int_t) warden_node_tick_ms(ngx_http_warden_node);
    ngx_http_warden_tick_ms = tick > 0 ? (ngx_msec_t) tick
                                       : NGX_HTTP_WARDEN_TICK_MS;

    ngx_http_warden_tick_event.handler = ngx_http_warden_tick;
    ngx_http_warden_tick_event.log = cycle->log;
    ngx_http_warden_tick_event.data = ngx_http_warden_node;
    ngx_http_warden_tick_event.cancelable = 1;

    ngx_http_warden_flush_event.handler = ngx_http_warden_flush;
    ngx_http_warden_flush_event.log = cycle->log;
    ngx_http_warden_flush_event.data = ngx_http_warden_node;

    /* the first tick elects a leader and connects */
    ngx_add_timer(&ngx_http_warden_tick_event, 1);

    return NGX_OK;
}


static void
ngx_http_warden_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_http_warden_node == NULL) {
        return;
    }

    if (ngx_http_warden_tick_event.timer_set) {
        ngx_del_timer(&ngx_http_warden_tick_event);
    }

    if (ngx_http_warden_flush_event.posted) {
        ngx_delete_posted_event(&ngx_http_warden_flush_event);
    }

    warden_node_destroy(ngx_http_warden_node);
    ngx_http_warden_node = NULL;
}
