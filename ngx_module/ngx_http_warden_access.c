
/*
 * Warden: the request's phase handlers. In preaccess, the blacklist, the
 * allow list and the country block (the C++ core's policy), then the rate
 * limits (ngx_http_warden_limit.c); in the log phase, the verdict counted for
 * warden_status and warden_top_zone. And the request's ctx, which outlives an
 * internal redirect, with the client's country.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_warden.h"


static void ngx_http_warden_ctx_cleanup(void *data);
static void ngx_http_warden_traffic_sample(ngx_http_request_t *r,
    ngx_http_warden_ctx_t *ctx, warden_traffic_sample_t *sample);


ngx_int_t
ngx_http_warden_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    const char                  *country;
    warden_verdict_t             other, *verdict;
    ngx_http_warden_ctx_t       *ctx;
    ngx_http_warden_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_warden_module);

    if (!wlcf->enable && wlcf->limits == NULL && !wlcf->challenge) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_warden_get_ctx(r, 1);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->limiting == r
        && (ctx->exact_state == NGX_HTTP_WARDEN_EXACT_DONE
            || ctx->exact_state == NGX_HTTP_WARDEN_EXACT_TIMEOUT))
    {
        /* Redis answered (or did not in time): go on with the limits */
        return ngx_http_warden_limit(r, ctx->limit_conf, ctx);
    }

    /*
     * The context belongs to the main request: internal redirects find it
     * again (ngx_http_warden_get_ctx), and subrequests share the main
     * request's pool and so its context.
     */

    if (ctx->evaluated) {
        /*
         * An internal redirect, a subrequest, or the end of a delay: a
         * refused request now serves its error page; one that passed is
         * judged again only by a location with other rules, and never
         * charged again (see below).
         */
        if (ctx->verdict.decision == WARDEN_BLOCK
            || ctx->verdict.decision == NGX_HTTP_WARDEN_LIMIT
            || ctx->conf == wlcf)
        {
            return NGX_DECLINED;
        }
    }

    ctx->conf = wlcf;

    country = NULL;
    if (warden_policy_needs_country(wlcf->policy)) {
        country = ngx_http_warden_country(r, ctx);
    }

    /*
     * $warden_decision is the main request's: its first location decides it
     * (straight into the context, the common case), and a later one replaces
     * it only to refuse, or to mark a request that passed as a dry run.
     */
    verdict = (r == r->main && !ctx->evaluated) ? &ctx->verdict : &other;

    /* without "warden on" only the allow list counts: it exempts from limits */
    warden_policy_evaluate(wlcf->policy,
                           wlcf->enable ? ngx_http_warden_worker : NULL,
                           r->connection->sockaddr,
                           wlcf->enable ? country : NULL,
                           ngx_http_warden_now_ms(), verdict);

    if (verdict == &other
        && r == r->main
        && (other.decision == WARDEN_BLOCK
            || (other.decision == WARDEN_DRY_RUN
                && (ctx->verdict.decision == WARDEN_PASS
                    || ctx->verdict.decision == WARDEN_ALLOW))))
    {
        ctx->verdict = other;
    }

    ctx->evaluated = 1;

    switch (verdict->decision) {

    case WARDEN_BLOCK:
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "access forbidden by warden: %*s",
                      verdict->reason_len, verdict->reason);
        return wlcf->block_status;

    case WARDEN_ALLOW:
        return NGX_DECLINED;

    case WARDEN_CHALLENGE:
        if (wlcf->challenger == NULL) {
            /* (an entry of source "challenge" without warden_challenge_key) */
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "access forbidden by warden, no warden_challenge_key "
                          "to challenge: %*s",
                          verdict->reason_len, verdict->reason);
            return wlcf->block_status;
        }

        if (ngx_http_warden_challenge_exempt(r, wlcf)) {
            /* it could not solve the page: refused, as a ban would */
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "access forbidden by warden, exempt from the "
                          "challenge: %*s",
                          verdict->reason_len, verdict->reason);
            return wlcf->block_status;
        }

        rc = ngx_http_warden_challenge(r, wlcf, ctx);
        if (rc != NGX_DECLINED) {
            return rc;
        }

        break;

    case WARDEN_DRY_RUN:
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "warden dry run, would forbid: %*s",
                      verdict->reason_len, verdict->reason);
        break;

    default:
        break;
    }

    if (wlcf->challenge && !ngx_http_warden_challenge_exempt(r, wlcf)) {
        rc = ngx_http_warden_challenge(r, wlcf, ctx);
        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    /*
     * As limit_req: the limits of the first location that applies any are
     * the request's; internal redirects and subrequests neither charge them
     * again nor add autoban strikes.
     */
    if (wlcf->limits && !ctx->limited
        && ctx->exact_state == NGX_HTTP_WARDEN_EXACT_NONE)
    {
        /* (a wait of another request of this one on Redis: it charges them) */
        ctx->limiting = r;
        ctx->limit_conf = wlcf;
        ctx->next_limit = 0;
        ctx->hit = -1;
        return ngx_http_warden_limit(r, wlcf, ctx);
    }

    return NGX_DECLINED;
}


