
/*
 * Warden: the shared zones. Each holds one region that the C++ core formats:
 * the blacklist's table, a warden_limit_zone's buckets, an autoban's strikes,
 * warden_top_zone's counters (and the stats, ngx_http_warden_status.c). The
 * master allocates and formats it in init_zone; a reload that keeps a zone's
 * size keeps its state.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_warden.h"


char *
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


ngx_int_t
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


ngx_int_t
ngx_http_warden_init_limit_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    size_t  slots;

    return ngx_http_warden_init_region(shm_zone, data, warden_map_format,
                                       &slots);
}


ngx_int_t
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
