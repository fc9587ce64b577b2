
/*
 * Warden: what the module's C files share.
 */


#ifndef _NGX_HTTP_WARDEN_H_INCLUDED_
#define _NGX_HTTP_WARDEN_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "core/warden_core.h"


extern ngx_module_t    ngx_http_warden_module;

/* this worker's node, made in init_process; NULL in the master */
extern warden_node_t  *ngx_http_warden_node;

ngx_uint_t ngx_http_warden_redis_configured(ngx_conf_t *cf);


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
