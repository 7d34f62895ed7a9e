/* JSON form of a certificate summary, shared by `cred list` and `pki show`. */
#include "azkit/x509.h"
#include "cli/cli.h"

cJSON *cli_cert_json(const struct azk_cert_summary *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "subject", s->subject);
    cJSON_AddStringToObject(o, "subject_cn", s->subject_cn);
    cJSON_AddStringToObject(o, "issuer", s->issuer);
    cJSON_AddStringToObject(o, "issuer_cn", s->issuer_cn);
    cJSON_AddStringToObject(o, "not_before", s->not_before);
    cJSON_AddStringToObject(o, "not_after", s->not_after);
    cJSON_AddStringToObject(o, "validity",
                            s->validity == 0 ? "valid" : s->validity > 0 ? "expired"
                                                                         : "not-yet-valid");
    cJSON_AddStringToObject(o, "key_type", s->key_type);
    cJSON_AddStringToObject(o, "serial", s->serial);
    cJSON_AddStringToObject(o, "sha1", s->sha1);
    cJSON_AddStringToObject(o, "sha256", s->sha256);
    cJSON_AddBoolToObject(o, "is_ca", s->is_ca);
    if (s->path_len >= 0)
        cJSON_AddNumberToObject(o, "path_len", s->path_len);
    else
        cJSON_AddNullToObject(o, "path_len");
    cJSON_AddBoolToObject(o, "self_signed", s->self_signed);
    cJSON_AddBoolToObject(o, "client_auth", s->client_auth);
    return o;
}
