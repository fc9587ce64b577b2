
/*
 * Warden: a fleet-wide IP blacklist, allow list and country block for nginx.
 *
 * This file is the module: its directives, its configuration (created,
 * merged, checked) and where it hooks into nginx. The logic lives in the C++
 * core behind warden_core.h; the other ngx_http_warden_*.c files hold the
 * nginx glue by concern (access, limit, wait, variables, status, zone,
 * worker, redis). The request path reads shared memory only; the Redis sync
 * runs in the background on the worker's event loop.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <arpa/inet.h>

#include "ngx_http_warden.h"


#define NGX_HTTP_WARDEN_DEFAULT_ZONE   (32 * 1024 * 1024)
#define NGX_HTTP_WARDEN_MIN_ZONE       (64 * 1024)


static char *ngx_http_warden_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_warden_node(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_warden_redis_cleanup(void *data);
static char *ngx_http_warden_geoip(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_warden_allow(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_warden_block_country(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_warden_geo_cleanup(void *data);
static void ngx_http_warden_policy_cleanup(void *data);

static void *ngx_http_warden_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_warden_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_warden_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_warden_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_warden_init(ngx_conf_t *cf);


static ngx_conf_num_bounds_t  ngx_http_warden_status_bounds = {
    ngx_conf_check_num_bounds, 400, 599
};


static ngx_conf_enum_t  ngx_http_warden_fail_modes[] = {
    { ngx_string("open"), 0 },
    { ngx_string("closed"), 1 },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_warden_log_levels[] = {
    { ngx_string("info"), NGX_LOG_INFO },
    { ngx_string("notice"), NGX_LOG_NOTICE },
    { ngx_string("warn"), NGX_LOG_WARN },
    { ngx_string("error"), NGX_LOG_ERR },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_warden_commands[] = {

    { ngx_string("warden_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_warden_redis,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("warden_node"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_warden_node,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("warden_blacklist_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_warden_main_conf_t, zone_size),
      NULL },

    { ngx_string("warden_geoip"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_warden_geoip,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("warden"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_warden_loc_conf_t, enable),
      NULL },

    { ngx_string("warden_allow"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_warden_allow,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("warden_block_country"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_warden_block_country,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("warden_block_status"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_warden_loc_conf_t, block_status),
      &ngx_http_warden_status_bounds },

    { ngx_string("warden_dry_run"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_warden_loc_conf_t, dry_run),
      NULL },

    { ngx_string("warden_limit_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_warden_limit_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("warden_limit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_warden_limit_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("warden_autoban"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_warden_autoban,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("warden_behaviour"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_warden_behaviour,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("warden_watch"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_warden_watch,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("warden_challenge_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_warden_challenge_key,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("warden_challenge"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_warden_challenge_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("warden_top_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_warden_top_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("warden_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_warden_status,
      0,
      0,
      NULL },

    { ngx_string("warden_limit_status"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_warden_loc_conf_t, limit_status),
      &ngx_http_warden_status_bounds },

    { ngx_string("warden_limit_log_level"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_warden_loc_conf_t, limit_log_level),
      &ngx_http_warden_log_levels },

    { ngx_string("warden_limit_dry_run"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_warden_loc_conf_t, limit_dry_run),
      NULL },

    { ngx_string("warden_limit_fail"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_warden_loc_conf_t, limit_fail),
      &ngx_http_warden_fail_modes },

    { ngx_string("warden_limit_headers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_warden_loc_conf_t, limit_headers),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_warden_module_ctx = {
    ngx_http_warden_add_variables,         /* preconfiguration */
    ngx_http_warden_init,                  /* postconfiguration */

    ngx_http_warden_create_main_conf,      /* create main configuration */
    ngx_http_warden_init_main_conf,        /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_warden_create_loc_conf,       /* create location configuration */
    ngx_http_warden_merge_loc_conf         /* merge location configuration */
};


ngx_module_t  ngx_http_warden_module = {
    NGX_MODULE_V1,
    &ngx_http_warden_module_ctx,           /* module context */
    ngx_http_warden_commands,              /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_warden_init_process,          /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_warden_exit_process,          /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/*
 * warden_node NAME: how the fleet knows this node (its heartbeat in Redis,
 * the console, its bans' reasons); the host name by default.
 */

static char *
ngx_http_warden_node(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_warden_main_conf_t *wmcf = conf;

    u_char      c;
    ngx_str_t  *value;
    ngx_uint_t  i;

    if (wmcf->node.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].len > 64) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid node name \"%V\": 1 to 64 characters",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < value[1].len; i++) {
        c = value[1].data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid node name \"%V\": letters, digits "
                               "and . _ - only", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    /* the parser ends each argument with a NUL: the core reads it as it is */
    wmcf->node = value[1];

    return NGX_CONF_OK;
}


