/* Cloud-to-device queues: one per device, at most HUB_C2D_QUEUE_MAX messages, in memory in
 * seq order and persisted message by message. The in-flight mark (MQTT packet id) is memory
 * only: after a restart no message is in flight. Properties are stored as the URL-encoded
 * property bag that goes into the device's topic. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "hub/store/store_internal.h"

void hub_c2d_msg_clear(struct hub_c2d_msg *m)
{
    if (!m)
        return;
    free(m->payload);
    free(m->properties);
    m->payload = NULL;
    m->properties = NULL;
}

int store_c2d_copy(struct hub_c2d_msg *dst, const struct hub_c2d_msg *src)
{
    *dst = *src;
    dst->payload = malloc(src->payload_len ? src->payload_len : 1);
    dst->properties = store_strdup(src->properties ? src->properties : "");
    if (!dst->payload || !dst->properties) {
        hub_c2d_msg_clear(dst);
        return -ENOMEM;
    }
    if (src->payload_len)
        memcpy(dst->payload, src->payload, src->payload_len);
    return 0;
}

static void uuid4(char out[HUB_C2D_ID_MAX + 1])
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        uint64_t t = (uint64_t)store_now_ms();
        for (size_t i = 0; i < sizeof b; i++)
            b[i] = (unsigned char)((t >> (8 * (i % 8))) ^ (uint64_t)rand());
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, HUB_C2D_ID_MAX + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

static void remove_at(struct dev_entry *e, size_t i)
{
    hub_c2d_msg_clear(&e->c2d[i]);
    memmove(&e->c2d[i], &e->c2d[i + 1], (e->c2d_n - i - 1) * sizeof e->c2d[0]);
    e->c2d_n--;
}

static int submit_seq(struct hub_store *st, enum store_op_kind kind, const struct hub_c2d_msg *m,
                      hub_store_done_fn done, void *ctx)
{
    struct store_op *op = store_op_new(kind, done, ctx);
    if (!op)
        return -ENOMEM;
    op->u.c2d.seq = m->seq;
    op->u.c2d.delivery_count = m->delivery_count;
    store_submit(st, op);
    return 0;
}

/* Drops undelivered messages whose expiry passed (in-flight ones wait for their PUBACK). */
static void drop_expired(struct hub_store *st, struct dev_entry *e, int64_t now)
{
    for (size_t i = 0; i < e->c2d_n;) {
        struct hub_c2d_msg *m = &e->c2d[i];
        if (m->expiry_ms && m->expiry_ms <= now && m->packet_id == 0 &&
            submit_seq(st, OP_C2D_DELETE, m, NULL, NULL) == 0) {
            if (st->c2d_expired_fn)
                st->c2d_expired_fn(st->c2d_expired_ctx, e->dev.device_id, m);
            remove_at(e, i);
        } else
            i++;
    }
}

static int reserve(struct dev_entry *e, size_t n)
{
    if (n <= e->c2d_cap)
        return 0;
    size_t cap = e->c2d_cap ? e->c2d_cap * 2 : 4;
    while (cap < n)
        cap *= 2;
    struct hub_c2d_msg *arr = realloc(e->c2d, cap * sizeof *arr);
    if (!arr)
        return -ENOMEM;
    e->c2d = arr;
    e->c2d_cap = cap;
    return 0;
}

void hub_store_set_c2d_expired_listener(struct hub_store *st, hub_store_c2d_expired_fn fn,
                                        void *ctx)
{
    st->c2d_expired_fn = fn;
    st->c2d_expired_ctx = ctx;
}

int hub_store_c2d_enqueue(struct hub_store *st, const char *device_id,
                          const struct hub_c2d_msg *msg, char id_out[HUB_C2D_ID_MAX + 1],
                          hub_store_done_fn done, void *ctx)
{
    if (!msg || memchr(msg->message_id, '\0', sizeof msg->message_id) == NULL ||
        (msg->payload_len && !msg->payload))
        return -EINVAL;
    struct dev_entry *e = store_dev_find(st, device_id);
    if (!e)
        return -ENOENT;
    int64_t now = store_now_ms();
    drop_expired(st, e, now);
    if (e->c2d_n >= HUB_C2D_QUEUE_MAX)
        return -ENOSPC;
    if (reserve(e, e->c2d_n + 1) < 0)
        return -ENOMEM;
    struct hub_c2d_msg m;
    if (store_c2d_copy(&m, msg) < 0)
        return -ENOMEM;
    if (!m.message_id[0])
        uuid4(m.message_id);
    m.seq = st->c2d_next_seq;
    m.enqueued_ms = now;
    m.delivery_count = 0;
    m.packet_id = 0;
    struct store_op *op = store_op_new(OP_C2D_PUT, done, ctx);
    if (!op || store_c2d_copy(&op->u.c2d, &m) < 0) {
        free(op);
        hub_c2d_msg_clear(&m);
        return -ENOMEM;
    }
    memcpy(op->key, e->dev.device_id, sizeof op->key);
    st->c2d_next_seq++;
    e->c2d[e->c2d_n++] = m;
    if (id_out)
        memcpy(id_out, m.message_id, HUB_C2D_ID_MAX + 1);
    store_submit(st, op);
    return 0;
}

