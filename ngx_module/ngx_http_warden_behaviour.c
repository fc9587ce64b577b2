
/*
 * Warden: behaviour rules (docs/behaviour.md). warden_behaviour declares a
 * rule at http level (which responses count, the bucket, the decision) with
 * a shared zone of buckets per client scope; warden_watch applies rules in
 * http, server or location; the log phase judges the main request's final
 * response once and hands matching ones to the C++ core, which bans on an
 * overflow through the same path as warden_autoban.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_warden.h"


#define NGX_HTTP_WARDEN_BEHAVIOUR_MAX_NAME  32
#define NGX_HTTP_WARDEN_REASON_LEN          512


static ngx_int_t ngx_http_warden_behaviour_matches(ngx_http_request_t *r,
    ngx_http_warden_behaviour_t *rule, ngx_str_t *ext);
static void ngx_http_warden_request_path(ngx_http_request_t *r,
    ngx_str_t *path, ngx_str_t *ext);
static char *ngx_http_warden_behaviour_list(ngx_conf_t *cf, ngx_str_t *value,
    ngx_str_t *list, ngx_http_warden_behaviour_t *rule, ngx_uint_t statuses);
static ngx_int_t ngx_http_warden_init_behaviour_zone(ngx_shm_zone_t *shm_zone,
    void *data);


/* what a page loads by itself: a missing image is not a scan */
static ngx_str_t  ngx_http_warden_static_exts[] = {
    ngx_string("css"), ngx_string("js"), ngx_string("png"),
    ngx_string("jpg"), ngx_string("jpeg"), ngx_string("gif"),
    ngx_string("ico"), ngx_string("svg"), ngx_string("webp"),
    ngx_string("woff"), ngx_string("woff2"), ngx_string("ttf"),
    ngx_string("map"), ngx_null_string
};


static ngx_str_t  ngx_http_warden_behaviour_decisions[] = {
    ngx_string("ban"),
    ngx_string("challenge"),
    ngx_string("log"),
    ngx_null_string
};


