
/*
 * Warden: warden_status, this node's metrics in Prometheus's text format,
 * and the stats zone the workers count them in.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_warden.h"


static ngx_int_t ngx_http_warden_status_handler(ngx_http_request_t *r);


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

    if (ngx_http_warden_worker == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    text = warden_worker_metrics(ngx_http_warden_worker, ngx_http_warden_now_ms(),
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


char *
ngx_http_warden_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_warden_status_handler;

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_warden_init_stats_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    size_t                    slots;
    ngx_http_warden_shctx_t  *sh;

    if (ngx_http_warden_init_region(shm_zone, data, warden_stats_format, &sh,
                                    &slots)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    shm_zone->data = sh;

    return NGX_OK;
}
