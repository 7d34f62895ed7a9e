/* `azkit-hub fota`: firmware images, deployments through the device twin, their status, and
 * download faults (/azkit/fota/..., svc_fota.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "cliutil/cliutil.h"
#include "hub/admin/admin.h"

/* Upload pieces: well under the service API's 512 KB request body limit. */
#define PIECE (256 * 1024)

static const char usage_fota[] =
    "usage: azkit-hub fota <command>\n"
    "  upload FILE --version V       store an image (its file name is FILE's base name)\n"
    "  list                          the stored images\n"
    "  deploy (--device ID | --query COND) --version V [--fragment-size N]\n"
    "                                set the desired `firmware` object of the device, or of every\n"
    "                                device whose twin matches COND (a WHERE condition, or a\n"
    "                                whole SELECT * FROM devices WHERE ...); N: 1 to 4096,\n"
    "                                default 1800; each deploy has a new jobId\n"
    "  status                        each device's reported `firmware` state\n"
    "  fault show                    the download faults\n"
    "  fault clear [drop|corrupt|stall]   clear one download fault, or all\n"
    "  fault drop-after N [--every-time]  close the connection after N (>= 1) bytes of an image\n"
    "                                body (once, or on every download)\n"
    "  fault drop-at K               close the connection once, when an answer reaches image\n"
    "                                offset K (after the bytes before it): cuts a later fragment\n"
    "  fault corrupt-at K            serve the image byte at offset K inverted\n"
    "  fault stall-after K --seconds S    stop sending for S seconds (1 to 110) after K bytes\n"
    "                                of each image body\n";

static void hex_of(const unsigned char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int upload(int argc, char **argv)
{
    if (argc < 3 || argv[2][0] == '-')
        return cli_usage(usage_fota, "fota upload needs FILE");
    const char *file = argv[2], *version = NULL;
    const struct cli_opt opts[] = {{"--version", &version, NULL}};
    int urc = cli_take_opts(argc, argv, 3, opts, 1, usage_fota);
    if (urc != 0)
        return urc;
    if (version == NULL)
        return cli_usage(usage_fota, "fota upload needs --version V");
    FILE *fp = fopen(file, "rb");
    if (fp == NULL)
        return cli_fail(-errno, NULL, "cannot read the image %s", file);
    char sha[65], eversion[3 * 64 + 1], path[400];
    hub_admin_pct(version, eversion, sizeof(eversion));
    struct hub_admin_call c;
    memset(&c, 0, sizeof(c));
    char *data = malloc(PIECE);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (data == NULL || md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        fclose(fp);
        free(data);
        EVP_MD_CTX_free(md);
        return cli_fail(-ENOMEM, NULL, "cannot upload %s", file);
    }
    int rc = hub_admin_resolve(&c.t) != 0 ? CLI_EXIT_FAIL : 0;
    struct hub_admin_header oct = {"Content-Type", "application/octet-stream"};
    size_t off = 0, n = 0;
    /* Pieces in order, each PUT at the offset the previous ones end at; offset 0 always (an
     * empty image too) so that a former unfinished upload of this version starts again. */
    while (rc == 0 && (off == 0 || n == PIECE)) {
        n = fread(data, 1, PIECE, fp);
        if (ferror(fp)) {
            rc = cli_fail(-EIO, NULL, "cannot read the image %s", file);
            break;
        }
        EVP_DigestUpdate(md, data, n);
        snprintf(path, sizeof(path), "/azkit/fota/images/%s/content?offset=%zu", eversion, off);
        if (hub_admin_do(&c, "PUT", path, &oct, 1, data, n) != 0) {
            rc = CLI_EXIT_FAIL;
            break;
        }
        hub_admin_call_done(&c);
        off += n;
        if (off > PIECE && !cli_json())
            fprintf(stderr, "uploaded %zu bytes\n", off);
    }
    fclose(fp);
    free(data);
    unsigned char d[32];
    EVP_DigestFinal_ex(md, d, NULL);
    EVP_MD_CTX_free(md);
    if (rc != 0)
        return rc;
    hex_of(d, sizeof(d), sha);
    size_t len = off;
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "file", base_name(file));
    cJSON_AddNumberToObject(b, "size", (double)len);
    cJSON_AddStringToObject(b, "sha256", sha);
    char *text = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    snprintf(path, sizeof(path), "/azkit/fota/images/%s", eversion);
    rc = hub_admin_do(&c, "POST", path, NULL, 0, text, strlen(text));
    free(text);
    if (rc != 0)
        return CLI_EXIT_FAIL;
    if (!cli_json()) {
        const cJSON *sz = cJSON_GetObjectItemCaseSensitive(c.json, "size");
        printf("version %s: %.0f bytes, sha256 %s, path /%s\n", hub_admin_jstr(c.json, "version"),
               cJSON_IsNumber(sz) ? sz->valuedouble : 0, hub_admin_jstr(c.json, "sha256"),
               hub_admin_jstr(c.json, "path"));
        hub_admin_call_done(&c);
        return CLI_EXIT_OK;
    }
    return hub_admin_print(&c, "image");
}