char *
ngx_http_warden_behaviour(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_warden_main_conf_t *wmcf = conf;

    char                               *rv;
    ssize_t                             size;
    ngx_int_t                           n, rc;
    ngx_str_t                          *value, s, *ext;
    ngx_uint_t                          i, j;
    ngx_http_warden_behaviour_t        *rule, **rules;

    value = cf->args->elts;

    rule = ngx_pcalloc(cf->pool, sizeof(ngx_http_warden_behaviour_t));
    if (rule == NULL) {
        return NGX_CONF_ERROR;
    }

    rule->capacity = 10;
    rule->leak = 10000;
    rule->decision = WARDEN_BEHAVIOUR_BAN;
    ngx_http_warden_ban_init(&rule->ban);
    rule->any_status = 1;
    size = 1024 * 1024;

    rule->exclude = ngx_array_create(cf->pool, 16, sizeof(ngx_str_t));
    if (rule->exclude == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 0; ngx_http_warden_static_exts[i].len; i++) {
        ext = ngx_array_push(rule->exclude);
        if (ext == NULL) {
            return NGX_CONF_ERROR;
        }

        *ext = ngx_http_warden_static_exts[i];
    }

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "name=", 5) == 0) {
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;

            if (s.len == 0 || s.len > NGX_HTTP_WARDEN_BEHAVIOUR_MAX_NAME) {
                goto invalid_name;
            }

            for (j = 0; j < s.len; j++) {
                if (!((s.data[j] >= 'a' && s.data[j] <= 'z')
                      || (s.data[j] >= 'A' && s.data[j] <= 'Z')
                      || (s.data[j] >= '0' && s.data[j] <= '9')
                      || s.data[j] == '_' || s.data[j] == '-'))
                {
                    goto invalid_name;
                }
            }

            /* NUL-terminated for the core */
            rule->name.len = s.len;
            rule->name.data = ngx_pnalloc(cf->pool, s.len + 1);
            if (rule->name.data == NULL) {
                return NGX_CONF_ERROR;
            }

            ngx_cpystrn(rule->name.data, s.data, s.len + 1);
            continue;
        }

        if (ngx_strncmp(value[i].data, "status=", 7) == 0) {
            s.data = value[i].data + 7;
            s.len = value[i].len - 7;

            rv = ngx_http_warden_behaviour_list(cf, &value[i], &s, rule, 1);
            if (rv != NGX_CONF_OK) {
                return rv;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "exclude=", 8) == 0) {
            s.data = value[i].data + 8;
            s.len = value[i].len - 8;

            rule->exclude->nelts = 0;

            if (s.len == 4 && ngx_strncmp(s.data, "none", 4) == 0) {
                continue;
            }

            rv = ngx_http_warden_behaviour_list(cf, &value[i], &s, rule, 0);
            if (rv != NGX_CONF_OK) {
                return rv;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "if=", 3) == 0) {
            rule->condition = ngx_http_warden_compile_condition(cf, &value[i],
                                                                3);
            if (rule->condition == NULL) {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "distinct=", 9) == 0) {
            if (value[i].len == 13
                && ngx_strncmp(value[i].data + 9, "path", 4) == 0)
            {
                rule->distinct_path = 1;
                continue;
            }

            if (value[i].len == 12
                && ngx_strncmp(value[i].data + 9, "off", 3) == 0)
            {
                rule->distinct_path = 0;
                continue;
            }

            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid \"%V\", expected distinct=path or "
                               "distinct=off", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (ngx_strncmp(value[i].data, "capacity=", 9) == 0) {
            n = ngx_atoi(value[i].data + 9, value[i].len - 9);
            if (n <= 0 || n > NGX_HTTP_WARDEN_MAX_COUNT) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid capacity \"%V\", expected 1 to "
                                   "1000000", &value[i]);
                return NGX_CONF_ERROR;
            }

            rule->capacity = (ngx_uint_t) n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "decision=", 9) == 0) {
            s.data = value[i].data + 9;
            s.len = value[i].len - 9;

            for (j = 0; ngx_http_warden_behaviour_decisions[j].len; j++) {
                if (s.len == ngx_http_warden_behaviour_decisions[j].len
                    && ngx_strncmp(s.data,
                                   ngx_http_warden_behaviour_decisions[j].data,
                                   s.len)
                       == 0)
                {
                    break;
                }
            }

            if (ngx_http_warden_behaviour_decisions[j].len == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\", expected decision=ban, "
                                   "decision=challenge or decision=log",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            rule->decision = j;
            continue;
        }

        rc = ngx_http_warden_parse_ban(cf, &value[i], &rule->ban);
        if (rc == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

        if (rc == NGX_OK) {
            continue;
        }

        if (ngx_strncmp(value[i].data, "ipv4_subnet=", 12) == 0) {
            n = ngx_atoi(value[i].data + 12, value[i].len - 12);
            if (n < 2 || n > 256) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid ipv4_subnet \"%V\", expected 2 to "
                                   "256 addresses of one /24", &value[i]);
                return NGX_CONF_ERROR;
            }

            rule->ipv4_subnet = (ngx_uint_t) n;
            continue;
        }

        rc = ngx_http_warden_parse_zone_size(cf, &value[i], &size);
        if (rc == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

        if (rc == NGX_OK) {
            continue;
        }

        if (ngx_strncmp(value[i].data, "leak=", 5) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        s.data = value[i].data + 5;
        s.len = value[i].len - 5;
        rule->leak = ngx_parse_time(&s, 0);

        if (rule->leak == (ngx_msec_t) NGX_ERROR || rule->leak < 10
            || rule->leak > 24 * 3600 * 1000)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid time \"%V\", expected 10ms to 1d "
                               "such as 500ms, 10s, 1m", &value[i]);
            return NGX_CONF_ERROR;
        }
    }

    if (rule->name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have \"name\" parameter", &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (rule->any_status && rule->condition == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "warden_behaviour \"%V\" counts every response: "
                           "it needs status= or if=", &rule->name);
        return NGX_CONF_ERROR;
    }

    if (rule->distinct_path
        && rule->capacity > NGX_HTTP_WARDEN_BEHAVIOUR_MAX_DISTINCT)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "warden_behaviour \"%V\": capacity of %ui is too "
                           "large for distinct=path, at most %d",
                           &rule->name, rule->capacity,
                           NGX_HTTP_WARDEN_BEHAVIOUR_MAX_DISTINCT);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_warden_check_ban(cf, &rule->ban) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    rules = wmcf->behaviours.elts;
    for (i = 0; i < wmcf->behaviours.nelts; i++) {
        if (rules[i]->name.len == rule->name.len
            && ngx_strncmp(rules[i]->name.data, rule->name.data,
                           rule->name.len)
               == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "warden_behaviour \"%V\" is duplicate",
                               &rule->name);
            return NGX_CONF_ERROR;
        }
    }

    rule->shm_zone = ngx_http_warden_shm_zone(cf, "warden_behaviour",
                                              &rule->name, size);
    if (rule->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    rule->shm_zone->init = ngx_http_warden_init_behaviour_zone;
    rule->shm_zone->data = rule;
    rule->index = -1;

    rules = ngx_array_push(&wmcf->behaviours);
    if (rules == NULL) {
        return NGX_CONF_ERROR;
    }

    *rules = rule;

    return NGX_CONF_OK;

invalid_name:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid \"%V\", expected a name of up to %d letters, "
                       "digits, \"_\" or \"-\"", &value[i],
                       NGX_HTTP_WARDEN_BEHAVIOUR_MAX_NAME);
    return NGX_CONF_ERROR;
}


