/* The TLS library context: the default provider behind a thin one (tls_libctx.h). */
#include "common/tls_libctx.h"

#include <pthread.h>
#include <string.h>

#include <openssl/core_dispatch.h>
#include <openssl/provider.h>

#define THIN_NAME "azkit-tls"

/* The ciphers of Azure IoT Hub's suites (HUB_TLS12_CIPHERS and HUB_TLS13_SUITES in hub/tls.h),
 * by their first names; the CBC-HMAC ones are the stitched versions libssl prefers for the CBC
 * suites. */
static const char *const kept_ciphers[] = {
    "AES-128-GCM",
    "AES-256-GCM",
    "ChaCha20-Poly1305",
    "AES-128-CBC",
    "AES-256-CBC",
    "AES-128-CBC-HMAC-SHA1",
    "AES-256-CBC-HMAC-SHA1",
    "AES-128-CBC-HMAC-SHA256",
    "AES-256-CBC-HMAC-SHA256",
};

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static OSSL_LIB_CTX *g_inner_ctx, *g_ctx;
static OSSL_PROVIDER *g_inner;
/* The shortened lists: copies of the default provider's entries (its names,
 * properties and functions), each ending with a zeroed entry. */
static OSSL_ALGORITHM g_decoders[48], g_ciphers[16];

/* Whether the comma-separated property definition holds exactly `prop`. */
static int has_prop(const char *def, const char *prop)
{
    size_t n = strlen(prop);
    for (const char *p = def;; p++) {
        if (strncmp(p, prop, n) == 0 && (p[n] == ',' || p[n] == '\0'))
            return 1;
        p = strchr(p, ',');
        if (p == NULL)
            return 0;
    }
}

/* Copies the entries of operation `op` that `keep` accepts into `out` (room for
 * `cap`, the last one zeroed). Returns the number kept, or -1 when they do not
 * fit. */
static int shorten(int op, int (*keep)(const OSSL_ALGORITHM *), OSSL_ALGORITHM *out, int cap)
{
    int no_cache = 0, n = 0;
    const OSSL_ALGORITHM *all = OSSL_PROVIDER_query_operation(g_inner, op, &no_cache);
    for (const OSSL_ALGORITHM *a = all; a != NULL && a->algorithm_names != NULL; a++) {
        if (!keep(a))
            continue;
        if (n + 1 >= cap) {
            n = -1;
            break;
        }
        out[n++] = *a;
    }
    OSSL_PROVIDER_unquery_operation(g_inner, op, all);
    if (n >= 0)
        memset(&out[n], 0, sizeof(out[n]));
    return n;
}

static int keep_decoder(const OSSL_ALGORITHM *a)
{
    return a->property_definition != NULL && has_prop(a->property_definition, "input=der") &&
           has_prop(a->property_definition, "structure=SubjectPublicKeyInfo");
}

/* Whether the cipher's first name is one of kept_ciphers. */
static int keep_cipher(const OSSL_ALGORITHM *a)
{
    size_t n = strcspn(a->algorithm_names, ":");
    for (size_t i = 0; i < sizeof(kept_ciphers) / sizeof(kept_ciphers[0]); i++)
        if (strlen(kept_ciphers[i]) == n && strncmp(a->algorithm_names, kept_ciphers[i], n) == 0)
            return 1;
    return 0;
}

/* The thin provider's dispatch: every call goes to the default provider loaded
 * in g_inner_ctx, whose provider context the thin one shares. */
static const OSSL_ALGORITHM *thin_query(void *provctx, int op, int *no_cache)
{
    (void)provctx;
    if (op == OSSL_OP_DECODER || op == OSSL_OP_CIPHER) {
        *no_cache = 0;
        return op == OSSL_OP_DECODER ? g_decoders : g_ciphers;
    }
    return OSSL_PROVIDER_query_operation(g_inner, op, no_cache);
}

static void thin_unquery(void *provctx, int op, const OSSL_ALGORITHM *algs)
{
    (void)provctx;
    if (op != OSSL_OP_DECODER && op != OSSL_OP_CIPHER)
        OSSL_PROVIDER_unquery_operation(g_inner, op, algs);
}

static const OSSL_PARAM *thin_gettable_params(void *provctx)
{
    (void)provctx;
    return OSSL_PROVIDER_gettable_params(g_inner);
}

static int thin_get_params(void *provctx, OSSL_PARAM params[])
{
    (void)provctx;
    return OSSL_PROVIDER_get_params(g_inner, params);
}

/* libssl learns the TLS groups (X25519, P-256, ...) from here. */
static int thin_get_capabilities(void *provctx, const char *capability, OSSL_CALLBACK *cb,
                                 void *arg)
{
    (void)provctx;
    return OSSL_PROVIDER_get_capabilities(g_inner, capability, cb, arg);
}

static void thin_teardown(void *provctx)
{
    (void)provctx; /* the provider context is the default provider's own */
}

static const OSSL_DISPATCH thin_dispatch[] = {
    {OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))thin_teardown},
    {OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (void (*)(void))thin_gettable_params},
    {OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))thin_get_params},
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))thin_query},
    {OSSL_FUNC_PROVIDER_UNQUERY_OPERATION, (void (*)(void))thin_unquery},
    {OSSL_FUNC_PROVIDER_GET_CAPABILITIES, (void (*)(void))thin_get_capabilities},
    {0, NULL},
};

static int thin_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
                     const OSSL_DISPATCH **out, void **provctx)
{
    (void)handle;
    (void)in;
    *provctx = OSSL_PROVIDER_get0_provider_ctx(g_inner);
    *out = thin_dispatch;
    return *provctx != NULL;
}

static void make_ctx(void)
{
    OSSL_PROVIDER *thin = NULL; /* unloaded with g_ctx, never before */
    g_inner_ctx = OSSL_LIB_CTX_new();
    g_inner = g_inner_ctx != NULL ? OSSL_PROVIDER_load(g_inner_ctx, "default") : NULL;
    g_ctx = g_inner != NULL ? OSSL_LIB_CTX_new() : NULL;
    if (g_ctx != NULL &&
        shorten(OSSL_OP_DECODER, keep_decoder, g_decoders,
                (int)(sizeof(g_decoders) / sizeof(g_decoders[0]))) > 0 &&
        shorten(OSSL_OP_CIPHER, keep_cipher, g_ciphers,
                (int)(sizeof(g_ciphers) / sizeof(g_ciphers[0]))) > 0 &&
        OSSL_PROVIDER_add_builtin(g_ctx, THIN_NAME, thin_init) == 1)
        thin = OSSL_PROVIDER_load(g_ctx, THIN_NAME);
    if (thin != NULL)
        return;
    OSSL_LIB_CTX_free(g_ctx); /* also unloads what was loaded into it */
    OSSL_PROVIDER_unload(g_inner);
    OSSL_LIB_CTX_free(g_inner_ctx);
    g_ctx = g_inner_ctx = NULL;
    g_inner = NULL;
}

OSSL_LIB_CTX *azki_tls_libctx(void)
{
    if (pthread_once(&g_once, make_ctx) != 0)
        return NULL;
    return g_ctx;
}
