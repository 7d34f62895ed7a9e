/* azkit cred list: what is in the store, with the same warnings a write gives. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cred_cli.h"

struct entry {
    azk_sec_tag_t tag;
    int type;
};

struct collect {
    struct entry *items;
    size_t count, cap;
    bool filter_tag, filter_type;
    azk_sec_tag_t tag;
    int type;
};

static int collect_cb(azk_sec_tag_t tag, int type, void *user)
{
    struct collect *c = user;
    if ((c->filter_tag && tag != c->tag) || (c->filter_type && type != c->type))
        return 0;
    if (c->count == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        struct entry *n = realloc(c->items, c->cap * sizeof(*n));
        if (n == NULL)
            return -ENOMEM;
        c->items = n;
    }
    c->items[c->count++] = (struct entry){tag, type};
    return 0;
}

/* The key_match of types 1 and 2 in words, or NULL. */
static const char *match_word(const struct azk_cred_info *info)
{
    if (info->type != AZK_CRED_CLIENT_CERT && info->type != AZK_CRED_PRIVATE_KEY)
        return NULL;
    switch (info->key_match) {
    case AZK_KEY_MATCH_YES: return "yes";
    case AZK_KEY_MATCH_NO: return "no";
    case AZK_KEY_MATCH_NO_KEY: return "no-key";
    case AZK_KEY_MATCH_NO_CERT: return "no-cert";
    default: return "unknown";
    }
}

static void print_row(const struct azk_cred_info *info, const char *hex)
{
    char details[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < info->cert_count && i < AZK_CRED_MAX_CERTS; i++) {
        const struct azk_cert_summary *c = &info->certs[i];
        used += (size_t)snprintf(details + used, used < sizeof(details) ? sizeof(details) - used : 0,
                                 "%s%s (%s %.10s)", i ? "; " : "",
                                 c->subject_cn[0] ? c->subject_cn : c->subject,
                                 c->validity > 0 ? "expired" : "expires", c->not_after);
    }
    if (info->type == AZK_CRED_PRIVATE_KEY)
        snprintf(details, sizeof(details), "%s", info->key_type[0] ? info->key_type : "private key");
    /* Whether certificate and key belong together, when it is known. */
    used = strlen(details);
    if (info->key_match == AZK_KEY_MATCH_YES || info->key_match == AZK_KEY_MATCH_NO)
        snprintf(details + used, sizeof(details) - used, "%s",
                 info->key_match == AZK_KEY_MATCH_NO ? " [certificate and key DO NOT match]"
                                                     : " [certificate and key match]");
    /* A modem does not tell how big a key is (it cannot be read): "-". */
    char size[24] = "-";
    if (info->size > 0 || (info->type != AZK_CRED_PRIVATE_KEY && info->type < AZK_CRED_TYPE_COUNT))
        snprintf(size, sizeof(size), "%zu", info->size);
    printf("%-10u %d %-13s %6s  %s  %s\n", (unsigned)info->tag, info->type,
           azk_cred_type_nrf_name(info->type), size, hex, details);
}

int cli_cred_list(const struct cli_opts *cli, struct cmd_args *a, const char *usage)
{
    struct collect c;
    memset(&c, 0, sizeof(c));
    if (a->tag_text != NULL || a->positional_count > 0) {
        enum azk_cred_type type;
        bool want_type = a->type_text != NULL || a->positional_count > 1;
        int rc = cli_cred_tag_type(a, usage, want_type, &c.tag, &type);
        if (rc != 0)
            return rc;
        if (a->file != NULL)
            return cli_usage(usage, "unexpected argument '%s'", a->file);
        c.filter_tag = true;
        c.filter_type = want_type;
        c.type = (int)type;
    } else if (a->type_text != NULL) {
        return cli_usage(usage, "--type needs a tag too (as AT%%CMNG=1,<tag>,<type>)");
    }
    struct azk_credstore *s;
    int rc = cli_cred_open(cli, &s);
    if (rc != 0)
        return rc;
    rc = azk_cred_list(s, collect_cb, &c);
    if (rc != 0) {
        const char *why = azk_credstore_why(s);
        rc = cli_fail(rc, NULL, "cannot list %s%s%s", azk_credstore_describe(s),
                      why && *why ? ": " : "", why && *why ? why : "");
        azk_credstore_close(s);
        free(c.items);
        return rc;
    }
    cJSON *root = NULL, *arr = NULL;
    if (cli->json) {
        root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "store", azk_credstore_describe(s));
        if (azk_credstore_firmware(s) != NULL)
            cJSON_AddStringToObject(root, "firmware", azk_credstore_firmware(s));
        arr = cJSON_AddArrayToObject(root, "credentials");
    } else {
        if (azk_credstore_firmware(s) != NULL)
            printf("%s, firmware %s\n", azk_credstore_describe(s), azk_credstore_firmware(s));
        if (c.count == 0)
            printf("no credentials in %s\n", azk_credstore_describe(s));
        else
                printf("%-10s %-15s %6s  %-64s  %s\n", "SEC_TAG", "TYPE", "SIZE", "SHA-256",
                   "DETAILS");
    }
    int failures = 0;
    struct azk_cred_info *info = malloc(sizeof(*info));
    for (size_t i = 0; info != NULL && i < c.count; i++) {
        struct azk_diag d;
        azk_diag_init(&d);
        rc = azk_cred_describe(s, c.items[i].tag, c.items[i].type, info, &d);
        if (rc != 0) { /* removed by someone else meanwhile */
            failures += rc != -ENOENT;
            continue;
        }
        char hex[65] = "-";
        if (!info->no_digest)
            azk_digest_hex(info->digest, hex);
        if (cli->json) {
            cJSON *o = cli_cred_json(info->tag, info->type);
            cJSON_AddNumberToObject(o, "size", (double)info->size);
            if (info->no_digest)
                cJSON_AddNullToObject(o, "sha256");
            else
                cJSON_AddStringToObject(o, "sha256", hex);
            if (info->type == AZK_CRED_PRIVATE_KEY)
                cJSON_AddStringToObject(o, "key_type", info->key_type);
            if (match_word(info) != NULL)
                cJSON_AddStringToObject(o, "key_match", match_word(info));
            cJSON *certs = cJSON_AddArrayToObject(o, "certificates");
            for (size_t k = 0; k < info->cert_count && k < AZK_CRED_MAX_CERTS; k++)
                cJSON_AddItemToArray(certs, cli_cert_json(&info->certs[k]));
            cJSON_AddItemToObject(o, "findings", cli_findings_json(&d));
            cJSON_AddItemToArray(arr, o);
        } else {
            print_row(info, hex);
            for (size_t k = 0; k < d.count; k++) {
                printf("    %s: %s\n", azk_severity_name(d.items[k].severity), d.items[k].message);
                if (d.items[k].fix[0])
                    printf("      fix: %s\n", d.items[k].fix);
            }
        }
    }
    free(info);
    free(c.items);
    azk_credstore_close(s);
    if (root != NULL)
        cli_json_emit(root);
    return failures ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
