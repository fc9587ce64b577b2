
/*
 * Warden: the worker's side. init_process makes this worker's node (the C++
 * core's view of the shared zones and its Redis connections) and starts its
 * timer; the tick drives the Redis sync; the flush sends the sync=exact
 * requests of one event-loop turn in one call. The core logs and attaches its
 * hiredis connections through the callbacks here.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_warden.h"
#include "ngx_http_warden_redis.h"


#define NGX_HTTP_WARDEN_TICK_MS        100


static void ngx_http_warden_log(void *ctx, int level, const char *msg,
    size_t len);
static int ngx_http_warden_attach(void *ctx, struct redisAsyncContext *ac);
static void ngx_http_warden_tick(ngx_event_t *ev);
static void ngx_http_warden_flush(ngx_event_t *ev);


/* per worker: the node's table and its Redis sync (the cache module uses it) */
warden_worker_t         *ngx_http_warden_worker;
static ngx_event_t     ngx_http_warden_tick_event;
static ngx_msec_t      ngx_http_warden_tick_ms = NGX_HTTP_WARDEN_TICK_MS;
static ngx_event_t     ngx_http_warden_flush_event;


ngx_int_t
ngx_http_warden_init_process(ngx_cycle_t *cycle)
{
    int64_t                        sync;
    ngx_int_t                      tick;
    ngx_uint_t                     i;
    ngx_http_warden_shctx_t       *shctx;
    ngx_http_warden_main_conf_t   *wmcf;
    ngx_http_warden_limit_zone_t **zones;
    ngx_http_warden_behaviour_t  **rules;
    warden_behaviour_conf_t        bconf;
    ngx_core_conf_t               *ccf;

    wmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_warden_module);

    if (wmcf == NULL || wmcf->stats_zone == NULL) {
        return NGX_OK;
    }

    ngx_http_warden_worker = warden_worker_create((int) ngx_pid,
                                              ngx_http_warden_log,
                                              ngx_http_warden_attach,
                                              cycle->log);
    if (ngx_http_warden_worker == NULL) {
        return NGX_ERROR;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    warden_worker_set_node(ngx_http_warden_worker,
                           (const char *) wmcf->node.data, NGINX_VERSION,
                           (int) ccf->worker_processes);

    shctx = wmcf->stats_zone->data;

    if (warden_worker_attach_stats(ngx_http_warden_worker, shctx->region,
                                 shctx->bytes, (int) ngx_worker)
        != 0)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "warden: cannot attach to the stats zone");
        return NGX_ERROR;
    }

    if (wmcf->shm_zone) {
        shctx = wmcf->shm_zone->data;

        if (warden_worker_attach_blacklist(ngx_http_warden_worker, shctx->region,
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

        if (warden_worker_attach_traffic(ngx_http_warden_worker, shctx->region,
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
        shctx = zones[i]->sh;
        sync = zones[i]->sync == NGX_HTTP_WARDEN_SYNC_EXACT
               ? -1 : (int64_t) zones[i]->sync;

        if (warden_worker_add_limit_zone(ngx_http_warden_worker,
                                       (const char *) zones[i]->name.data,
                                       shctx->region, shctx->bytes,
                                       zones[i]->rate, sync)
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

        shctx = zones[i]->autoban_sh;

        zones[i]->autoban_index = warden_worker_add_autoban(
            ngx_http_warden_worker, (int) zones[i]->index, shctx->region,
            shctx->bytes, (unsigned) zones[i]->strikes,
            (int64_t) zones[i]->findtime, (int64_t) zones[i]->ban.bantime,
            zones[i]->ban.factor / 100.0, (int64_t) zones[i]->ban.maxtime,
            (int) zones[i]->ban.ipv6_prefix);

        if (zones[i]->autoban_index < 0) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                          "warden: cannot attach to the autoban zone of \"%V\"",
                          &zones[i]->name);
            return NGX_ERROR;
        }
    }

    rules = wmcf->behaviours.elts;
    for (i = 0; i < wmcf->behaviours.nelts; i++) {
        shctx = rules[i]->sh;

        bconf.name = (const char *) rules[i]->name.data;
        bconf.capacity = (unsigned) rules[i]->capacity;
        bconf.leak_ms = (int64_t) rules[i]->leak;
        bconf.distinct_path = (int) rules[i]->distinct_path;
        bconf.decision = (int) rules[i]->decision;
        bconf.bantime_ms = (int64_t) rules[i]->ban.bantime;
        bconf.factor = rules[i]->ban.factor / 100.0;
        bconf.maxtime_ms = (int64_t) rules[i]->ban.maxtime;
        bconf.ipv6_prefix = (int) rules[i]->ban.ipv6_prefix;
        bconf.ipv4_subnet = (unsigned) rules[i]->ipv4_subnet;

        rules[i]->index = warden_worker_add_behaviour(ngx_http_warden_worker,
                                                      &bconf, shctx->region,
                                                      shctx->bytes);
        if (rules[i]->index < 0) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                          "warden: cannot attach to the zone of "
                          "warden_behaviour \"%V\"", &rules[i]->name);
            return NGX_ERROR;
        }
    }

    if (wmcf->redis_set) {
        warden_worker_connect_redis(ngx_http_warden_worker, wmcf->redis);
    }

    tick = (ngx_int_t) warden_worker_tick_ms(ngx_http_warden_worker);
    ngx_http_warden_tick_ms = tick > 0 ? (ngx_msec_t) tick
                                       : NGX_HTTP_WARDEN_TICK_MS;

    ngx_http_warden_tick_event.handler = ngx_http_warden_tick;
    ngx_http_warden_tick_event.log = cycle->log;
    ngx_http_warden_tick_event.data = ngx_http_warden_worker;
    ngx_http_warden_tick_event.cancelable = 1;

    ngx_http_warden_flush_event.handler = ngx_http_warden_flush;
    ngx_http_warden_flush_event.log = cycle->log;
    ngx_http_warden_flush_event.data = ngx_http_warden_worker;

    /* the first tick elects a leader and connects */
    ngx_add_timer(&ngx_http_warden_tick_event, 1);

    return NGX_OK;
}


