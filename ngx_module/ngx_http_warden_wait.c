
/*
 * Warden: the one wait for one Redis reply, shared by the exact rate limits
 * (sync=exact, ngx_http_warden_limit.c) and warden_cache_serve
 * (ngx_http_warden_cache.c). The API and how a wait goes are described in
 * ngx_http_warden.h.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_warden.h"


static ngx_http_warden_waiter_t *ngx_http_warden_waiter_alloc(ngx_log_t *log);
static void ngx_http_warden_waiter_free(ngx_http_warden_waiter_t *w);
static void ngx_http_warden_waiter_cleanup(void *data);


/*
 * Waiters are recycled: a busy exact zone takes one per request, and a list
 * of spares costs less than malloc and free each time. Bounded, so that a
 * burst does not keep its memory.
 */
#define NGX_HTTP_WARDEN_SPARE_WAITERS  512

static ngx_http_warden_waiter_t  *ngx_http_warden_spare_waiters;
static ngx_uint_t                 ngx_http_warden_nspare_waiters;


ngx_http_warden_waiter_t *
ngx_http_warden_waiter_create(ngx_http_request_t *r, void *ctx)
{
    ngx_pool_cleanup_t        *cln;
    ngx_http_warden_waiter_t  *w;

    /* not from the pool: outlives the request if the client leaves first */
    w = ngx_http_warden_waiter_alloc(r->connection->log);
    if (w == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        ngx_http_warden_waiter_free(w);
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
        ngx_http_warden_waiter_free(w);
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

    ngx_http_warden_waiter_free(w);
}


static ngx_http_warden_waiter_t *
ngx_http_warden_waiter_alloc(ngx_log_t *log)
{
    ngx_http_warden_waiter_t  *w;

    w = ngx_http_warden_spare_waiters;

    if (w != NULL) {
        /* a spare's ctx links the list */
        ngx_http_warden_spare_waiters = w->ctx;
        ngx_http_warden_nspare_waiters--;
        return w;
    }

    return ngx_alloc(sizeof(ngx_http_warden_waiter_t), log);
}


static void
ngx_http_warden_waiter_free(ngx_http_warden_waiter_t *w)
{
    if (ngx_http_warden_nspare_waiters >= NGX_HTTP_WARDEN_SPARE_WAITERS) {
        ngx_free(w);
        return;
    }

    w->r = NULL;
    w->ctx = ngx_http_warden_spare_waiters;
    ngx_http_warden_spare_waiters = w;
    ngx_http_warden_nspare_waiters++;
}
