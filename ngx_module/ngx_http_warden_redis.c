
/*
 * Warden: hiredis's async API on nginx's event loop.
 *
 * The socket of a redisAsyncContext gets an nginx connection whose read and write
 * events drive the core's warden_redis_read/write: hiredis's own
 * redisAsyncHandleRead/Write, or for a TLS connection the core's TLS under
 * hiredis. Interest is turned on and off through the ev callbacks. Events are
 * level-triggered: hiredis (and the TLS loop) reads a bounded amount per call, and
 * an edge-triggered event would not fire again for the rest. A plain connection's
 * commands are written at the end of the loop turn that queued them, and wait
 * for epoll only when the socket has no room (ngx_http_warden_redis_add_write).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_warden_redis.h"
#include "core/warden_core.h"


static void ngx_http_warden_redis_read(ngx_event_t *rev);
static void ngx_http_warden_redis_write(ngx_event_t *wev);
static void ngx_http_warden_redis_add_read(void *data);
static void ngx_http_warden_redis_del_read(void *data);
static void ngx_http_warden_redis_add_write(void *data);
static void ngx_http_warden_redis_del_write(void *data);
static void ngx_http_warden_redis_cleanup(void *data);


ngx_int_t
ngx_http_warden_redis_attach(redisAsyncContext *ac, ngx_log_t *log)
{
    ngx_connection_t  *c;

    c = ngx_get_connection(ac->c.fd, log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->data = ac;
    c->read->handler = ngx_http_warden_redis_read;
    c->write->handler = ngx_http_warden_redis_write;
    c->read->log = log;
    c->write->log = log;

    ac->ev.data = c;
    ac->ev.addRead = ngx_http_warden_redis_add_read;
    ac->ev.delRead = ngx_http_warden_redis_del_read;
    ac->ev.addWrite = ngx_http_warden_redis_add_write;
    ac->ev.delWrite = ngx_http_warden_redis_del_write;
    ac->ev.cleanup = ngx_http_warden_redis_cleanup;

    return NGX_OK;
}


static void
ngx_http_warden_redis_read(ngx_event_t *rev)
{
    ngx_connection_t  *c;

    c = rev->data;

    /* the context, and with it c, may be gone when this returns */
    warden_redis_read(c->data);
}


/* set while hiredis writes: a write it could not finish waits for epoll */
static ngx_uint_t  ngx_http_warden_redis_writing;


static void
ngx_http_warden_redis_write(ngx_event_t *wev)
{
    ngx_connection_t  *c;

    c = wev->data;

    ngx_http_warden_redis_writing = 1;
    warden_redis_write(c->data);
    ngx_http_warden_redis_writing = 0;
}


static void
ngx_http_warden_redis_add_read(void *data)
{
    ngx_connection_t  *c = data;

    if (!c->read->active) {
        if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT) != NGX_OK) {
            ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                          "warden: cannot add the redis read event");
        }
    }
}


static void
ngx_http_warden_redis_del_read(void *data)
{
    ngx_connection_t  *c = data;

    if (c->read->active) {
        ngx_del_event(c->read, NGX_READ_EVENT, 0);
    }
}


static void
ngx_http_warden_redis_add_write(void *data)
{
    ngx_connection_t  *c = data;

    if (c->write->active) {
        return;
    }

    /*
     * Commands queued on a plain, connected socket are written at the end of
     * this event-loop turn without asking epoll first: the socket almost always
     * has room, and a batch of commands (an exact limit's script call, once per
     * turn) then costs no epoll_ctl calls and no extra turn. A write that finds
     * no room, a connect in progress and TLS wait for epoll.
     */
    if (!ngx_http_warden_redis_writing && warden_redis_may_write_now(c->data)) {
        ngx_post_event(c->write, &ngx_posted_events);
        return;
    }

    if (ngx_add_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                      "warden: cannot add the redis write event");
    }
}


static void
ngx_http_warden_redis_del_write(void *data)
{
    ngx_connection_t  *c = data;

    if (c->write->active) {
        ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }
}


static void
ngx_http_warden_redis_cleanup(void *data)
{
    ngx_connection_t  *c = data;

    ngx_http_warden_redis_del_read(c);
    ngx_http_warden_redis_del_write(c);

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    /* hiredis closes the socket itself; fd -1 marks pending events stale */
    ngx_free_connection(c);
    c->fd = (ngx_socket_t) -1;
}
