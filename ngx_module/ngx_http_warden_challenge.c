
/*
 * Warden: warden_challenge (docs/behaviour.md). A client without a valid
 * pass gets a small self-contained page whose script solves a proof of work
 * (SHA-256 over a nonce bound to its address and time) and sends the answer
 * back as the warden_pow cookie on a reload; the answer checked, the module
 * sets warden_pass, an HMAC-signed cookie bound to the address with an
 * expiry, and lets the client through while it is valid. The keys come from
 * warden_challenge_key's file: the first signs, all verify.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_warden.h"


#define NGX_HTTP_WARDEN_CHALLENGE_STATUS   NGX_HTTP_FORBIDDEN
#define NGX_HTTP_WARDEN_NONCE_LEN          128


static ngx_int_t ngx_http_warden_challenge_cookie(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value);
static ngx_int_t ngx_http_warden_set_cookie(ngx_http_request_t *r,
    u_char *text, size_t len);
static ngx_int_t ngx_http_warden_challenge_page(ngx_http_request_t *r,
    ngx_http_warden_loc_conf_t *wlcf, int64_t now);
static void ngx_http_warden_challenge_cleanup(void *data);


static ngx_str_t  ngx_http_warden_pass_cookie = ngx_string("warden_pass");
static ngx_str_t  ngx_http_warden_pow_cookie = ngx_string("warden_pow");


/* the page: nonce and difficulty go between the parts */

static u_char  ngx_http_warden_page_head[] =
"<!DOCTYPE html>\n"
"<html><head><meta charset=\"utf-8\">"
"<meta name=\"robots\" content=\"noindex\">"
"<title>One moment</title></head>\n"
"<body><p id=\"warden-challenge\">Checking your browser before you go on"
" (this needs JavaScript).</p>\n"
"<noscript><p>Please enable JavaScript and reload the page.</p></noscript>\n"
"<script>\n"
"(function () {\n"
"var K = [], H = [];\n"
"(function () {\n"
"  function prime(x) { for (var d = 2; d * d <= x; d++) if (x % d == 0)"
" return false; return true; }\n"
"  function frac(x) { return ((x - Math.floor(x)) * 4294967296) | 0; }\n"
"  for (var n = 2, c = 0; c < 64; n++) if (prime(n)) {\n"
"    if (c < 8) H[c] = frac(Math.pow(n, 1 / 2));\n"
"    K[c++] = frac(Math.pow(n, 1 / 3));\n"
"  }\n"
"})();\n"
"function sha256(s) {\n"
"  var l = s.length, n = (((l + 8) >> 6) + 1) * 16, m = [], w = [],"
" h = H.slice(), i, j;\n"
"  for (i = 0; i < n; i++) m[i] = 0;\n"
"  for (i = 0; i < l; i++) m[i >> 2] |= s.charCodeAt(i) << ((3 - i % 4) * 8);\n"
"  m[l >> 2] |= 0x80 << ((3 - l % 4) * 8);\n"
"  m[n - 1] = l * 8;\n"
"  for (j = 0; j < n; j += 16) {\n"
"    var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6],"
" k = h[7];\n"
"    for (i = 0; i < 64; i++) {\n"
"      if (i < 16) w[i] = m[j + i]; else {\n"
"        var x = w[i - 15], y = w[i - 2];\n"
"        w[i] = (((x >>> 7 | x << 25) ^ (x >>> 18 | x << 14) ^ (x >>> 3))"
" + w[i - 16] + ((y >>> 17 | y << 15) ^ (y >>> 19 | y << 13) ^ (y >>> 10))"
" + w[i - 7]) | 0;\n"
"      }\n"
"      var t1 = (k + ((e >>> 6 | e << 26) ^ (e >>> 11 | e << 21)"
" ^ (e >>> 25 | e << 7)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;\n"
"      var t2 = (((a >>> 2 | a << 30) ^ (a >>> 13 | a << 19)"
" ^ (a >>> 22 | a << 10)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;\n"
"      k = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a;"
" a = (t1 + t2) | 0;\n"
"    }\n"
"    h[0] = (h[0] + a) | 0; h[1] = (h[1] + b) | 0; h[2] = (h[2] + c) | 0;"
" h[3] = (h[3] + d) | 0;\n"
"    h[4] = (h[4] + e) | 0; h[5] = (h[5] + f) | 0; h[6] = (h[6] + g) | 0;"
" h[7] = (h[7] + k) | 0;\n"
"  }\n"
"  return h;\n"
"}\n"
"function zeros(h) {\n"
"  for (var i = 0, z = 0; i < 8; i++) { if (h[i] == 0) { z += 32; continue; }"
" return z + Math.clz32(h[i]); }\n"
"  return z;\n"
"}\n"
"var nonce = \"";

