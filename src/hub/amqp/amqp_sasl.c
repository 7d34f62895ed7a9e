/* The SASL server of the AMQP endpoint, as a Proton SASL implementation (sasl_plugin.h): the
 * Debian library's default one is Cyrus SASL, whose mechanisms depend on the host's Cyrus
 * configuration and which has no MSSBCBS. Azure's endpoint offers MSSBCBS (the SDKs that use
 * SASL pick it: "authenticate by CBS token after open") and ANONYMOUS; both carry no
 * credentials, and both succeed here: what a peer may do is decided by the CBS token it puts
 * afterwards (amqp_links.c). */
#include <string.h>

#include <proton/sasl.h>
#include <proton/sasl_plugin.h>
#include <proton/transport.h>

#include "hub/amqp/amqp_internal.h"

static const char MECHS[] = "MSSBCBS ANONYMOUS";

static void sasl_free(pn_transport_t *t)
{
    (void)t;
}

static const char *list_mechs(pn_transport_t *t)
{
    (void)t;
    return MECHS;
}

static bool init_server(pn_transport_t *t)
{
    pnx_sasl_set_desired_state(t, SASL_POSTED_MECHANISMS);
    return true;
}

static bool init_client(pn_transport_t *t)
{
    (void)t;
    return false; /* the hub is never an AMQP client */
}

static void prepare_write(pn_transport_t *t)
{
    (void)t;
}

static void process_init(pn_transport_t *t, const char *mechanism, const pn_bytes_t *recv)
{
    (void)recv;
    if (strcmp(mechanism, "MSSBCBS") == 0 || strcmp(mechanism, "ANONYMOUS") == 0)
        pnx_sasl_set_succeeded(t, "anonymous", NULL);
    else
        pnx_sasl_set_failed(t);
    pnx_sasl_set_desired_state(t, SASL_POSTED_OUTCOME);
}

static void process_response(pn_transport_t *t, const pn_bytes_t *recv)
{
    (void)recv;
    pnx_sasl_set_failed(t); /* no mechanism here has a challenge */
    pnx_sasl_set_desired_state(t, SASL_POSTED_OUTCOME);
}

static bool process_mechanisms(pn_transport_t *t, const char *mechs)
{
    (void)t;
    (void)mechs;
    return false;
}

static void process_challenge(pn_transport_t *t, const pn_bytes_t *recv)
{
    (void)t;
    (void)recv;
}

static void process_outcome(pn_transport_t *t, const pn_bytes_t *recv)
{
    (void)t;
    (void)recv;
}

static bool can_encrypt(pn_transport_t *t)
{
    (void)t;
    return false;
}

static ssize_t max_encrypt_size(pn_transport_t *t)
{
    (void)t;
    return 0;
}

static ssize_t encode(pn_transport_t *t, pn_bytes_t in, pn_bytes_t *out)
{
    (void)t;
    (void)in;
    (void)out;
    return 0;
}

static const pnx_sasl_implementation HUB_SASL = {
    .free = sasl_free,
    .list_mechanisms = list_mechs,
    .init_server = init_server,
    .init_client = init_client,
    .prepare_write = prepare_write,
    .process_init = process_init,
    .process_response = process_response,
    .process_mechanisms = process_mechanisms,
    .process_challenge = process_challenge,
    .process_outcome = process_outcome,
    .can_encrypt = can_encrypt,
    .max_encrypt_size = max_encrypt_size,
    .encode = encode,
    .decode = encode,
};

void amqp_sasl_setup(pn_transport_t *t)
{
    pn_sasl_t *s = pn_sasl(t);
    pn_sasl_allowed_mechs(s, MECHS);
    pnx_sasl_set_implementation(t, &HUB_SASL, NULL);
}