int hub_store_c2d_next(struct hub_store *st, const char *device_id, int64_t now_ms,
                       struct hub_c2d_msg *out)
{
    memset(out, 0, sizeof *out);
    struct dev_entry *e = store_dev_find(st, device_id);
    if (!e)
        return -ENOENT;
    drop_expired(st, e, now_ms);
    for (size_t i = 0; i < e->c2d_n; i++)
        if (e->c2d[i].packet_id == 0)
            return store_c2d_copy(out, &e->c2d[i]);
    return -EAGAIN;
}

static struct hub_c2d_msg *find_id(struct dev_entry *e, const char *message_id, size_t *idx)
{
    for (size_t i = 0; message_id && i < e->c2d_n; i++) {
        if (strcmp(e->c2d[i].message_id, message_id) == 0) {
            *idx = i;
            return &e->c2d[i];
        }
    }
    return NULL;
}

int hub_store_c2d_mark_inflight(struct hub_store *st, const char *device_id,
                                const char *message_id, uint16_t packet_id,
                                hub_store_done_fn done, void *ctx)
{
    if (packet_id == 0)
        return -EINVAL;
    struct dev_entry *e = store_dev_find(st, device_id);
    if (!e)
        return -ENOENT;
    size_t i;
    struct hub_c2d_msg *m = find_id(e, message_id, &i);
    if (!m)
        return -ENOENT;
    struct hub_c2d_msg next = *m;
    next.packet_id = packet_id;
    next.delivery_count++;
    int rc = submit_seq(st, OP_C2D_DELIVERY, &next, done, ctx);
    if (rc == 0)
        *m = next;
    return rc;
}

static int remove_msg(struct hub_store *st, struct dev_entry *e, size_t i,
                      hub_store_done_fn done, void *ctx)
{
    int rc = submit_seq(st, OP_C2D_DELETE, &e->c2d[i], done, ctx);
    if (rc == 0)
        remove_at(e, i);
    return rc;
}

int hub_store_c2d_ack_packet(struct hub_store *st, const char *device_id, uint16_t packet_id,
                             hub_store_done_fn done, void *ctx)
{
    struct dev_entry *e = store_dev_find(st, device_id);
    if (!e || packet_id == 0)
        return -ENOENT;
    for (size_t i = 0; i < e->c2d_n; i++)
        if (e->c2d[i].packet_id == packet_id)
            return remove_msg(st, e, i, done, ctx);
    return -ENOENT;
}

int hub_store_c2d_remove(struct hub_store *st, const char *device_id, const char *message_id,
                         hub_store_done_fn done, void *ctx)
{
    struct dev_entry *e = store_dev_find(st, device_id);
    if (!e)
        return -ENOENT;
    size_t i;
    if (!find_id(e, message_id, &i))
        return -ENOENT;
    return remove_msg(st, e, i, done, ctx);
}

int hub_store_c2d_requeue_inflight(struct hub_store *st, const char *device_id)
{
    struct dev_entry *e = store_dev_find(st, device_id);
    if (!e)
        return -ENOENT;
    int n = 0;
    for (size_t i = 0; i < e->c2d_n; i++) {
        if (e->c2d[i].packet_id) {
            e->c2d[i].packet_id = 0;
            n++;
        }
    }
    return n;
}

int hub_store_c2d_purge(struct hub_store *st, const char *device_id, hub_store_c2d_each_fn each,
                        void *each_ctx, hub_store_done_fn done, void *ctx)
{
    struct dev_entry *e = store_dev_find(st, device_id);
    if (!e)
        return -ENOENT;
    struct store_op *op = store_op_new(OP_C2D_PURGE, done, ctx);
    if (!op)
        return -ENOMEM;
    memcpy(op->key, e->dev.device_id, sizeof op->key);
    int n = (int)e->c2d_n;
    for (size_t i = 0; each && i < e->c2d_n; i++)
        each(each_ctx, &e->c2d[i]);
    while (e->c2d_n)
        remove_at(e, e->c2d_n - 1);
    store_submit(st, op);
    return n;
}