static u_char  ngx_http_warden_page_middle[] = "\", difficulty = ";

static u_char  ngx_http_warden_page_tail[] =
", next = 0;\n"
"function work() {\n"
"  for (var end = next + 20000; next < end; next++) {\n"
"    if (zeros(sha256(nonce + \":\" + next)) >= difficulty) {\n"
"      document.cookie = \"warden_pow=\" + nonce + \":\" + next"
" + \"; path=/; max-age=300; SameSite=Lax\";\n"
"      location.reload();\n"
"      return;\n"
"    }\n"
"  }\n"
"  setTimeout(work, 0);\n"
"}\n"
"work();\n"
"})();\n"
"</script></body></html>\n";


char *
ngx_http_warden_challenge_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_warden_main_conf_t *wmcf = conf;

    ssize_t           n;
    ngx_fd_t          fd;
    ngx_str_t        *value, path;
    ngx_file_info_t   fi;

    if (wmcf->challenge_keys.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    path = value[1];

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", &path);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > 64 * 1024)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the key file \"%V\" is unreadable or larger "
                           "than 64k", &path);
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    wmcf->challenge_keys.len = (size_t) ngx_file_size(&fi);
    wmcf->challenge_keys.data = ngx_pnalloc(cf->pool,
                                            wmcf->challenge_keys.len + 1);
    if (wmcf->challenge_keys.data == NULL) {
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    n = ngx_read_fd(fd, wmcf->challenge_keys.data, wmcf->challenge_keys.len);
    ngx_close_file(fd);

    if (n < 0 || (size_t) n != wmcf->challenge_keys.len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "cannot read the key file \"%V\"", &path);
        return NGX_CONF_ERROR;
    }

    wmcf->challenge_key_file = path;

    return NGX_CONF_OK;
}