static int deploy(int argc, char **argv)
{
    const char *dev = NULL, *query = NULL, *version = NULL, *frag = NULL;
    const struct cli_opt opts[] = {{"--device", &dev, NULL},
                                   {"--query", &query, NULL},
                                   {"--version", &version, NULL},
                                   {"--fragment-size", &frag, NULL}};
    int urc = cli_take_opts(argc, argv, 2, opts, 4, usage_fota);
    if (urc != 0)
        return urc;
    if ((dev != NULL) == (query != NULL))
        return cli_usage(usage_fota, "fota deploy needs --device ID or --query COND (one of them)");
    if (version == NULL)
        return cli_usage(usage_fota, "fota deploy needs --version V");
    long fs = 0;
    if (frag != NULL && !cli_parse_int(frag, 1, 4096, &fs))
        return cli_usage(usage_fota, "--fragment-size is a number of bytes from 1 to 4096, not "
                         "'%s'", frag);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "version", version);
    cJSON_AddStringToObject(b, dev ? "deviceId" : "query", dev ? dev : query);
    if (frag != NULL)
        cJSON_AddNumberToObject(b, "fragmentSize", (double)fs);
    char *text = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    struct hub_admin_call c;
    memset(&c, 0, sizeof(c));
    int rc = hub_admin_resolve(&c.t) != 0 ||
             hub_admin_do(&c, "POST", "/azkit/fota/deployments", NULL, 0, text, strlen(text)) != 0;
    free(text);
    if (rc)
        return CLI_EXIT_FAIL;
    if (!cli_json()) {
        const cJSON *d;
        printf("job %s: version %s to", hub_admin_jstr(c.json, "jobId"),
               hub_admin_jstr(c.json, "version"));
        cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(c.json, "devices"))
            printf(" %s", d->valuestring);
        printf("\n");
        hub_admin_call_done(&c);
        return CLI_EXIT_OK;
    }
    return hub_admin_print(&c, "deployment");
}

static const char *or_dash(const cJSON *o, const char *k)
{
    const char *s = hub_admin_jstr(o, k);
    return s ? s : "-";
}

static int get_list(const char *path, const char *key, bool images)
{
    struct hub_admin_call c;
    memset(&c, 0, sizeof(c));
    if (hub_admin_resolve(&c.t) != 0 || hub_admin_do(&c, "GET", path, NULL, 0, NULL, 0) != 0)
        return CLI_EXIT_FAIL;
    if (cli_json())
        return hub_admin_print(&c, key);
    const cJSON *o;
    if (images)
        printf("%-16s %-10s %-64s %s\n", "VERSION", "SIZE", "SHA256", "PATH");
    else
        printf("%-24s %-12s %-10s %-10s %-10s %s\n", "DEVICE", "STATUS", "CURRENT", "PENDING",
               "DESIRED", "JOB");
    cJSON_ArrayForEach(o, c.json) {
        if (images) {
            const cJSON *sz = cJSON_GetObjectItemCaseSensitive(o, "size");
            printf("%-16s %-10.0f %-64s /%s\n", or_dash(o, "version"),
                   cJSON_IsNumber(sz) ? sz->valuedouble : 0, or_dash(o, "sha256"),
                   or_dash(o, "path"));
        } else {
            printf("%-24s %-12s %-10s %-10s %-10s %s\n", or_dash(o, "deviceId"),
                   or_dash(o, "fwUpdateStatus"), or_dash(o, "currentFwVersion"),
                   or_dash(o, "pendingFwVersion"), or_dash(o, "desiredFwVersion"),
                   or_dash(o, "jobId"));
        }
    }
    hub_admin_call_done(&c);
    return CLI_EXIT_OK;
}