int hub_store_c2d_count(const struct hub_store *st, const char *device_id)
{
    const struct dev_entry *e = store_dev_find(st, device_id);
    return e ? (int)e->c2d_n : -ENOENT;
}

/* ---- persistence ---- */

int store_c2d_apply(sqlite3 *db, struct store_op *op)
{
    sqlite3_stmt *s;
    const struct hub_c2d_msg *m = &op->u.c2d;
    const char *sql;
    switch (op->kind) {
    case OP_C2D_PUT:
        sql = "INSERT OR REPLACE INTO c2d(seq, device_id, message_id, payload, properties,"
              " enqueued_ms, expiry_ms, delivery_count) VALUES(?,?,?,?,?,?,?,?)";
        break;
    case OP_C2D_DELETE:
        sql = "DELETE FROM c2d WHERE seq=?";
        break;
    case OP_C2D_DELIVERY:
        sql = "UPDATE c2d SET delivery_count=? WHERE seq=?";
        break;
    case OP_C2D_PURGE:
        sql = "DELETE FROM c2d WHERE device_id=?";
        break;
    default:
        return -EINVAL;
    }
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    if (rc != SQLITE_OK)
        return store_sqlite_errno(rc);
    switch (op->kind) {
    case OP_C2D_PUT:
        sqlite3_bind_int64(s, 1, (sqlite3_int64)m->seq);
        sqlite3_bind_text(s, 2, op->key, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, m->message_id, -1, SQLITE_STATIC);
        sqlite3_bind_blob64(s, 4, m->payload, m->payload_len, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, m->properties, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 6, m->enqueued_ms);
        sqlite3_bind_int64(s, 7, m->expiry_ms);
        sqlite3_bind_int64(s, 8, m->delivery_count);
        break;
    case OP_C2D_DELETE:
        sqlite3_bind_int64(s, 1, (sqlite3_int64)m->seq);
        break;
    case OP_C2D_DELIVERY:
        sqlite3_bind_int64(s, 1, m->delivery_count);
        sqlite3_bind_int64(s, 2, (sqlite3_int64)m->seq);
        break;
    default:
        sqlite3_bind_text(s, 1, op->key, -1, SQLITE_STATIC);
        break;
    }
    return store_step_finalize(s);
}

static int store_c2d_load_row(struct hub_store *st, sqlite3_stmt *s, void *ctx)
{
    (void)ctx;
    uint64_t seq = (uint64_t)sqlite3_column_int64(s, 0);
    if (seq >= st->c2d_next_seq)
        st->c2d_next_seq = seq + 1;
    struct dev_entry *e = store_dev_find(st, (const char *)sqlite3_column_text(s, 1));
    if (!e)
        return 0; /* orphan row (cannot happen: deletes cascade in one transaction) */
    struct hub_c2d_msg m;
    memset(&m, 0, sizeof m);
    m.seq = seq;
    if (store_copy_str(m.message_id, sizeof m.message_id,
                       (const char *)sqlite3_column_text(s, 2)) < 0) {
        return -EILSEQ;
    }
    struct hub_c2d_msg src_m = m;
    src_m.payload = (void *)sqlite3_column_blob(s, 3);
    src_m.payload_len = (size_t)sqlite3_column_bytes(s, 3);
    src_m.properties = (char *)sqlite3_column_text(s, 4);
    src_m.enqueued_ms = sqlite3_column_int64(s, 5);
    src_m.expiry_ms = sqlite3_column_int64(s, 6);
    src_m.delivery_count = (uint32_t)sqlite3_column_int64(s, 7);
    if (reserve(e, e->c2d_n + 1) < 0 || store_c2d_copy(&m, &src_m) < 0) {
        return -ENOMEM;
    }
    e->c2d[e->c2d_n++] = m;
    return 0;
}

int store_c2d_load(struct hub_store *st)
{
    return store_load_rows(st,
                           "SELECT seq, device_id, message_id, payload, properties,"
                           " enqueued_ms, expiry_ms, delivery_count FROM c2d ORDER BY seq",
                           store_c2d_load_row, NULL);
}