char *
ngx_http_warden_challenge_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_warden_loc_conf_t *wlcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value, s;
    ngx_uint_t  i;

    if (wlcf->challenge != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "on") == 0) {
        wlcf->challenge = 1;

    } else if (ngx_strcmp(value[1].data, "off") == 0) {
        wlcf->challenge = 0;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\", expected \"on\" or \"off\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "difficulty=", 11) == 0) {
            n = ngx_atoi(value[i].data + 11, value[i].len - 11);
            if (n < 1 || n > 32) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid difficulty \"%V\", expected 1 to "
                                   "32 leading zero bits", &value[i]);
                return NGX_CONF_ERROR;
            }

            wlcf->challenge_difficulty = (ngx_uint_t) n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "ttl=", 4) == 0) {
            s.data = value[i].data + 4;
            s.len = value[i].len - 4;

            wlcf->challenge_ttl = ngx_parse_time(&s, 0);
            if (wlcf->challenge_ttl == (ngx_msec_t) NGX_ERROR
                || wlcf->challenge_ttl < 60000
                || wlcf->challenge_ttl > (ngx_msec_t) 30 * 24 * 3600 * 1000)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid time \"%V\", expected 1m to 30d",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "exempt=", 7) == 0) {
            wlcf->challenge_exempt = ngx_http_warden_compile_condition(cf,
                                                                 &value[i], 7);
            if (wlcf->challenge_exempt == NULL) {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* in merge_loc_conf: a level that challenges gets its checker */

char *
ngx_http_warden_challenge_merge(ngx_conf_t *cf,
    ngx_http_warden_loc_conf_t *prev, ngx_http_warden_loc_conf_t *conf)
{
    char                          err[256];
    ngx_pool_cleanup_t           *cln;
    ngx_http_warden_main_conf_t  *wmcf;

    ngx_conf_merge_value(conf->challenge, prev->challenge, 0);
    ngx_conf_merge_uint_value(conf->challenge_difficulty,
                              prev->challenge_difficulty, 16);
    ngx_conf_merge_msec_value(conf->challenge_ttl, prev->challenge_ttl,
                              3600000);
    ngx_conf_merge_ptr_value(conf->challenge_exempt, prev->challenge_exempt,
                             NULL);

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_warden_module);

    /*
     * with keys, every level has a checker: a client the blacklist says to
     * challenge (warden_behaviour decision=challenge) is challenged anywhere
     */
    if (!conf->challenge && wmcf->challenge_keys.data == NULL) {
        return NGX_CONF_OK;
    }

    if (prev->challenger
        && conf->challenge_difficulty == prev->challenge_difficulty
        && conf->challenge_ttl == prev->challenge_ttl)
    {
        conf->challenger = prev->challenger;
        return NGX_CONF_OK;
    }

    if (wmcf->challenge_keys.data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"warden_challenge on\" needs "
                           "\"warden_challenge_key\" at http level");
        return NGX_CONF_ERROR;
    }

    conf->challenger = warden_challenge_create(
                           (const char *) wmcf->challenge_keys.data,
                           wmcf->challenge_keys.len,
                           (int) conf->challenge_difficulty,
                           (int64_t) conf->challenge_ttl, err, sizeof(err));
    if (conf->challenger == NULL) {
        /* the core's message never holds a key */
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "warden_challenge_key \"%V\": %s",
                           &wmcf->challenge_key_file, err);
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        warden_challenge_destroy(conf->challenger);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_warden_challenge_cleanup;
    cln->data = conf->challenger;

    return NGX_CONF_OK;
}


static void
ngx_http_warden_challenge_cleanup(void *data)
{
    warden_challenge_destroy(data);
}


/* exempt= says the request cannot run a script (an API client): 1, else 0 */

ngx_int_t
ngx_http_warden_challenge_exempt(ngx_http_request_t *r,
    ngx_http_warden_loc_conf_t *wlcf)
{
    if (wlcf->challenge_exempt == NULL) {
        return 0;
    }

    return ngx_http_warden_condition(r, wlcf->challenge_exempt);
}


/*
 * NGX_DECLINED: the client passes (a valid warden_pass, or a correct proof,
 * which earns one); NGX_DONE: the challenge page was sent instead.
 */

ngx_int_t
ngx_http_warden_challenge(ngx_http_request_t *r,
    ngx_http_warden_loc_conf_t *wlcf, ngx_http_warden_ctx_t *ctx)
{
    u_char     *p;
    size_t      len;
    int64_t     now;
    ngx_str_t   value, client;
    u_char      cookie[NGX_HTTP_WARDEN_NONCE_LEN];

    if (ctx->challenge_passed || r != r->main) {
        return NGX_DECLINED;
    }

    now = ngx_http_warden_now_ms();
    client = r->connection->addr_text;

    if (ngx_http_warden_challenge_cookie(r, &ngx_http_warden_pass_cookie,
                                         &value)
        == NGX_OK
        && warden_challenge_verify_cookie(wlcf->challenger,
                                          (const char *) client.data,
                                          client.len,
                                          (const char *) value.data,
                                          value.len, now)
           == WARDEN_CHALLENGE_OK)
    {
        ctx->challenge_passed = 1;
        return NGX_DECLINED;
    }

    if (ngx_http_warden_challenge_cookie(r, &ngx_http_warden_pow_cookie,
                                         &value)
        == NGX_OK
        && warden_challenge_verify_answer(wlcf->challenger,
                                          (const char *) client.data,
                                          client.len,
                                          (const char *) value.data,
                                          value.len, now)
           == WARDEN_CHALLENGE_OK)
    {
        len = warden_challenge_cookie(wlcf->challenger,
                                      (const char *) client.data, client.len,
                                      now, (char *) cookie, sizeof(cookie));
        if (len == 0) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = ngx_pnalloc(r->pool, sizeof("warden_pass=; Path=/; Max-Age=")
                                 - 1 + len + NGX_TIME_T_LEN
                                 + sizeof("; HttpOnly; SameSite=Lax; Secure")
                                 - 1);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        value.data = p;
        p = ngx_sprintf(p, "warden_pass=%*s; Path=/; Max-Age=%T; HttpOnly; "
                        "SameSite=Lax", len, cookie,
                        (time_t) (wlcf->challenge_ttl / 1000));
#if (NGX_HTTP_SSL)
        if (r->connection->ssl) {
            p = ngx_cpymem(p, "; Secure", sizeof("; Secure") - 1);
        }
#endif

        /* (the page gave warden_pow a lifetime of its own) */
        if (ngx_http_warden_set_cookie(r, value.data, p - value.data)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "warden challenge solved, pass issued");

        if (ngx_http_warden_worker) {
            warden_worker_count_challenge(ngx_http_warden_worker,
                                          WARDEN_CHALLENGE_SOLVED);
        }

        ctx->challenge_passed = 1;
        return NGX_DECLINED;
    }

    ctx->challenged = 1;

    if (ngx_http_warden_worker) {
        warden_worker_count_challenge(ngx_http_warden_worker,
                                      WARDEN_CHALLENGE_SERVED);
    }

    return ngx_http_warden_challenge_page(r, wlcf, now);
}


