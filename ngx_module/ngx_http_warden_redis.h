
/*
 * Warden: hiredis's async API on nginx's event loop.
 */


#ifndef _NGX_HTTP_WARDEN_REDIS_H_INCLUDED_
#define _NGX_HTTP_WARDEN_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <hiredis/async.h>


ngx_int_t ngx_http_warden_redis_attach(redisAsyncContext *ac, ngx_log_t *log);


#endif /* _NGX_HTTP_WARDEN_REDIS_H_INCLUDED_ */
