/* libFuzzer target: twin documents, desired/reported patches and method payloads. Parsed
 * sections are re-assembled with the JSON writer (raw passthrough) and the builders, and must
 * parse back to the same versions and sections. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "azkit/azure_payloads.h"
#include "azkit/json.h"
#include "fuzz_util.h"


/* "$version" of an object span as the generic helper sees it. */
static void check_version(struct azk_span obj, bool has, int64_t version)
{
    struct azk_span v;
    int rc = azk_json_object_find(obj, "$version", &v);
    if (!has) {
        REQUIRE(rc == -ENOENT);
        return;
    }
    REQUIRE(rc == 0);
    int64_t n;
    REQUIRE(azk_json_number_to_int64(v, &n) == 0 && n == version);
}

static void document(struct azk_span in, size_t size)
{
    struct azk_twin_document t, t2;
    struct azk_json_writer w;
    char *out;
    size_t out_size = size + 64, len;
    int rc = azk_twin_document_parse(in, &t);

    REQUIRE(rc == 0 || rc == -EBADMSG || rc == -ERANGE || rc == -E2BIG);
    if (rc)
        return;
    if (t.desired.ptr)
        check_version(t.desired, t.has_desired_version, t.desired_version);
    if (t.reported.ptr)
        check_version(t.reported, t.has_reported_version, t.reported_version);

    /* re-assemble {"desired":…,"reported":…} with the writer and parse again */
    out = malloc(out_size);
    REQUIRE(out && azk_json_writer_init(&w, out, out_size) == 0);
    REQUIRE(azk_json_writer_begin_object(&w) == 0);
    if (t.desired.ptr) {
        REQUIRE(azk_json_writer_property_name(&w, AZK_SPAN_LIT("desired")) == 0);
        REQUIRE(azk_json_writer_raw(&w, t.desired) == 0);
    }
    if (t.reported.ptr) {
        REQUIRE(azk_json_writer_property_name(&w, AZK_SPAN_LIT("reported")) == 0);
        REQUIRE(azk_json_writer_raw(&w, t.reported) == 0);
    }
    REQUIRE(azk_json_writer_end_object(&w) == 0);
    REQUIRE(azk_json_writer_finish(&w, &len) == 0);
    REQUIRE(azk_twin_document_parse((struct azk_span){out, len}, &t2) == 0);
    REQUIRE(azk_span_eq(t.desired, t2.desired) && azk_span_eq(t.reported, t2.reported));
    REQUIRE(t.has_desired_version == t2.has_desired_version);
    REQUIRE(t.has_reported_version == t2.has_reported_version);
    REQUIRE(!t.has_desired_version || t.desired_version == t2.desired_version);
    REQUIRE(!t.has_reported_version || t.reported_version == t2.reported_version);
    free(out);
}

static void patches(struct azk_span in, size_t size)
{
    struct azk_twin_desired_patch p, p2;
    struct azk_span obj;
    size_t out_size = size + 64, len, need;
    char *out = malloc(out_size);
    int rc;

    REQUIRE(out);
    rc = azk_twin_desired_patch_parse(in, &p);
    REQUIRE(rc == 0 || rc == -EBADMSG || rc == -ERANGE || rc == -E2BIG);
    if (rc == 0) {
        check_version(p.patch, p.has_version, p.version);
        if (!p.has_version) {
            /* hub side: append a version, device side: read it back */
            REQUIRE(azk_twin_desired_patch_build(p.patch, -7, NULL, 0, &need) == -ENOBUFS);
            REQUIRE(need <= out_size);
            REQUIRE(azk_twin_desired_patch_build(p.patch, -7, out, out_size, &len) == 0);
            REQUIRE(len == need);
            REQUIRE(azk_twin_desired_patch_parse((struct azk_span){out, len}, &p2) == 0);
            REQUIRE(p2.has_version && p2.version == -7);
            /* and as both sections of a document */
            char *doc = malloc(2 * out_size);
            REQUIRE(doc);
            REQUIRE(azk_twin_document_build(p.patch, 1, p.patch, 2, doc, 2 * out_size, &len) ==
                    0);
            struct azk_twin_document t;
            REQUIRE(azk_twin_document_parse((struct azk_span){doc, len}, &t) == 0);
            REQUIRE(t.desired_version == 1 && t.reported_version == 2);
            free(doc);
        }
    }

    rc = azk_twin_reported_patch_parse(in, &obj);
    if (azk_twin_desired_patch_parse(in, &p) == 0)
        REQUIRE(rc == 0 && azk_span_eq(obj, p.patch));
    if (rc == 0)
        REQUIRE(azk_json_validate(in, NULL, NULL) == 0 && obj.len >= 2 && obj.ptr[0] == '{');
    rc = azk_twin_reported_patch_build(in, out, out_size, &len);
    if (rc == 0) {
        struct azk_span back;
        REQUIRE(azk_twin_reported_patch_parse((struct azk_span){out, len}, &back) == 0);
        REQUIRE(back.len == len && azk_span_eq(back, obj));
    }

    /* method payloads: valid JSON or nothing */
    {
        struct azk_span m;
        int vrc = azk_json_validate(in, NULL, NULL);
        rc = azk_method_payload_validate(in, &m);
        if (vrc == 0)
            REQUIRE(rc == 0 && m.ptr);
        else if (rc == 0)
            REQUIRE(m.ptr == NULL);
        else
            REQUIRE(rc == vrc);
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct azk_span in = {size ? (const char *)data : NULL, size};
    document(in, size);
    patches(in, size);
    return 0;
}
