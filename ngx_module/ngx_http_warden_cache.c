
/*
 * Warden: warden_cache_serve, values warmed by `warden cache warm` served at
 * the edge (docs/cache.md).
 *
 * A request to a location with warden_cache_serve waits, the worker does not,
 * for one HMGET on the worker's request-path Redis connection (the one
 * sync=exact uses, with its deadline and circuit breaker). A hit is answered
 * here: 200 with the stored body, ETag, Age, or 304 through nginx's own
 * not_modified filter. A miss, a malformed value, a slow or absent Redis all
 * go on to the location's content handler (proxy_pass and so on).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "core/warden_core.h"
#include "ngx_http_warden.h"


/* a request's wait for Redis */
#define NGX_HTTP_WARDEN_CACHE_NONE     0
#define NGX_HTTP_WARDEN_CACHE_WAITING  1
#define NGX_HTTP_WARDEN_CACHE_DONE     2
#define NGX_HTTP_WARDEN_CACHE_DECIDED  3


typedef struct {
    ngx_uint_t                   enabled;      /* a location serves values */
    ngx_str_t                    file;         /* where, for nginx -t */
    ngx_uint_t                   line;
} ngx_http_warden_cache_main_conf_t;


typedef struct {
    ngx_http_complex_value_t    *key;          /* NULL: off */
} ngx_http_warden_cache_loc_conf_t;


typedef struct {
    ngx_uint_t                   state;
    ngx_int_t                    result;       /* WARDEN_CACHE_*, or -1 */
    ngx_str_t                    body;
    ngx_str_t                    etag;
    ngx_str_t                    content_type;
    int64_t                      computed_at;
} ngx_http_warden_cache_ctx_t;


static ngx_int_t ngx_http_warden_cache_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_warden_cache_wait(ngx_http_request_t *r,
    ngx_http_warden_cache_ctx_t *ctx, ngx_str_t *key);
static void ngx_http_warden_cache_done(void *data, int result,
    const warden_cache_value_t *value);
static void ngx_http_warden_cache_resume(ngx_http_request_t *r);
static ngx_int_t ngx_http_warden_cache_send(ngx_http_request_t *r,
    ngx_http_warden_cache_ctx_t *ctx);
static ngx_int_t ngx_http_warden_cache_decided(ngx_http_request_t *r,
    ngx_http_warden_cache_ctx_t *ctx, ngx_int_t result);
static ngx_int_t ngx_http_warden_cache_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