/* status=401,403 (into the rule's set) or exclude=css,js (extensions) */

static char *
ngx_http_warden_behaviour_list(ngx_conf_t *cf, ngx_str_t *value,
    ngx_str_t *list, ngx_http_warden_behaviour_t *rule, ngx_uint_t statuses)
{
    u_char     *p, *last, *comma;
    ngx_int_t   n;
    ngx_str_t  *ext;

    p = list->data;
    last = list->data + list->len;

    if (p == last) {
        goto invalid;
    }

    while (p <= last) {
        comma = ngx_strlchr(p, last, ',');
        if (comma == NULL) {
            comma = last;
        }

        if (comma == p) {
            goto invalid;
        }

        if (statuses) {
            n = ngx_atoi(p, comma - p);
            if (n < 100 || n > 599) {
                goto invalid;
            }

            rule->statuses[(n - 100) / 8] |= (u_char) (1 << ((n - 100) % 8));
            rule->any_status = 0;

        } else {
            if (*p == '.') {
                p++;
            }

            if (p == comma) {
                goto invalid;
            }

            ext = ngx_array_push(rule->exclude);
            if (ext == NULL) {
                return NGX_CONF_ERROR;
            }

            ext->data = p;
            ext->len = comma - p;
        }

        p = comma + 1;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       statuses ? "invalid \"%V\", expected statuses from "
                                  "100 to 599 such as status=400,403,404"
                                : "invalid \"%V\", expected extensions such "
                                  "as exclude=css,js,png, or exclude=none",
                       value);
    return NGX_CONF_ERROR;
}


char *
ngx_http_warden_watch(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_warden_loc_conf_t *wlcf = conf;

    ngx_str_t                     *value;
    ngx_uint_t                     i, j;
    ngx_http_warden_behaviour_t  **rules, **watch;
    ngx_http_warden_main_conf_t   *wmcf;

    if (wlcf->watch != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    wlcf->watch = ngx_array_create(cf->pool, cf->args->nelts,
                                   sizeof(ngx_http_warden_behaviour_t *));
    if (wlcf->watch == NULL) {
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        return NGX_CONF_OK;
    }

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_warden_module);
    rules = wmcf->behaviours.elts;

    for (i = 1; i < cf->args->nelts; i++) {

        for (j = 0; j < wmcf->behaviours.nelts; j++) {
            if (rules[j]->name.len == value[i].len
                && ngx_strncmp(rules[j]->name.data, value[i].data,
                               value[i].len)
                   == 0)
            {
                break;
            }
        }

        if (j == wmcf->behaviours.nelts) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown warden_behaviour \"%V\" (a rule is "
                               "declared at http level before it is "
                               "watched)", &value[i]);
            return NGX_CONF_ERROR;
        }

        watch = ngx_array_push(wlcf->watch);
        if (watch == NULL) {
            return NGX_CONF_ERROR;
        }

        *watch = rules[j];
    }

    return NGX_CONF_OK;
}


/*
 * The log phase of a main request: its final response, once, whatever
 * internal redirects it went through (subrequests do not come here). A
 * request Warden refused, or an allowed client, is not counted.
 */