void
ngx_http_warden_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_http_warden_worker == NULL) {
        return;
    }

    if (ngx_http_warden_tick_event.timer_set) {
        ngx_del_timer(&ngx_http_warden_tick_event);
    }

    if (ngx_http_warden_flush_event.posted) {
        ngx_delete_posted_event(&ngx_http_warden_flush_event);
    }

    warden_worker_destroy(ngx_http_warden_worker);
    ngx_http_warden_worker = NULL;
}


int64_t
ngx_http_warden_now_ms(void)
{
    ngx_time_t  *tp;

    /* the cached wall clock: expiry times in Redis are Unix milliseconds */
    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
}


void
ngx_http_warden_post_flush(void)
{
    if (!ngx_http_warden_flush_event.posted) {
        ngx_post_event(&ngx_http_warden_flush_event, &ngx_posted_events);
    }
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
    ngx_int_t  next;

    if (ngx_http_warden_worker == NULL) {
        return;
    }

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        /* hand the sync to a worker of the next generation */
        warden_worker_shutdown(ngx_http_warden_worker);
        return;
    }

    warden_worker_tick(ngx_http_warden_worker);

    /* sooner while the worker follows a Redis failover (docs/topology.md) */
    next = (ngx_int_t) warden_worker_next_tick_ms(ngx_http_warden_worker);

    if (next <= 0 || (ngx_msec_t) next > ngx_http_warden_tick_ms) {
        next = (ngx_int_t) ngx_http_warden_tick_ms;
    }

    ngx_add_timer(ev, (ngx_msec_t) next);
}


static void
ngx_http_warden_flush(ngx_event_t *ev)
{
    if (ngx_http_warden_worker) {
        warden_worker_exact_flush(ngx_http_warden_worker);
    }
}