static int fault(int argc, char **argv)
{
    if (argc < 3)
        return cli_usage(usage_fota, "fota fault needs a command");
    const char *cmd = argv[2];
    const char *method = "POST";
    char path[64] = "/azkit/fota/faults";
    cJSON *b = cJSON_CreateObject();
    long n = 0, s = 0;
    bool ok = true;
    if (strcmp(cmd, "show") == 0 && argc == 3) {
        method = "GET";
    } else if (strcmp(cmd, "clear") == 0 && (argc == 3 || argc == 4)) {
        method = "DELETE";
        if (argc == 4)
            snprintf(path, sizeof(path), "/azkit/fota/faults/%s", argv[3]);
        ok = argc == 3 || strcmp(argv[3], "drop") == 0 || strcmp(argv[3], "corrupt") == 0 ||
             strcmp(argv[3], "stall") == 0;
    } else if (strcmp(cmd, "drop-after") == 0 && (argc == 4 || argc == 5)) {
        ok = cli_parse_int(argv[3], 1, 1L << 30, &n) &&
             (argc == 4 || strcmp(argv[4], "--every-time") == 0);
        cJSON_AddNumberToObject(b, "dropAfterBytes", (double)n);
        cJSON_AddBoolToObject(b, "dropEveryTime", argc == 5);
    } else if (strcmp(cmd, "drop-at") == 0 && argc == 4) {
        ok = cli_parse_int(argv[3], 0, 1L << 30, &n);
        cJSON_AddNumberToObject(b, "dropAtOffset", (double)n);
    } else if (strcmp(cmd, "corrupt-at") == 0 && argc == 4) {
        ok = cli_parse_int(argv[3], 0, 1L << 30, &n);
        cJSON_AddNumberToObject(b, "corruptOffset", (double)n);
    } else if (strcmp(cmd, "stall-after") == 0 && argc == 6) {
        ok = cli_parse_int(argv[3], 0, 1L << 30, &n) && strcmp(argv[4], "--seconds") == 0 &&
             cli_parse_int(argv[5], 1, 110, &s);
        cJSON_AddNumberToObject(b, "stallAfterBytes", (double)n);
        cJSON_AddNumberToObject(b, "stallSeconds", (double)s);
    } else {
        ok = false;
    }
    if (!ok) {
        cJSON_Delete(b);
        return cli_usage(usage_fota, "unknown fota fault command or wrong arguments: %s", cmd);
    }
    char *text = strcmp(method, "POST") == 0 ? cJSON_PrintUnformatted(b) : NULL;
    cJSON_Delete(b);
    struct hub_admin_header h = {"Content-Type", "application/json"};
    struct hub_admin_call c;
    memset(&c, 0, sizeof(c));
    int rc = hub_admin_resolve(&c.t) != 0 ||
             hub_admin_do(&c, method, path, &h, text ? 1 : 0, text, text ? strlen(text) : 0) != 0;
    free(text);
    if (rc)
        return CLI_EXIT_FAIL;
    return hub_admin_print(&c, NULL);
}

int hub_admin_fota(int argc, char **argv)
{
    int pro = hub_admin_prologue(argc, argv, usage_fota, "fota");
    if (pro >= 0)
        return pro;
    const char *cmd = argv[1];
    if (strcmp(cmd, "upload") == 0)
        return upload(argc, argv);
    if (strcmp(cmd, "deploy") == 0)
        return deploy(argc, argv);
    if (strcmp(cmd, "fault") == 0)
        return fault(argc, argv);
    if ((strcmp(cmd, "list") == 0 || strcmp(cmd, "status") == 0) && argc == 2)
        return cmd[0] == 'l' ? get_list("/azkit/fota/images", "images", true)
                             : get_list("/azkit/fota/status", "devices", false);
    return cli_usage(usage_fota, "unknown fota command or wrong arguments: %s", cmd);
}
