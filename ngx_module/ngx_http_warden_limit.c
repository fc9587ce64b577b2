
/*
 * Warden: the rate limits, warden_limit_zone / warden_limit as limit_req
 * (docs/limits.md): the leaky buckets of the C++ core, the RateLimit and
 * Retry-After headers, the delay on a timer, the wait for Redis under
 * sync=exact, and warden_autoban's strikes. With the directives that
 * configure them.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_warden.h"


#define NGX_HTTP_WARDEN_NODELAY        -1


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
static void ngx_http_warden_exact_resume(ngx_http_request_t *r);
static ngx_int_t ngx_http_warden_parse_ban_time(ngx_conf_t *cf,
    ngx_str_t *value, ngx_str_t *s, ngx_msec_t *time);


ngx_int_t
ngx_http_warden_limit(ngx_http_request_t *r, ngx_http_warden_loc_conf_t *wlcf,
    ngx_http_warden_ctx_t *ctx)
{
    u_char                        *p;
    int64_t                        now;
    ngx_int_t                      rc;
    ngx_str_t                      key;
    ngx_uint_t                     i, level;
    warden_verdict_t               scratch, *record;
    warden_limit_verdict_t         v, hv;
    ngx_http_warden_limit_t       *limits, *limit, *hit;
    ngx_http_warden_limit_zone_t  *zone;

    static ngx_str_t  retry_after = ngx_string("Retry-After");

    if (ngx_http_warden_worker == NULL) {
        return NGX_DECLINED;
    }

    now = ngx_http_warden_now_ms();
    limits = wlcf->limits->elts;

    for (i = ctx->next_limit; i < wlcf->limits->nelts; i++) {
        limit = &limits[i];
        zone = limit->shm_zone->data;

        if (ngx_http_warden_value(r, &zone->key, zone->key_variable, &key)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (key.len == 0) {
            /* as limit_req: an empty key is not limited */
            continue;
        }

        if (zone->sync != NGX_HTTP_WARDEN_SYNC_EXACT) {
            /* (counts the verdict in the zone too) */
            warden_worker_limit(ngx_http_warden_worker, (int) zone->index,
                                key.data, key.len, zone->rate,
                                limit->burst, limit->delay, now,
                                (int) wlcf->limit_dry_run, &v);

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
                ctx->exact.unanswered = 1;
                if (wlcf->limit_fail) {
                    ctx->exact.rejected = 1;
                    ctx->exact.retry_after_ms = 1000;
                }
            }

            v = ctx->exact;
            ctx->exact_state = NGX_HTTP_WARDEN_EXACT_NONE;
        }

        if (zone->sync == NGX_HTTP_WARDEN_SYNC_EXACT) {
            /* each zone counts its own verdict, once per request */
            warden_worker_count_limit(ngx_http_warden_worker, (int) zone->index,
                                      &v, (int) wlcf->limit_dry_run,
                                      (int) wlcf->limit_fail);
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

    if (hit == NULL) {
        /* no limit applied (empty keys): a later location's may */
        return NGX_DECLINED;
    }

    hv = ctx->hv;

    ctx->limited = 1;

    zone = hit->shm_zone->data;

    /*
     * $warden_decision is the main request's: a subrequest's limit stays its
     * own
     */
    record = (r == r->main) ? &ctx->verdict : &scratch;

    if (wlcf->limit_headers
        && ngx_http_warden_limit_headers(r, hit, &hv, hv.rejected) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (hv.rejected) {
        ngx_log_error(wlcf->limit_log_level, r->connection->log, 0,
                      "limiting requests%s by warden, excess: %L.%03L "
                      "by zone \"%V\"",
                      wlcf->limit_dry_run ? ", dry run," : "",
                      hv.excess / 1000, hv.excess % 1000, &zone->name);

        p = ngx_snprintf((u_char *) record->reason,
                         sizeof(record->reason) - 1, "limit zone %V",
                         &zone->name);
        record->reason_len = p - (u_char *) record->reason;

        if (wlcf->limit_dry_run) {
            record->decision = NGX_HTTP_WARDEN_LIMIT_DRY_RUN;
            return NGX_DECLINED;
        }

        record->decision = NGX_HTTP_WARDEN_LIMIT;

        if (zone->autoban_zone
            && warden_worker_strike(ngx_http_warden_worker,
                                  (int) zone->autoban_index,
                                  r->connection->sockaddr, now,
                                  &ctx->strikes))
        {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "warden autoban: client banned after %ui strikes "
                          "in zone \"%V\"",
                          zone->strikes, &zone->name);
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
                  hv.excess / 1000, hv.excess % 1000, &zone->name);

    record->decision = NGX_HTTP_WARDEN_DELAY;
    p = ngx_snprintf((u_char *) record->reason,
                     sizeof(record->reason) - 1, "delay zone %V %Lms",
                     &zone->name, hv.delay_ms);
    record->reason_len = p - (u_char *) record->reason;

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
    ngx_http_warden_waiter_t      *w;
    ngx_http_warden_main_conf_t   *wmcf;
    ngx_http_warden_limit_zone_t  *zone;

    zone = limit->shm_zone->data;

    w = ngx_http_warden_waiter_create(r, ctx);
    if (w == NULL) {
        return NGX_ERROR;
    }

    if (!warden_worker_limit_exact(ngx_http_warden_worker,
                                 (int) zone->index, key->data, key->len,
                                 zone->rate, limit->burst, limit->delay,
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
    ngx_http_warden_post_flush();

    wmcf = ngx_http_get_module_main_conf(r, ngx_http_warden_module);

    ngx_http_warden_wait(r, ngx_http_warden_exact_resume,
                         (ngx_msec_t) warden_redis_timeout_ms(wmcf->redis));

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
        warden_worker_exact_timed_out(ngx_http_warden_worker);
        ctx->exact_state = NGX_HTTP_WARDEN_EXACT_TIMEOUT;
    }

    ngx_http_warden_resume(r);
}


static ngx_int_t
ngx_http_warden_limit_headers(ngx_http_request_t *r,
    ngx_http_warden_limit_t *limit, warden_limit_verdict_t *v,
    ngx_uint_t rejected)
{
    u_char                        *p;
    int64_t                        rate, window, quota, remaining, reset;
    ngx_str_t                      value;
    ngx_http_warden_limit_zone_t  *zone;

    static ngx_str_t  policy = ngx_string("RateLimit-Policy");
    static ngx_str_t  state = ngx_string("RateLimit");

    zone = limit->shm_zone->data;

    /* draft-ietf-httpapi-ratelimit-headers: the bucket as a quota per window */
    rate = zone->rate;
    window = rate >= 1000 ? 1 : 60;
    quota = rate * window / 1000 + limit->burst / 1000;
    remaining = rejected ? 0 : (limit->burst - v->excess) / 1000;
    if (remaining < 0) {
        remaining = 0;
    }
    reset = rate > 0 ? (v->excess + rate - 1) / rate : 0;

    p = ngx_pnalloc(r->pool, zone->name.len + 2 * NGX_INT64_LEN + 16);
    if (p == NULL) {
        return NGX_ERROR;
    }

    value.data = p;
    value.len = ngx_sprintf(p, "\"%V\";q=%L;w=%L", &zone->name, quota,
                            window)
                - p;

    if (ngx_http_warden_add_header(r, &policy, &value) != NGX_OK) {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(r->pool, zone->name.len + 2 * NGX_INT64_LEN + 16);
    if (p == NULL) {
        return NGX_ERROR;
    }

    value.data = p;
    value.len = ngx_sprintf(p, "\"%V\";r=%L;t=%L", &zone->name,
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
    /* a delay ends as a wait for Redis does (ngx_http_warden_wait.c) */
    if (ngx_http_warden_still_waiting(r)) {
        return;
    }

    ngx_http_warden_resume(r);
}


char *
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
    ngx_shm_zone_t                    *shm_zone;
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

    zone->key_variable = ngx_http_warden_single_variable(cf, &value[1]);

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
            if (rate <= 0 || rate > NGX_HTTP_WARDEN_MAX_COUNT) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid rate \"%V\", expected rate=Nr/s "
                                   "or rate=Nr/m with N from 1 to 1000000",
                                   &value[i]);
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
            if (sync == (ngx_msec_t) NGX_ERROR || sync < 10 || sync > 60000) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid sync \"%V\", expected sync=off, "
                                   "sync=exact or an interval from 10ms to 60s",
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

    /*
     * found with size 0 first: a second declaration is a duplicate whatever
     * its size (nginx would only say that the sizes conflict)
     */
    shm_zone = ngx_http_warden_shm_zone(cf, "warden_limit", &name, 0);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "warden_limit_zone \"%V\" is duplicate", &name);
        return NGX_CONF_ERROR;
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

    /* a warden_limit before this line made the zone with size 0 */
    zone->shm_zone = ngx_http_warden_shm_zone(cf, "warden_limit", &name, size);
    if (zone->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    zone->shm_zone->init = ngx_http_warden_init_limit_zone;
    zone->shm_zone->data = zone;

    zones = ngx_array_push(&wmcf->limit_zones);
    if (zones == NULL) {
        return NGX_CONF_ERROR;
    }

    *zones = zone;

    return NGX_CONF_OK;
}


char *
ngx_http_warden_limit_directive(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_warden_loc_conf_t *wlcf = conf;

    ngx_int_t                     burst, delay;
    ngx_str_t                    *value, name;
    ngx_uint_t                    i;
    ngx_shm_zone_t               *shm_zone;
    ngx_http_warden_limit_t      *limit, *limits;
    ngx_http_warden_zone_ref_t   *ref;
    ngx_http_warden_main_conf_t  *wmcf;

    value = cf->args->elts;

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
            if (burst <= 0 || burst > NGX_HTTP_WARDEN_MAX_COUNT) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid burst value \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "delay=", 6) == 0) {

            delay = ngx_atoi(value[i].data + 6, value[i].len - 6);
            if (delay <= 0 || delay > NGX_HTTP_WARDEN_MAX_COUNT) {
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

    shm_zone = ngx_http_warden_shm_zone(cf, "warden_limit", &name, 0);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (shm_zone->data == NULL) {
        /* declared further on, or never: init_main_conf will tell */
        ref = ngx_array_push(&wmcf->zone_refs);
        if (ref == NULL) {
            return NGX_CONF_ERROR;
        }

        ref->shm_zone = shm_zone;
        ref->name = name;
        ref->file = cf->conf_file->file.name;
        ref->line = cf->conf_file->line;
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
        if (limits[i].shm_zone == shm_zone) {
            return "is duplicate";
        }
    }

    limit = ngx_array_push(wlcf->limits);
    if (limit == NULL) {
        return NGX_CONF_ERROR;
    }

    limit->shm_zone = shm_zone;
    limit->burst = burst * 1000;
    limit->delay = delay == NGX_HTTP_WARDEN_NODELAY ? NGX_HTTP_WARDEN_NODELAY
                                                    : delay * 1000;

    return NGX_CONF_OK;
}


char *
ngx_http_warden_autoban(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ssize_t                        size;
    ngx_int_t                      n, rc;
    ngx_str_t                     *value, name, s;
    ngx_uint_t                     i;
    ngx_shm_zone_t                *shm_zone;
    ngx_http_warden_limit_zone_t  *zone;

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

    if (name.len) {
        shm_zone = ngx_http_warden_shm_zone(cf, "warden_limit", &name, 0);
        if (shm_zone == NULL) {
            return NGX_CONF_ERROR;
        }

        zone = shm_zone->data;
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
    ngx_http_warden_ban_init(&zone->ban);

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

        rc = ngx_http_warden_parse_ban(cf, &value[i], &zone->ban);
        if (rc == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

        if (rc == NGX_OK) {
            continue;
        }

        rc = ngx_http_warden_parse_zone_size(cf, &value[i], &size);
        if (rc == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

        if (rc == NGX_OK) {
            continue;
        }

        if (ngx_strncmp(value[i].data, "findtime=", 9) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        s.data = value[i].data + 9;
        s.len = value[i].len - 9;
        if (ngx_http_warden_parse_ban_time(cf, &value[i], &s, &zone->findtime)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_http_warden_check_ban(cf, &zone->ban) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    zone->autoban_zone = ngx_http_warden_shm_zone(cf, "warden_autoban",
                                                  &zone->name, size);
    if (zone->autoban_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    zone->autoban_zone->init = ngx_http_warden_init_autoban_zone;
    zone->autoban_zone->data = zone;

    return NGX_CONF_OK;
}


void
ngx_http_warden_ban_init(ngx_http_warden_ban_t *ban)
{
    ban->bantime = 600000;
    ban->maxtime = (ngx_msec_t) 7 * 24 * 3600 * 1000;
    ban->factor = 200;
    ban->ipv6_prefix = 64;
}


/*
 * One of the parameters of a ban (bantime=, maxtime=, factor=, ipv6_prefix=):
 * NGX_OK when "value" was one, NGX_DECLINED when it is another parameter,
 * NGX_ERROR when it was one with a bad value (logged).
 */

ngx_int_t
ngx_http_warden_parse_ban(ngx_conf_t *cf, ngx_str_t *value,
    ngx_http_warden_ban_t *ban)
{
    ngx_int_t    n;
    ngx_str_t    s;
    ngx_msec_t  *time;

    if (ngx_strncmp(value->data, "ipv6_prefix=", 12) == 0) {
        n = ngx_atoi(value->data + 12, value->len - 12);
        if (n < 16 || n > 128) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid ipv6_prefix \"%V\", expected 16 to "
                               "128 (64: a client's /64)", value);
            return NGX_ERROR;
        }

        ban->ipv6_prefix = (ngx_uint_t) n;
        return NGX_OK;
    }

    if (ngx_strncmp(value->data, "factor=", 7) == 0) {
        n = ngx_atofp(value->data + 7, value->len - 7, 2);
        if (n < 100 || n > 100000) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid factor \"%V\", expected a number "
                               "from 1 to 1000", value);
            return NGX_ERROR;
        }

        ban->factor = (ngx_uint_t) n;
        return NGX_OK;
    }

    if (ngx_strncmp(value->data, "bantime=", 8) == 0) {
        time = &ban->bantime;

    } else if (ngx_strncmp(value->data, "maxtime=", 8) == 0) {
        time = &ban->maxtime;

    } else {
        return NGX_DECLINED;
    }

    s.data = value->data + 8;
    s.len = value->len - 8;

    return ngx_http_warden_parse_ban_time(cf, value, &s, time);
}


/* "s", the time in the parameter "value": 1s to 365d */

static ngx_int_t
ngx_http_warden_parse_ban_time(ngx_conf_t *cf, ngx_str_t *value, ngx_str_t *s,
    ngx_msec_t *time)
{
    *time = ngx_parse_time(s, 0);

    if (*time == (ngx_msec_t) NGX_ERROR || *time < 1000
        || *time > (ngx_msec_t) 365 * 24 * 3600 * 1000)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid time \"%V\", expected 1s to 365d "
                           "such as 30s, 10m, 1h, 7d", value);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * size= of the shared memory zone warden_autoban and warden_behaviour keep
 * their counts in: NGX_OK, NGX_DECLINED (another parameter) or NGX_ERROR.
 */

ngx_int_t
ngx_http_warden_parse_zone_size(ngx_conf_t *cf, ngx_str_t *value,
    ssize_t *size)
{
    ngx_str_t  s;

    if (ngx_strncmp(value->data, "size=", 5) != 0) {
        return NGX_DECLINED;
    }

    s.data = value->data + 5;
    s.len = value->len - 5;
    *size = ngx_parse_size(&s);

    if (*size == NGX_ERROR || *size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid size \"%V\", at least 32k", value);
        return NGX_ERROR;
    }

    return NGX_OK;
}


char *
ngx_http_warden_check_ban(ngx_conf_t *cf, ngx_http_warden_ban_t *ban)
{
    if (ban->maxtime < ban->bantime) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "maxtime is shorter than bantime");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}
