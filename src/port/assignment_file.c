/* The DPS assignment in a file (azkit/assignment_file.h): one record of key=value lines,
 * written with the crash-safe writer (temporary file, fsync, rename, fsync of the directory). */
#include "azkit/assignment_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"

#define MAGIC "azkit-dps-assignment 1\n"

struct azk_assignment_file {
    struct azk_assignment_store st; /* first: the interface */
    char *path;
    char thumbprint[65];
};

/* "name=value\n" at *p into out (size); advances *p. */
static int field(char **p, const char *name, char *out, size_t size)
{
    size_t n = strlen(name);
    if (strncmp(*p, name, n) != 0 || (*p)[n] != '=')
        return -EBADMSG;
    char *v = *p + n + 1, *nl = strchr(v, '\n');
    if (nl == NULL || (size_t)(nl - v) >= size)
        return -EBADMSG;
    memcpy(out, v, (size_t)(nl - v));
    out[nl - v] = '\0';
    *p = nl + 1;
    return 0;
}

int azk_assignment_file_read(const char *path, struct azk_assignment_record *rec)
{
    char *text = NULL;
    size_t len = 0;
    int rc = azki_file_read_all(path, &text, &len);
    if (rc != 0)
        return rc;
    memset(rec, 0, sizeof(*rec));
    char *p = text;
    if (strncmp(p, MAGIC, strlen(MAGIC)) != 0) {
        rc = -EBADMSG;
    } else {
        p += strlen(MAGIC);
        rc = field(&p, "id_scope", rec->id_scope, sizeof(rec->id_scope));
        if (rc == 0)
            rc = field(&p, "registration_id", rec->registration_id, sizeof(rec->registration_id));
        if (rc == 0)
            rc = field(&p, "thumbprint", rec->thumbprint, sizeof(rec->thumbprint));
        if (rc == 0)
            rc = field(&p, "hub", rec->hub, sizeof(rec->hub));
        if (rc == 0)
            rc = field(&p, "device_id", rec->device_id, sizeof(rec->device_id));
        if (rc == 0 && (strcmp(p, "end\n") != 0 || !rec->hub[0] || !rec->device_id[0]))
            rc = -EBADMSG; /* cut short: no assignment */
    }
    free(text);
    return rc;
}

int azk_assignment_file_remove(const char *path)
{
    return unlink(path) == 0 ? 0 : -errno;
}

static bool span_is(struct azk_span s, const char *str)
{
    return s.len == strlen(str) && (s.len == 0 || memcmp(s.ptr, str, s.len) == 0);
}

static int f_load(struct azk_assignment_store *s, struct azk_span id_scope,
                  struct azk_span registration_id, char *hub, size_t hub_size, char *device_id,
                  size_t device_id_size)
{
    struct azk_assignment_file *f = (struct azk_assignment_file *)s;
    struct azk_assignment_record rec;
    int rc = azk_assignment_file_read(f->path, &rec);
    if (rc != 0)
        return rc;
    if (!span_is(id_scope, rec.id_scope) || !span_is(registration_id, rec.registration_id) ||
        strcmp(f->thumbprint, rec.thumbprint) != 0)
        return -ENOENT; /* kept for another scope, id or certificate */
    if (strlen(rec.hub) >= hub_size || strlen(rec.device_id) >= device_id_size)
        return -ENOBUFS;
    strcpy(hub, rec.hub);
    strcpy(device_id, rec.device_id);
    return 0;
}

static int f_save(struct azk_assignment_store *s, struct azk_span id_scope,
                  struct azk_span registration_id, struct azk_span hub, struct azk_span device_id)
{
    struct azk_assignment_file *f = (struct azk_assignment_file *)s;
    char buf[1024];
    int n = snprintf(buf, sizeof(buf),
                     MAGIC "id_scope=%.*s\nregistration_id=%.*s\nthumbprint=%s\nhub=%.*s\n"
                           "device_id=%.*s\nend\n",
                     (int)id_scope.len, id_scope.ptr, (int)registration_id.len,
                     registration_id.ptr, f->thumbprint, (int)hub.len, hub.ptr,
                     (int)device_id.len, device_id.ptr);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return -ENOBUFS;
    return azki_atomic_write_path(f->path, buf, (size_t)n, 0600, false);
}

static int f_forget(struct azk_assignment_store *s)
{
    struct azk_assignment_file *f = (struct azk_assignment_file *)s;
    int rc = azk_assignment_file_remove(f->path);
    return rc == -ENOENT ? 0 : rc;
}

int azk_assignment_file_open(const char *path, const char *thumbprint,
                             struct azk_assignment_file **out)
{
    if (path == NULL || thumbprint == NULL || out == NULL ||
        strlen(thumbprint) >= sizeof((*out)->thumbprint))
        return -EINVAL;
    struct azk_assignment_file *f = calloc(1, sizeof(*f));
    if (f == NULL || (f->path = strdup(path)) == NULL) {
        free(f);
        return -ENOMEM;
    }
    strcpy(f->thumbprint, thumbprint);
    f->st.load = f_load;
    f->st.save = f_save;
    f->st.forget = f_forget;
    *out = f;
    return 0;
}

struct azk_assignment_store *azk_assignment_file_store(struct azk_assignment_file *f)
{
    return &f->st;
}

void azk_assignment_file_close(struct azk_assignment_file *f)
{
    if (f == NULL)
        return;
    free(f->path);
    free(f);
}