static char *ngx_http_warden_cache_serve(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_warden_cache_add_variables(ngx_conf_t *cf);
static void *ngx_http_warden_cache_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_warden_cache_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_warden_cache_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_int_t ngx_http_warden_cache_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_warden_cache_init_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_warden_cache_commands[] = {

    { ngx_string("warden_cache_serve"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_warden_cache_serve,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_warden_cache_module_ctx = {
    ngx_http_warden_cache_add_variables,   /* preconfiguration */
    ngx_http_warden_cache_init,            /* postconfiguration */

    ngx_http_warden_cache_create_main_conf, /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_warden_cache_create_loc_conf, /* create location configuration */
    ngx_http_warden_cache_merge_loc_conf   /* merge location configuration */
};


ngx_module_t  ngx_http_warden_cache_module = {
    NGX_MODULE_V1,
    &ngx_http_warden_cache_module_ctx,     /* module context */
    ngx_http_warden_cache_commands,        /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_warden_cache_init_process,    /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_http_warden_cache_vars[] = {

    { ngx_string("warden_cache"), NULL,
      ngx_http_warden_cache_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


/* indexed by WARDEN_CACHE_* */
static ngx_str_t  ngx_http_warden_cache_results[] = {
    ngx_string("HIT"),
    ngx_string("REVALIDATED"),
    ngx_string("MISS"),
    ngx_string("MALFORMED"),
    ngx_string("ERROR"),
    ngx_string("BYPASS")
};


static ngx_int_t
ngx_http_warden_cache_handler(ngx_http_request_t *r)
{
    ngx_str_t                          key;
    ngx_int_t                          rc;
    ngx_http_warden_cache_ctx_t       *ctx;
    ngx_http_warden_cache_loc_conf_t  *wclcf;

    wclcf = ngx_http_get_module_loc_conf(r, ngx_http_warden_cache_module);

    if (wclcf->key == NULL) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_warden_cache_module);

    if (ctx) {
        if (ctx->state == NGX_HTTP_WARDEN_CACHE_WAITING) {
            /* run early: the wait owns the write event until the answer */
            return NGX_AGAIN;
        }

        if (ctx->state != NGX_HTTP_WARDEN_CACHE_DONE) {
            /* decided already: this location's content handler serves */
            return NGX_DECLINED;
        }

        /* back from the wait, run again by ngx_http_core_run_phases() */

        if (ctx->result != WARDEN_CACHE_HIT) {
            return ngx_http_warden_cache_decided(r, ctx, ctx->result);
        }

        /* as the content phase does: the answer is complete here */
        r->write_event_handler = ngx_http_request_empty_handler;
        ngx_http_finalize_request(r, ngx_http_warden_cache_send(r, ctx));

        return NGX_DONE;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_warden_cache_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->result = -1;
    ngx_http_set_ctx(r, ctx, ngx_http_warden_cache_module);

    /*
     * Only what a cache may answer (RFC 9110, 9.2.3). Subrequests share the
     * client connection's write event, which the wait below takes over: they
     * go to the backend.
     */
    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) || r != r->main) {
        return ngx_http_warden_cache_decided(r, ctx, WARDEN_CACHE_BYPASS);
    }

    if (ngx_http_complex_value(r, wclcf->key, &key) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (key.len == 0) {
        return ngx_http_warden_cache_decided(r, ctx, WARDEN_CACHE_BYPASS);
    }

    if (ngx_http_warden_worker == NULL) {
        return ngx_http_warden_cache_decided(r, ctx, WARDEN_CACHE_ERROR);
    }

    rc = ngx_http_warden_cache_wait(r, ctx, &key);

    if (rc == NGX_DECLINED) {
        /* no connection, or the circuit is open: nobody waits for Redis */
        return ngx_http_warden_cache_decided(r, ctx, WARDEN_CACHE_ERROR);
    }

    return rc;
}


static ngx_int_t
ngx_http_warden_cache_wait(ngx_http_request_t *r,
    ngx_http_warden_cache_ctx_t *ctx, ngx_str_t *key)
{
    int64_t                    timeout;
    ngx_http_warden_waiter_t  *w;

    w = ngx_http_warden_waiter_create(r, ctx);
    if (w == NULL) {
        return NGX_ERROR;
    }

    if (!warden_worker_cache_get(ngx_http_warden_worker, (const char *) key->data,
                               key->len, ngx_http_warden_cache_done, w))
    {
        w->in_flight = 0;
        return NGX_DECLINED;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "warden cache lookup \"%V\"", key);

    ctx->state = NGX_HTTP_WARDEN_CACHE_WAITING;

    timeout = warden_worker_redis_timeout_ms(ngx_http_warden_worker);

    ngx_http_warden_wait(r, ngx_http_warden_cache_resume,
                         (ngx_msec_t) (timeout > 0 ? timeout : 1000));

    return NGX_AGAIN;
}


static void
ngx_http_warden_cache_done(void *data, int result,
    const warden_cache_value_t *value)
{
    u_char                       *p;
    ngx_http_request_t           *r;
    ngx_http_warden_waiter_t     *w = data;
    ngx_http_warden_cache_ctx_t  *ctx;

    r = ngx_http_warden_waiter_answered(w);
    if (r == NULL) {
        return;
    }

    ctx = w->ctx;

    if (ctx->state != NGX_HTTP_WARDEN_CACHE_WAITING) {
        /* the request gave up waiting, and went to the backend */
        return;
    }

    ctx->result = result;

    if (result == WARDEN_CACHE_HIT) {
        /* the value lives only during this call */
        p = ngx_pnalloc(r->pool, value->body_len + value->etag_len
                                 + value->content_type_len);

        if (p == NULL) {
            ctx->result = WARDEN_CACHE_ERROR;

        } else {
            ctx->body.data = p;
            ctx->body.len = value->body_len;
            p = ngx_cpymem(p, value->body, value->body_len);

            ctx->etag.data = p;
            ctx->etag.len = value->etag_len;
            p = ngx_cpymem(p, value->etag, value->etag_len);

            ctx->content_type.data = p;
            ctx->content_type.len = value->content_type_len;
            ngx_memcpy(p, value->content_type, value->content_type_len);

            ctx->computed_at = value->computed_at_ms;
        }
    }

    ctx->state = NGX_HTTP_WARDEN_CACHE_DONE;

    ngx_http_warden_wake(r);
}


static void
ngx_http_warden_cache_resume(ngx_http_request_t *r)
{
    ngx_http_warden_cache_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_warden_cache_module);

    if (ctx && ctx->state == NGX_HTTP_WARDEN_CACHE_WAITING) {

        if (ngx_http_warden_still_waiting(r)) {
            return;
        }

        /*
         * The timer fired: Redis is too slow for this request. The
         * connection's deadline drops it soon, which counts against the
         * circuit, so the next requests do not wait at all.
         */
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "warden: redis did not answer the cache lookup in time, "
                      "passing the request to the backend");

        ctx->result = WARDEN_CACHE_ERROR;
        ctx->state = NGX_HTTP_WARDEN_CACHE_DONE;
    }

    ngx_http_warden_resume(r);
}


static ngx_int_t
ngx_http_warden_cache_send(ngx_http_request_t *r,
    ngx_http_warden_cache_ctx_t *ctx)
{
    u_char            *p;
    int64_t            age;
    ngx_int_t          rc;
    ngx_buf_t         *b;
    ngx_time_t        *tp;
    ngx_chain_t        out;
    ngx_table_elt_t   *h;

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_type = ctx->content_type;
    r->headers_out.content_type_len = ctx->content_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.content_length_n = ctx->body.len;

    /* the ETag validates; no Last-Modified, so If-Modified-Since is moot */
    r->headers_out.last_modified_time = -1;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "ETag");
    h->value = ctx->etag;

    /* the not_modified filter answers If-None-Match (*, lists, W/) with 304 */
    r->headers_out.etag = h;

    /* RFC 9111, 5.1: how long ago the sidecar computed the value */
    tp = ngx_timeofday();
    age = ((int64_t) tp->sec * 1000 + (int64_t) tp->msec - ctx->computed_at)
          / 1000;

    p = ngx_pnalloc(r->pool, NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Age");
    h->value.data = p;
    h->value.len = ngx_sprintf(p, "%L", age > 0 ? age : 0) - p;

    rc = ngx_http_send_header(r);

    (void) ngx_http_warden_cache_decided(r, ctx,
                                         r->headers_out.status
                                         == NGX_HTTP_NOT_MODIFIED
                                         ? WARDEN_CACHE_REVALIDATED
                                         : WARDEN_CACHE_HIT);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = ctx->body.data;
    b->last = ctx->body.data + ctx->body.len;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_warden_cache_decided(ngx_http_request_t *r,
    ngx_http_warden_cache_ctx_t *ctx, ngx_int_t result)
{
    ctx->state = NGX_HTTP_WARDEN_CACHE_DECIDED;
    ctx->result = result;

    if (ngx_http_warden_worker) {
        warden_worker_count_cache(ngx_http_warden_worker, (int) result);
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "warden cache: %V", &ngx_http_warden_cache_results[result]);

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_warden_cache_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_warden_cache_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_warden_cache_module);

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    if (ctx == NULL || ctx->result < 0
        || ctx->result > WARDEN_CACHE_BYPASS)
    {
        /* no warden_cache_serve where this request was handled */
        v->len = 1;
        v->data = (u_char *) "-";
        return NGX_OK;
    }

    v->len = ngx_http_warden_cache_results[ctx->result].len;
    v->data = ngx_http_warden_cache_results[ctx->result].data;

    return NGX_OK;
}


static char *
ngx_http_warden_cache_serve(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_warden_cache_loc_conf_t *wclcf = conf;

    ngx_str_t                          *value;
    ngx_http_compile_complex_value_t    ccv;
    ngx_http_warden_cache_main_conf_t  *wcmcf;

    if (wclcf->key != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        wclcf->key = NULL;
        return NGX_CONF_OK;
    }

    if (value[1].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "empty key, expected the Redis key of a [[cache]] "
                           "entry such as \"warden:cache:top-books\"");
        return NGX_CONF_ERROR;
    }

    wclcf->key = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (wclcf->key == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = wclcf->key;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    wcmcf = ngx_http_conf_get_module_main_conf(cf,
                                               ngx_http_warden_cache_module);

    if (!wcmcf->enabled) {
        wcmcf->enabled = 1;
        wcmcf->file = cf->conf_file->file.name;
        wcmcf->line = cf->conf_file->line;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_warden_cache_add_variables(ngx_conf_t *cf)
{
    return ngx_http_warden_register_variables(cf, ngx_http_warden_cache_vars);
}


static void *
ngx_http_warden_cache_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_warden_cache_main_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_warden_cache_main_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->enabled = 0;
     *     conf->file = { 0, NULL };
     *     conf->line = 0;
     */

    return conf;
}


static void *
ngx_http_warden_cache_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_warden_cache_loc_conf_t  *conf;

    conf = ngx_palloc(cf->pool, sizeof(ngx_http_warden_cache_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->key = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_http_warden_cache_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_warden_cache_loc_conf_t *prev = parent;
    ngx_http_warden_cache_loc_conf_t *conf = child;

    /* nested locations (and "if" blocks) serve the same value unless "off" */
    ngx_conf_merge_ptr_value(conf->key, prev->key, NULL);

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_warden_cache_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt                *h;
    ngx_http_core_main_conf_t          *cmcf;
    ngx_http_warden_cache_main_conf_t  *wcmcf;

    wcmcf = ngx_http_conf_get_module_main_conf(cf,
                                               ngx_http_warden_cache_module);

    if (!wcmcf->enabled) {
        return NGX_OK;
    }

    if (!ngx_http_warden_redis_configured(cf)) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"warden_cache_serve\" in %V:%ui reads the value from "
                      "redis, but there is no \"warden_redis\"",
                      &wcmcf->file, wcmcf->line);
        return NGX_ERROR;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    /*
     * Precontent: after the rewrite phase chose the location, after Warden's
     * blacklist and limits (preaccess) and after allow/deny, auth_basic and
     * auth_request (access), so a cached answer is refused exactly as the
     * backend's would be; and before the content handler, which serves when
     * this handler declines. The access phase would not do: it runs under
     * "satisfy any", and its handlers' order is not ours to choose.
     */
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_warden_cache_handler;

    return NGX_OK;
}


static ngx_int_t
ngx_http_warden_cache_init_process(ngx_cycle_t *cycle)
{
    ngx_http_warden_cache_main_conf_t  *wcmcf;

    wcmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                                ngx_http_warden_cache_module);

    if (wcmcf == NULL || !wcmcf->enabled || ngx_http_warden_worker == NULL) {
        return NGX_OK;
    }

    /* ngx_http_warden_module's init_process, listed first, made the node */
    warden_worker_enable_cache(ngx_http_warden_worker);

    return NGX_OK;
}