/* what warden_top_zone counts of a request, as its access log line would show it */
static void
ngx_http_warden_traffic_sample(ngx_http_request_t *r, ngx_http_warden_ctx_t *ctx,
    warden_traffic_sample_t *sample)
{
    u_char                     *q;
    ngx_uint_t                  i;
    ngx_http_upstream_state_t  *state;

    sample->refused = ctx->verdict.decision == WARDEN_BLOCK
                      || ctx->verdict.decision == NGX_HTTP_WARDEN_LIMIT;
    sample->country = ngx_http_warden_country(r, ctx);
    sample->status = r->err_status ? r->err_status : r->headers_out.status;
    /* as $bytes_sent */
    sample->bytes = r->connection->sent > 0 ? r->connection->sent : 0;
    sample->upstream_ms = 0;
    sample->strikes = ctx->strikes;

    if (r->headers_in.user_agent) {
        sample->user_agent = (const char *) r->headers_in.user_agent->value.data;
        sample->user_agent_len = r->headers_in.user_agent->value.len;

    } else {
        sample->user_agent = NULL;
        sample->user_agent_len = 0;
    }

    /* the path the client asked for, whatever redirects followed */
    sample->path = (const char *) r->unparsed_uri.data;
    sample->path_len = r->unparsed_uri.len;
    q = ngx_strlchr(r->unparsed_uri.data,
                    r->unparsed_uri.data + r->unparsed_uri.len, '?');
    if (q) {
        sample->path_len = q - r->unparsed_uri.data;
    }

    if (r->upstream_states) {
        /* as $upstream_response_time: every upstream tried */
        state = r->upstream_states->elts;
        for (i = 0; i < r->upstream_states->nelts; i++) {
            if (state[i].status && state[i].response_time != (ngx_msec_t) -1) {
                sample->upstream_ms += state[i].response_time;
            }
        }
    }
}


ngx_int_t
ngx_http_warden_log_handler(ngx_http_request_t *r)
{
    warden_traffic_sample_t       sample;
    ngx_http_warden_ctx_t        *ctx;
    ngx_http_warden_loc_conf_t   *wlcf;
    ngx_http_warden_main_conf_t  *wmcf;

    if (ngx_http_warden_worker == NULL) {
        return NGX_OK;
    }

    if (r != r->main) {
        /* log_subrequest on: the main request counts, once */
        return NGX_OK;
    }

    ctx = ngx_http_warden_get_ctx(r, 0);

    if (ctx && ctx->evaluated) {
        wmcf = ngx_http_get_module_main_conf(r, ngx_http_warden_module);

        if (wmcf->traffic_zone == NULL) {
            warden_worker_count(ngx_http_warden_worker, ctx->verdict.decision,
                                ctx->verdict.cause, NULL, NULL, 0);

        } else {
            ngx_http_warden_traffic_sample(r, ctx, &sample);
            warden_worker_count(ngx_http_warden_worker, ctx->verdict.decision,
                                ctx->verdict.cause, r->connection->sockaddr,
                                &sample, ngx_http_warden_now_ms());
        }
    }

    /* (checked here: the call alone costs as much on every request) */
    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_warden_module);

    if (wlcf->watch != NULL && wlcf->watch->nelts != 0) {
        ngx_http_warden_behaviour_log(r, ctx);
    }

    return NGX_OK;
}


ngx_http_warden_ctx_t *
ngx_http_warden_find_ctx(ngx_http_request_t *r, ngx_uint_t create)
{
    ngx_pool_cleanup_t     *cln;
    ngx_http_warden_ctx_t  *ctx;

    /*
     * An internal redirect clears module contexts; the pool cleanup keeps the
     * verdict reachable for the error page and the access log (as realip does).
     */
    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_warden_ctx_cleanup) {
            ctx = cln->data;
            ngx_http_set_ctx(r, ctx, ngx_http_warden_module);
            return ctx;
        }
    }

    if (!create) {
        return NULL;
    }

    /*
     * The cleanup and the context in one allocation (every request makes
     * one). Only what is read before it is written is zeroed: a constant
     * size, which the compiler zeroes inline, with no call (see the context
     * in docs/performance.md).
     */
    cln = ngx_palloc(r->pool,
                     sizeof(ngx_pool_cleanup_t) + sizeof(ngx_http_warden_ctx_t));
    if (cln == NULL) {
        return NULL;
    }

    ngx_memzero(cln, sizeof(ngx_pool_cleanup_t)
                     + offsetof(ngx_http_warden_ctx_t, hv));

    ctx = (ngx_http_warden_ctx_t *) (cln + 1);
    ctx->verdict.decision = WARDEN_PASS;
    ctx->verdict.cause = WARDEN_CAUSE_NONE;
    ctx->verdict.reason_len = 0;
    cln->handler = ngx_http_warden_ctx_cleanup;
    cln->data = ctx;
    cln->next = r->pool->cleanup;
    r->pool->cleanup = cln;

    ngx_http_set_ctx(r, ctx, ngx_http_warden_module);

    return ctx;
}


static void
ngx_http_warden_ctx_cleanup(void *data)
{
    /* only a marker for ngx_http_warden_get_ctx() */
}


const char *
ngx_http_warden_country(ngx_http_request_t *r, ngx_http_warden_ctx_t *ctx)
{
    ngx_http_warden_main_conf_t  *wmcf;

    if (!ctx->country_done) {
        ctx->country_done = 1;
        wmcf = ngx_http_get_module_main_conf(r, ngx_http_warden_module);

        if (wmcf->geo == NULL
            || !warden_geo_country(wmcf->geo, r->connection->sockaddr,
                                   ctx->country))
        {
            ctx->country[0] = '\0';
        }
    }

    return ctx->country[0] ? ctx->country : NULL;
}