static char *
ngx_http_warden_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_warden_main_conf_t *wmcf = conf;

    char                 err[512];
    ngx_str_t           *value;
    ngx_uint_t           i;
    ngx_pool_cleanup_t  *cln;

    if (wmcf->redis_set) {
        return "is duplicate";
    }

    value = cf->args->elts;

    /*
     * one name for a deployment, as the sidecar's (common/redis_deployment.h):
     * host:port, unix:/path, redis://..., sentinel://h1,h2/MASTER,
     * cluster://h1,h2; the messages never show a password
     */

    wmcf->redis = warden_redis_parse((const char *) value[1].data,
                                     value[1].len, err, sizeof(err));
    if (wmcf->redis == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", err);
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        warden_redis_free(wmcf->redis);
        wmcf->redis = NULL;
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_warden_redis_cleanup;
    cln->data = wmcf->redis;

    wmcf->redis_set = 1;

    for (i = 2; i < cf->args->nelts; i++) {
        if (warden_redis_option(wmcf->redis, (const char *) value[i].data,
                                value[i].len, err, sizeof(err))
            != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", err);
            return NGX_CONF_ERROR;
        }
    }

    /* host names are resolved here, once: hiredis would block a worker */
    if (warden_redis_finish(wmcf->redis, err, sizeof(err)) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", err);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void
ngx_http_warden_redis_cleanup(void *data)
{
    warden_redis_free(data);
}


static char *
ngx_http_warden_geoip(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_warden_main_conf_t *wmcf = conf;

    char                 err[256];
    u_char              *lookup;
    ngx_str_t           *value, path;
    ngx_pool_cleanup_t  *cln;

    if (wmcf->geo) {
        return "is duplicate";
    }

    value = cf->args->elts;
    path = value[1];

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    lookup = NULL;

    if (cf->args->nelts == 3) {
        if (ngx_strncmp(value[2].data, "lookup=", 7) != 0
            || value[2].len == 7)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\", expected "
                               "lookup=path such as lookup=country.iso_code",
                               &value[2]);
            return NGX_CONF_ERROR;
        }

        lookup = ngx_pnalloc(cf->pool, value[2].len - 7 + 1);
        if (lookup == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_cpystrn(lookup, value[2].data + 7, value[2].len - 7 + 1);
    }

    wmcf->geo = warden_geo_open((const char *) path.data,
                                (const char *) lookup, err, sizeof(err));
    if (wmcf->geo == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", err);
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_warden_geo_cleanup;
    cln->data = wmcf->geo;

    return NGX_CONF_OK;
}


static void
ngx_http_warden_geo_cleanup(void *data)
{
    warden_geo_close(data);
}


static char *
ngx_http_warden_allow(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_warden_loc_conf_t *wlcf = conf;

    char        err[256];
    ngx_str_t  *value, *s;
    ngx_uint_t  i;

    if (wlcf->allow == NULL) {
        wlcf->allow = ngx_array_create(cf->pool, 4, sizeof(ngx_str_t));
        if (wlcf->allow == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (warden_cidr_check((const char *) value[i].data, value[i].len, err,
                              sizeof(err))
            != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", err);
            return NGX_CONF_ERROR;
        }

        s = ngx_array_push(wlcf->allow);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        *s = value[i];
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_warden_block_country(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_warden_loc_conf_t *wlcf = conf;

    ngx_str_t  *value, *s;
    ngx_uint_t  i;

    if (wlcf->countries == NULL) {
        wlcf->countries = ngx_array_create(cf->pool, 4, sizeof(ngx_str_t));
        if (wlcf->countries == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len != 2
            || !isalpha(value[i].data[0]) || !isalpha(value[i].data[1]))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid country code \"%V\", expected two "
                               "letters such as \"CN\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        s = ngx_array_push(wlcf->countries);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        *s = value[i];
    }

    return NGX_CONF_OK;
}


ngx_uint_t
ngx_http_warden_redis_configured(ngx_conf_t *cf)
{
    ngx_http_warden_main_conf_t  *wmcf;

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_warden_module);

    return wmcf->redis_set ? 1 : 0;
}


static void *
ngx_http_warden_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_warden_main_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_warden_main_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->redis_set = 0;
     *     conf->redis = NULL;
     *     conf->shm_zone = NULL;
     *     conf->geo = NULL;
     */

    conf->zone_size = NGX_CONF_UNSET_SIZE;
    conf->traffic_size = NGX_CONF_UNSET;

    if (ngx_array_init(&conf->limit_zones, cf->pool, 4,
                       sizeof(ngx_http_warden_limit_zone_t *))
        != NGX_OK)
    {
        return NULL;
    }

    if (ngx_array_init(&conf->behaviours, cf->pool, 2,
                       sizeof(ngx_http_warden_behaviour_t *))
        != NGX_OK)
    {
        return NULL;
    }

    if (ngx_array_init(&conf->zone_refs, cf->pool, 1,
                       sizeof(ngx_http_warden_zone_ref_t))
        != NGX_OK)
    {
        return NULL;
    }

    return conf;
}


static char *
ngx_http_warden_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_warden_main_conf_t *wmcf = conf;

    ngx_uint_t                     i;
    ngx_http_warden_zone_ref_t    *refs;
    ngx_http_warden_limit_zone_t **zones;
    ngx_http_warden_behaviour_t  **behaviours;

    ngx_str_t  name = ngx_string("warden_blacklist");
    ngx_str_t  stats = ngx_string("warden_stats");

    /* every zone a warden_limit named is declared by now, or never will be */
    refs = wmcf->zone_refs.elts;
    for (i = 0; i < wmcf->zone_refs.nelts; i++) {
        if (refs[i].shm_zone->data == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "unknown warden_limit_zone \"%V\" in %V:%ui",
                          &refs[i].name, &refs[i].file, refs[i].line);
            return NGX_CONF_ERROR;
        }
    }

    zones = wmcf->limit_zones.elts;
    for (i = 0; i < wmcf->limit_zones.nelts; i++) {
        if (zones[i]->sync == NGX_HTTP_WARDEN_SYNC_UNSET) {
            /* fleet-wide by default when there is a fleet to share with */
            zones[i]->sync = wmcf->redis_set ? 100 : 0;

        }

        if (zones[i]->autoban_zone && !wmcf->redis_set) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "warden_autoban on zone \"%V\" bans through "
                               "the blacklist: it needs \"warden_redis\"",
                               &zones[i]->name);
            return NGX_CONF_ERROR;
        }

        if (zones[i]->sync && !wmcf->redis_set) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "warden_limit_zone \"%V\" syncs with redis, "
                               "but there is no \"warden_redis\"",
                               &zones[i]->name);
            return NGX_CONF_ERROR;
        }
    }

    behaviours = wmcf->behaviours.elts;
    for (i = 0; i < wmcf->behaviours.nelts; i++) {
        if (behaviours[i]->decision != WARDEN_BEHAVIOUR_LOG
            && !wmcf->redis_set)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "warden_behaviour \"%V\" %s through the "
                               "blacklist: it needs \"warden_redis\" (or "
                               "decision=log)", &behaviours[i]->name,
                               behaviours[i]->decision == WARDEN_BEHAVIOUR_BAN
                               ? "bans" : "challenges");
            return NGX_CONF_ERROR;
        }

        if (behaviours[i]->decision == WARDEN_BEHAVIOUR_CHALLENGE
            && wmcf->challenge_keys.data == NULL)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "warden_behaviour \"%V\" challenges: it needs "
                               "\"warden_challenge_key\"",
                               &behaviours[i]->name);
            return NGX_CONF_ERROR;
        }
    }

    ngx_conf_init_size_value(wmcf->zone_size, NGX_HTTP_WARDEN_DEFAULT_ZONE);

    if (wmcf->zone_size < NGX_HTTP_WARDEN_MIN_ZONE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "warden_blacklist_zone of %uz bytes is too small, "
                           "at least 64k is needed", wmcf->zone_size);
        return NGX_CONF_ERROR;
    }

    wmcf->stats_zone = ngx_shared_memory_add(cf, &stats,
                                             8 * ngx_pagesize
                                             + warden_stats_region_size(),
                                             &ngx_http_warden_module);
    if (wmcf->stats_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    wmcf->stats_zone->init = ngx_http_warden_init_stats_zone;

    if (!wmcf->redis_set) {
        /* no list to hold: allow list and countries need no shared memory */
        return NGX_CONF_OK;
    }

    wmcf->shm_zone = ngx_shared_memory_add(cf, &name, wmcf->zone_size,
                                           &ngx_http_warden_module);
    if (wmcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    wmcf->shm_zone->init = ngx_http_warden_init_blacklist_zone;

    if (wmcf->traffic_size == NGX_CONF_UNSET) {
        wmcf->traffic_size = 4 * 1024 * 1024;
    }

    if (wmcf->traffic_size) {
        name.len = sizeof("warden_top") - 1;
        name.data = (u_char *) "warden_top";

        wmcf->traffic_zone = ngx_shared_memory_add(cf, &name,
                                                   wmcf->traffic_size,
                                                   &ngx_http_warden_module);
        if (wmcf->traffic_zone == NULL) {
            return NGX_CONF_ERROR;
        }

        wmcf->traffic_zone->init = ngx_http_warden_init_top_zone;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_warden_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_warden_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_warden_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->allow = NULL;
     *     conf->countries = NULL;
     *     conf->policy = NULL;
     *     conf->limits = NULL;
     */

    conf->enable = NGX_CONF_UNSET;
    conf->block_status = NGX_CONF_UNSET_UINT;
    conf->dry_run = NGX_CONF_UNSET;
    conf->limit_status = NGX_CONF_UNSET_UINT;
    conf->limit_log_level = NGX_CONF_UNSET_UINT;
    conf->limit_dry_run = NGX_CONF_UNSET;
    conf->limit_headers = NGX_CONF_UNSET;
    conf->limit_fail = NGX_CONF_UNSET_UINT;
    conf->watch = NGX_CONF_UNSET_PTR;
    conf->challenge = NGX_CONF_UNSET;
    conf->challenge_difficulty = NGX_CONF_UNSET_UINT;
    conf->challenge_ttl = NGX_CONF_UNSET_MSEC;
    conf->challenge_exempt = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_http_warden_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_warden_loc_conf_t *prev = parent;
    ngx_http_warden_loc_conf_t *conf = child;

    char                 err[256];
    ngx_str_t           *s;
    ngx_uint_t           i;
    ngx_pool_cleanup_t  *cln;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_uint_value(conf->block_status, prev->block_status,
                              NGX_HTTP_FORBIDDEN);
    ngx_conf_merge_value(conf->dry_run, prev->dry_run, 0);
    ngx_conf_merge_uint_value(conf->limit_status, prev->limit_status,
                              NGX_HTTP_TOO_MANY_REQUESTS);
    ngx_conf_merge_uint_value(conf->limit_log_level, prev->limit_log_level,
                              NGX_LOG_ERR);
    ngx_conf_merge_value(conf->limit_dry_run, prev->limit_dry_run, 0);
    ngx_conf_merge_value(conf->limit_headers, prev->limit_headers, 0);
    ngx_conf_merge_uint_value(conf->limit_fail, prev->limit_fail, 0);

    if (conf->limits == NULL) {
        conf->limits = prev->limits;
    }

    ngx_conf_merge_ptr_value(conf->watch, prev->watch, NULL);

    if (ngx_http_warden_challenge_merge(cf, prev, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    /*
     * lists are inherited only when a level has none of its own, as
     * allow/deny
     */
    if (conf->allow == NULL) {
        conf->allow = prev->allow;
    }

    if (conf->countries == NULL) {
        conf->countries = prev->countries;
    }

    if (prev->policy && conf->allow == prev->allow
        && conf->countries == prev->countries && conf->dry_run == prev->dry_run)
    {
        conf->policy = prev->policy;
        return NGX_CONF_OK;
    }

    conf->policy = warden_policy_create();
    if (conf->policy == NULL) {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        warden_policy_destroy(conf->policy);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_warden_policy_cleanup;
    cln->data = conf->policy;

    if (conf->allow) {
        s = conf->allow->elts;
        for (i = 0; i < conf->allow->nelts; i++) {
            if (warden_policy_allow(conf->policy, (const char *) s[i].data,
                                    s[i].len, err, sizeof(err))
                != 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", err);
                return NGX_CONF_ERROR;
            }
        }
    }

    if (conf->countries) {
        s = conf->countries->elts;
        for (i = 0; i < conf->countries->nelts; i++) {
            if (warden_policy_block_country(conf->policy,
                                            (const char *) s[i].data,
                                            s[i].len)
                != 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid country code \"%V\"", &s[i]);
                return NGX_CONF_ERROR;
            }
        }
    }

    warden_policy_set_dry_run(conf->policy, conf->dry_run);

    return NGX_CONF_OK;
}


static void
ngx_http_warden_policy_cleanup(void *data)
{
    warden_policy_destroy(data);
}


static ngx_int_t
ngx_http_warden_init(ngx_conf_t *cf)
{
    ngx_array_t                *handlers;
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    /*
     * Preaccess, as limit_req: "satisfy any" must not bypass a block.
     * nginx runs a phase's handlers last-registered first, and a dynamic
     * module registers after the static ones, so pushed at the end Warden
     * would run before realip's preaccess handler, the one that applies
     * set_real_ip_from written in a location. First in the array, it runs
     * after it: Warden decides on the real client address.
     */
    handlers = &cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers;

    h = ngx_array_push(handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h = handlers->elts;
    ngx_memmove(&h[1], &h[0],
                (handlers->nelts - 1) * sizeof(ngx_http_handler_pt));
    h[0] = ngx_http_warden_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_warden_log_handler;

    return NGX_OK;
}
