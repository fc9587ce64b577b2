
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


/*
 * A zone by name in Warden's own namespace ("warden_limit:api"): limit_req
 * may use the same zone names. As limit_req, a directive that names a zone
 * gets it with size 0 and the directive that declares it gives its size,
 * whichever comes first; a zone never declared is caught by the callers.
 */

ngx_shm_zone_t *
ngx_http_warden_shm_zone(ngx_conf_t *cf, char *ns, ngx_str_t *name,
    size_t size)
{
    ngx_str_t  s;

    s.len = ngx_strlen(ns) + 1 + name->len;
    s.data = ngx_pnalloc(cf->pool, s.len);
    if (s.data == NULL) {
        return NULL;
    }

    ngx_sprintf(s.data, "%s:%V", ns, name);

    return ngx_shared_memory_add(cf, &s, size, &ngx_http_warden_module);
}


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
    size_t                    slots;
    ngx_http_warden_shctx_t  *sh;

    if (ngx_http_warden_init_region(shm_zone, data, warden_table_format, &sh,
                                    &slots)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    shm_zone->data = sh;

    if (slots) {
        ngx_log_error(NGX_LOG_NOTICE, shm_zone->shm.log, 0,
                      "warden: warden_blacklist_zone holds up to %uz entries",
                      slots * 4 / 5);
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_warden_init_top_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    size_t                    slots;
    ngx_http_warden_shctx_t  *sh;

    if (ngx_http_warden_init_region(shm_zone, data, warden_map_format, &sh,
                                    &slots)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    shm_zone->data = sh;

    return NGX_OK;
}


/*
 * A limit zone's shm_zone->data is its ngx_http_warden_limit_zone_t, set by
 * the directive (a warden_limit finds it there); init_zone gives it the
 * buckets. A reload keeps the buckets only for the same key, as limit_req.
 */

ngx_int_t
ngx_http_warden_init_limit_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_warden_limit_zone_t  *ozone = data;

    size_t                         slots;
    ngx_http_warden_limit_zone_t  *zone;

    zone = shm_zone->data;

    if (ozone == NULL) {
        return ngx_http_warden_init_region(shm_zone, NULL, warden_map_format,
                                           &zone->sh, &slots);
    }

    if (zone->key.value.len != ozone->key.value.len
        || ngx_strncmp(zone->key.value.data, ozone->key.value.data,
                       zone->key.value.len)
           != 0)
    {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "warden_limit_zone \"%V\" uses the \"%V\" key "
                      "while previously it used the \"%V\" key",
                      &zone->name, &zone->key.value, &ozone->key.value);
        return NGX_ERROR;
    }

    return ngx_http_warden_init_region(shm_zone, ozone->sh, warden_map_format,
                                       &zone->sh, &slots);
}


/*
 * An autoban's shm_zone->data is its limit zone's
 * ngx_http_warden_limit_zone_t too; the strikes are counted per client
 * address, whatever the limit's key.
 */

ngx_int_t
ngx_http_warden_init_autoban_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_warden_limit_zone_t  *ozone = data;

    size_t                         slots;
    ngx_http_warden_limit_zone_t  *zone;

    zone = shm_zone->data;

    return ngx_http_warden_init_region(shm_zone,
                                       ozone ? ozone->autoban_sh : NULL,
                                       warden_map_format, &zone->autoban_sh,
                                       &slots);
}


/*
 * The region of a zone, into *shp: the old zone's (osh) on a reload, else
 * allocated and formatted; *slots is how many entries a new region holds.
 */

ngx_int_t
ngx_http_warden_init_region(ngx_shm_zone_t *shm_zone,
    ngx_http_warden_shctx_t *osh, ngx_http_warden_format_pt format,
    ngx_http_warden_shctx_t **shp, size_t *slots)
{
    size_t                    bytes;
    ngx_slab_pool_t          *shpool;
    ngx_http_warden_shctx_t  *sh;

    *slots = 0;

    if (osh) {
        /* a reload with the same size: the state carries over as it is */
        *shp = osh;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        *shp = shpool->data;
        return NGX_OK;
    }

    sh = ngx_slab_alloc(shpool, sizeof(ngx_http_warden_shctx_t));
    if (sh == NULL) {
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

    sh->region = ngx_slab_alloc(shpool, bytes);
    if (sh->region == NULL) {
        return NGX_ERROR;
    }

    *slots = format(sh->region, bytes);
    if (*slots == 0) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "warden: zone \"%V\" is too small",
                      &shm_zone->shm.name);
        return NGX_ERROR;
    }

    sh->bytes = bytes;
    shpool->data = sh;
    *shp = sh;

    return NGX_OK;
}