static ngx_int_t
ngx_http_warden_challenge_page(ngx_http_request_t *r,
    ngx_http_warden_loc_conf_t *wlcf, int64_t now)
{
    u_char           *p;
    size_t            len, nlen;
    ngx_int_t         rc;
    ngx_buf_t        *b;
    ngx_chain_t       out;
    ngx_table_elt_t  *cc;
    u_char            nonce[NGX_HTTP_WARDEN_NONCE_LEN];

    nlen = warden_challenge_nonce(wlcf->challenger,
                                  (const char *) r->connection->addr_text.data,
                                  r->connection->addr_text.len, now,
                                  (char *) nonce, sizeof(nonce));
    if (nlen == 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    len = sizeof(ngx_http_warden_page_head) - 1 + nlen
          + sizeof(ngx_http_warden_page_middle) - 1 + NGX_INT_T_LEN
          + sizeof(ngx_http_warden_page_tail) - 1;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(b->last, ngx_http_warden_page_head,
                   sizeof(ngx_http_warden_page_head) - 1);
    p = ngx_cpymem(p, nonce, nlen);
    p = ngx_cpymem(p, ngx_http_warden_page_middle,
                   sizeof(ngx_http_warden_page_middle) - 1);
    p = ngx_sprintf(p, "%ui", wlcf->challenge_difficulty);
    p = ngx_cpymem(p, ngx_http_warden_page_tail,
                   sizeof(ngx_http_warden_page_tail) - 1);
    b->last = p;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_WARDEN_CHALLENGE_STATUS;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type, "text/html");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    cc = ngx_list_push(&r->headers_out.headers);
    if (cc == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cc->hash = 1;
#if (nginx_version >= 1023000)
    cc->next = NULL;
#endif
    ngx_str_set(&cc->key, "Cache-Control");
    ngx_str_set(&cc->value, "no-store");

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }

    out.buf = b;
    out.next = NULL;

    ngx_http_finalize_request(r, ngx_http_output_filter(r, &out));

    return NGX_DONE;
}


static ngx_int_t
ngx_http_warden_set_cookie(ngx_http_request_t *r, u_char *text, size_t len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    ngx_str_set(&h->key, "Set-Cookie");
    h->value.data = text;
    h->value.len = len;

    return NGX_OK;
}


static ngx_int_t
ngx_http_warden_challenge_cookie(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value)
{
#if (nginx_version >= 1023000)
    return ngx_http_parse_multi_header_lines(r, r->headers_in.cookie, name,
                                             value)
           ? NGX_OK : NGX_DECLINED;
#else
    return ngx_http_parse_multi_header_lines(&r->headers_in.cookies, name,
                                             value)
           == NGX_DECLINED ? NGX_DECLINED : NGX_OK;
#endif
}