void
ngx_http_warden_behaviour_log(ngx_http_request_t *r,
    ngx_http_warden_ctx_t *ctx)
{
    int                           outcome;
    char                          reason[NGX_HTTP_WARDEN_REASON_LEN];
    int64_t                       now;
    ngx_str_t                     path, ext;
    ngx_uint_t                    i, status, looked;
    warden_verdict_t              verdict;
    ngx_http_warden_behaviour_t **rules, *rule;
    ngx_http_warden_loc_conf_t   *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_warden_module);

    if (wlcf->watch == NULL || wlcf->watch->nelts == 0) {
        return;
    }

    status = r->headers_out.status;
    if (status < 100 || status > 599) {
        return;
    }

    if (ctx && ctx->evaluated
        && (ctx->challenged
            || ctx->verdict.decision == WARDEN_ALLOW
            || ctx->verdict.decision == WARDEN_BLOCK
            || ctx->verdict.decision == NGX_HTTP_WARDEN_LIMIT))
    {
        return;
    }

    now = ngx_http_warden_now_ms();
    looked = 0;
    ngx_str_null(&path);
    ngx_str_null(&ext);

    rules = wlcf->watch->elts;

    for (i = 0; i < wlcf->watch->nelts; i++) {
        rule = rules[i];

        /* the status first: most responses (the 200s) end here, for free */
        if (rule->index < 0
            || (!rule->any_status
                && !(rule->statuses[(status - 100) / 8]
                     & (1 << ((status - 100) % 8)))))
        {
            continue;
        }

        if (!looked) {
            looked = 1;

            if (!(ctx && ctx->evaluated)) {
                /* a location without "warden on" or limits: the allow list */
                warden_policy_evaluate(wlcf->policy, NULL,
                                       r->connection->sockaddr, NULL, now,
                                       &verdict);

                if (verdict.decision == WARDEN_ALLOW) {
                    return;
                }
            }

            ngx_http_warden_request_path(r, &path, &ext);
        }

        if (!ngx_http_warden_behaviour_matches(r, rule, &ext)) {
            continue;
        }

        outcome = warden_worker_behaviour_event(ngx_http_warden_worker,
                                                (int) rule->index,
                                                r->connection->sockaddr,
                                                (const char *) path.data,
                                                path.len, (int) status, now,
                                                reason, sizeof(reason));

        if (outcome != WARDEN_BEHAVIOUR_OVERFLOW) {
            continue;
        }

        if (rule->decision == WARDEN_BEHAVIOUR_LOG) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "warden behaviour dry run, would act on the "
                          "client: %s", reason);
            continue;
        }

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      rule->decision == WARDEN_BEHAVIOUR_CHALLENGE
                      ? "warden behaviour: client challenged: %s"
                      : "warden behaviour: client banned: %s", reason);
    }
}


/* a response of a status the rule counts: the rest of its conditions */

static ngx_int_t
ngx_http_warden_behaviour_matches(ngx_http_request_t *r,
    ngx_http_warden_behaviour_t *rule, ngx_str_t *ext)
{
    ngx_str_t   *exts;
    ngx_uint_t   i;

    if (ext->len) {
        exts = rule->exclude->elts;
        for (i = 0; i < rule->exclude->nelts; i++) {
            if (exts[i].len == ext->len
                && ngx_strncasecmp(exts[i].data, ext->data, ext->len) == 0)
            {
                return 0;
            }
        }
    }

    if (rule->condition && !ngx_http_warden_condition(r, rule->condition)) {
        return 0;
    }

    return 1;
}


/*
 * The path the client asked for, before any internal redirect (try_files
 * to /index.php would make every scan one path), without its arguments;
 * and its extension.
 */

static void
ngx_http_warden_request_path(ngx_http_request_t *r, ngx_str_t *path,
    ngx_str_t *ext)
{
    u_char  *p, *last;

    path->data = r->unparsed_uri.data;
    path->len = r->unparsed_uri.len;

    if (path->len == 0) {
        *path = r->uri;
    }

    last = path->data + path->len;
    p = ngx_strlchr(path->data, last, '?');
    if (p) {
        path->len = p - path->data;
        last = p;
    }

    ext->len = 0;
    ext->data = NULL;

    for (p = last; p > path->data; p--) {
        if (p[-1] == '/') {
            break;
        }

        if (p[-1] == '.') {
            ext->data = p;
            ext->len = last - p;
            break;
        }
    }
}


static ngx_int_t
ngx_http_warden_init_behaviour_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_warden_behaviour_t  *orule = data;

    size_t                        slots;
    ngx_http_warden_behaviour_t  *rule;

    rule = shm_zone->data;

    return ngx_http_warden_init_region(shm_zone, orule ? orule->sh : NULL,
                                       warden_behaviour_format, &rule->sh,
                                       &slots);
}
