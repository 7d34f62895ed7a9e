/* Firmware over the air, the hub's side (the nRF Connect SDK's azure_fota protocol): the image
 * catalogue kept in the data dir (fota_images.c), the HTTPS image server on the service port
 * (fota_serve.c) with its download faults, and the desired `firmware` object that a
 * deployment writes (svc_fota.c).
 *
 * Images live in <data>/fota/<token>/<file> (0644: not secrets) and are listed in
 * <data>/fota/images.json (written to a temporary file, fsynced, renamed: a crash leaves the
 * old or the new list). <token> is 128 random bits in hex, a capability like a blob SAS: the
 * image server asks for no other authentication, because azure_fota's download client sends
 * none. Loop thread only. */
#ifndef AZK_HUB_FOTA_H
#define AZK_HUB_FOTA_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evhttp_request;

#define HUB_FOTA_VERSION_MAX 64   /* fwVersion: printable ASCII, no '/' */
#define HUB_FOTA_FILE_MAX 100     /* image file name: [A-Za-z0-9._-], not starting with '.' */
#define HUB_FOTA_TOKEN_HEX 32     /* 128-bit capability */
#define HUB_FOTA_IMAGE_MAX (64ull * 1024 * 1024)
#define HUB_FOTA_FRAGMENT_DEFAULT 1800
#define HUB_FOTA_FRAGMENT_MAX 4096 /* azure_fota: 4 KB without TLS (2 KB with, header included) */
#define HUB_FOTA_STALL_MAX_S 110   /* below the service API's 120 s idle timeout */

struct hub_fota_image {
    char version[HUB_FOTA_VERSION_MAX + 1];
    char file[HUB_FOTA_FILE_MAX + 1];
    char token[HUB_FOTA_TOKEN_HEX + 1];
    char sha256[65];          /* lowercase hex */
    uint64_t size;
    int64_t uploaded_ms;
};

/* Download faults (azkit-hub fota fault, /azkit/fota/faults). "Bytes" count the body of one
 * answer; an offset is a position in the image. */
struct hub_fota_faults {
    bool drop;                /* close the connection after drop_after (>= 1) body bytes ... */
    uint64_t drop_after;
    bool drop_every;          /* ... on every answer (else once, then the fault clears) */
    bool corrupt;             /* serve the image byte at corrupt_at inverted */
    uint64_t corrupt_at;
    bool stall;               /* stop sending for stall_s seconds after stall_after bytes */
    uint64_t stall_after;
    unsigned stall_s;
    bool drop_at_set;         /* once: cut the answer that reaches image offset drop_at, */
    uint64_t drop_at;         /* after the bytes before it (a later fragment can be cut) */
    unsigned dropped;         /* answers cut so far (since the last clear) */
};

struct hub_fota_stream;

struct hub_fota {
    char dir[PATH_MAX];       /* <data>/fota */
    struct event_base *base;
    struct hub_fota_image *images;
    size_t count;
    struct hub_fota_faults faults;
    struct hub_fota_stream *streams; /* answers being sent (fota_serve.c) */
};

/* Loads the catalogue of `data_dir` (none yet: empty). 0, -ENOMEM, or -EIO/-EBADMSG when
 * images.json cannot be read or parsed (the hub then refuses to start rather than forget
 * images). */
int hub_fota_open(const char *data_dir, struct event_base *base, struct hub_fota **out);
/* Frees it. Call after the HTTP server that serves the images is gone. */
void hub_fota_close(struct hub_fota *f);

/* The image with this version, or NULL. */
const struct hub_fota_image *hub_fota_find(const struct hub_fota *f, const char *version);

/* NULL when `version` is a valid fwVersion, else why not. */
const char *hub_fota_version_problem(const char *version);
/* NULL when `file` is a valid image file name, else why not. */
const char *hub_fota_file_problem(const char *file);

/* Upload, step 1: writes `len` bytes at `offset` of the staging file of `version` (offset 0
 * starts it again). 0, -EINVAL (offset past the staged end, or beyond HUB_FOTA_IMAGE_MAX),
 * -EIO. */
int hub_fota_stage(struct hub_fota *f, const char *version, uint64_t offset, const void *data,
                   size_t len);
/* Upload, step 2: the staged file becomes image `version` named `file`, after checking that it
 * has `size` bytes and, when `sha256` is not NULL, that digest. 0 (*out the new image),
 * -EEXIST (the version exists), -ENOENT (nothing staged), -EBADMSG (size or digest differ:
 * `why` says which), -EIO. */
int hub_fota_commit(struct hub_fota *f, const char *version, const char *file, uint64_t size,
                    const char *sha256, const struct hub_fota_image **out, char *why,
                    size_t why_size);

/* The image server: answers GET and HEAD of /firmware/<token>/<file> (`path` the request's
 * decoded path). Every other method gets 405. */
void hub_fota_serve(struct hub_fota *f, struct evhttp_request *req, const char *path);
/* The number of answers stalled by the stall fault right now. */
unsigned hub_fota_stalled(const struct hub_fota *f);
/* Ends every stall now (clearing the stall fault does it). */
void hub_fota_resume_stalls(struct hub_fota *f);

#endif
