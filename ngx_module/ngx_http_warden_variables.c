
/*
 * Warden: the variables $warden_country, $warden_decision and $warden_reason
 * (conf/warden-log-format.conf logs them), read from the request's ctx.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_warden.h"


static ngx_int_t ngx_http_warden_country_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_warden_decision_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_warden_reason_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_warden_vars[] = {

    { ngx_string("warden_country"), NULL,
      ngx_http_warden_country_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("warden_decision"), NULL,
      ngx_http_warden_decision_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("warden_reason"), NULL,
      ngx_http_warden_reason_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_str_t  ngx_http_warden_decisions[] = {
    ngx_string("pass"),
    ngx_string("allow"),
    ngx_string("block"),
    ngx_string("dry_run"),
    ngx_string("limit"),
    ngx_string("delay"),
    ngx_string("limit_dry_run"),
    ngx_string("challenge")
};


static ngx_int_t
ngx_http_warden_country_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    const char             *country;
    ngx_http_warden_ctx_t  *ctx;

    ctx = ngx_http_warden_get_ctx(r, 1);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    country = ngx_http_warden_country(r, ctx);

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    if (country == NULL) {
        v->len = 1;
        v->data = (u_char *) "-";
        return NGX_OK;
    }

    v->len = 2;
    v->data = (u_char *) ctx->country;

    return NGX_OK;
}


static ngx_int_t
ngx_http_warden_decision_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_warden_ctx_t  *ctx;

    ctx = ngx_http_warden_get_ctx(r, 0);

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    if (ctx == NULL || !ctx->evaluated
        || ctx->verdict.decision < WARDEN_PASS
        || ctx->verdict.decision > NGX_HTTP_WARDEN_LAST_DECISION)
    {
        /* Warden is off where this request was handled */
        v->len = 1;
        v->data = (u_char *) "-";
        return NGX_OK;
    }

    v->len = ngx_http_warden_decisions[ctx->verdict.decision].len;
    v->data = ngx_http_warden_decisions[ctx->verdict.decision].data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_warden_reason_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_warden_ctx_t  *ctx;

    ctx = ngx_http_warden_get_ctx(r, 0);

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    if (ctx == NULL || !ctx->evaluated) {
        v->len = 0;
        v->data = (u_char *) "";
        return NGX_OK;
    }

    v->len = ctx->verdict.reason_len;
    v->data = (u_char *) ctx->verdict.reason;

    return NGX_OK;
}


ngx_int_t
ngx_http_warden_add_variables(ngx_conf_t *cf)
{
    return ngx_http_warden_register_variables(cf, ngx_http_warden_vars);
}


/*
 * A condition parameter, "if=$variable" or "exempt=$variable": the value after
 * its first "skip" bytes, compiled; NULL when empty or invalid (logged).
 */

ngx_http_complex_value_t *
ngx_http_warden_compile_condition(ngx_conf_t *cf, ngx_str_t *param,
    size_t skip)
{
    ngx_str_t                          s;
    ngx_http_complex_value_t          *cv;
    ngx_http_compile_complex_value_t   ccv;

    s.data = param->data + skip;
    s.len = param->len - skip;

    if (s.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"%V\", expected %*s$variable",
                           param, skip, param->data);
        return NULL;
    }

    cv = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (cv == NULL) {
        return NULL;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &s;
    ccv.complex_value = cv;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NULL;
    }

    return cv;
}


/*
 * A value that is one variable and nothing else ("$binary_remote_addr",
 * "${name}"): the variable's index, so that a request reads it without
 * running the script engine twice (lengths, then values) and allocating;
 * NGX_ERROR for anything else (or a name nginx does not know, which the
 * complex value compiled beside it reports at the end of the configuration).
 */

ngx_int_t
ngx_http_warden_single_variable(ngx_conf_t *cf, ngx_str_t *value)
{
    size_t      i, start, end;
    ngx_str_t   name;

    if (value->len < 2 || value->data[0] != '$') {
        return NGX_ERROR;
    }

    start = 1;
    end = value->len;

    if (value->data[1] == '{') {
        if (value->data[end - 1] != '}') {
            return NGX_ERROR;
        }

        start = 2;
        end--;
    }

    if (end <= start) {
        return NGX_ERROR;
    }

    for (i = start; i < end; i++) {
        if (!((value->data[i] >= 'a' && value->data[i] <= 'z')
              || (value->data[i] >= 'A' && value->data[i] <= 'Z')
              || (value->data[i] >= '0' && value->data[i] <= '9')
              || value->data[i] == '_'))
        {
            return NGX_ERROR;
        }
    }

    name.data = value->data + start;
    name.len = end - start;

    return ngx_http_get_variable_index(cf, &name);
}


/* the value of a compiled value, through its variable's index when it is one */

ngx_int_t
ngx_http_warden_value(ngx_http_request_t *r, ngx_http_complex_value_t *cv,
    ngx_int_t variable, ngx_str_t *value)
{
    ngx_http_variable_value_t  *vv;

    if (variable == NGX_ERROR) {
        return ngx_http_complex_value(r, cv, value);
    }

    vv = ngx_http_get_indexed_variable(r, variable);
    if (vv == NULL) {
        return NGX_ERROR;
    }

    if (vv->not_found) {
        /* as the script engine: a variable not found is empty */
        value->len = 0;
        value->data = NULL;
        return NGX_OK;
    }

    value->len = vv->len;
    value->data = vv->data;

    return NGX_OK;
}


/* as access_log if=: true unless empty or "0" (or not computable) */

ngx_uint_t
ngx_http_warden_condition(ngx_http_request_t *r, ngx_http_complex_value_t *cv)
{
    ngx_str_t  val;

    if (ngx_http_complex_value(r, cv, &val) != NGX_OK) {
        return 0;
    }

    return (val.len == 0 || (val.len == 1 && val.data[0] == '0')) ? 0 : 1;
}


ngx_int_t
ngx_http_warden_register_variables(ngx_conf_t *cf, ngx_http_variable_t *vars)
{
    ngx_http_variable_t  *var, *v;

    for (v = vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}
