
/*
 * Warden: what the module's C files share.
 */


#ifndef _NGX_HTTP_WARDEN_H_INCLUDED_
#define _NGX_HTTP_WARDEN_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "warden_core.h"


extern ngx_module_t    ngx_http_warden_module;

/* this worker's node, made in init_process; NULL in the master */
extern warden_node_t  *ngx_http_warden_node;

ngx_uint_t ngx_http_warden_redis_configured(ngx_conf_t *cf);


#endif /* _NGX_HTTP_WARDEN_H_INCLUDED_ */
