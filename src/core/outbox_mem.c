/* The outbox in caller-provided memory (azkit/outbox.h): records one after the other, oldest
 * first, in [head, used). A record is a 12-byte header (id, property bag length with the
 * "removed" bit, payload length), the property bag and the payload, padded to 4 bytes.
 * Removing marks the record; removed records at the front move `head` past them. The live
 * records are moved down to the start of the memory only when a new one does not fit after
 * them, so an acknowledgement costs a few header reads, not a move of everything queued
 * behind it, and a message never wraps. */
#include <errno.h>
#include <string.h>

#include "azkit/outbox.h"

#define HDR 12u
#define REMOVED 0x80000000u
#define OB(m) (&(m)->_internal)

struct hdr {
    uint32_t id, props, payload;
};

static struct hdr hdr_at(const uint8_t *p)
{
    struct hdr h;
    memcpy(&h, p, sizeof(h));
    return h;
}

static size_t rec_size(const struct hdr *h)
{
    return (HDR + (h->props & ~REMOVED) + h->payload + 3u) & ~(size_t)3u;
}

static int mem_put(struct azk_outbox *ob, struct azk_span props, struct azk_span payload,
                   uint32_t *id)
{
    struct azk_outbox_mem *m = (struct azk_outbox_mem *)ob;
    if (props.len >= REMOVED || payload.len >= REMOVED || props.len > OB(m)->size ||
        payload.len > OB(m)->size - props.len)
        return -EMSGSIZE;
    struct hdr h = {OB(m)->last_id + 1u, (uint32_t)props.len, (uint32_t)payload.len};
    if (h.id == 0)
        h.id = 1;
    size_t need = rec_size(&h);
    if (need > OB(m)->size)
        return -EMSGSIZE;
    if (need > OB(m)->size - OB(m)->used) {
        if (need > OB(m)->size - OB(m)->used + OB(m)->head)
            return -ENOSPC;
        memmove(OB(m)->buf, OB(m)->buf + OB(m)->head, OB(m)->used - OB(m)->head);
        OB(m)->used -= OB(m)->head;
        OB(m)->head = 0;
    }
    uint8_t *at = OB(m)->buf + OB(m)->used;
    memcpy(at, &h, HDR);
    if (props.len)
        memcpy(at + HDR, props.ptr, props.len);
    if (payload.len)
        memcpy(at + HDR + props.len, payload.ptr, payload.len);
    OB(m)->used += need;
    OB(m)->last_id = h.id;
    OB(m)->count++;
    *id = h.id;
    return 0;
}

static int mem_next(struct azk_outbox *ob, uint32_t after, struct azk_outbox_msg *msg)
{
    struct azk_outbox_mem *m = (struct azk_outbox_mem *)ob;
    for (size_t off = OB(m)->head; off < OB(m)->used;) {
        const uint8_t *at = OB(m)->buf + off;
        struct hdr h = hdr_at(at);
        off += rec_size(&h);
        if ((h.props & REMOVED) || h.id <= after)
            continue;
        msg->id = h.id;
        msg->props = (struct azk_span){(const char *)at + HDR, h.props};
        msg->payload = (struct azk_span){(const char *)at + HDR + h.props, h.payload};
        return 0;
    }
    return -ENOENT;
}

static int mem_remove(struct azk_outbox *ob, uint32_t id)
{
    struct azk_outbox_mem *m = (struct azk_outbox_mem *)ob;
    int rc = -ENOENT;
    for (size_t off = OB(m)->head; off < OB(m)->used;) {
        uint8_t *at = OB(m)->buf + off;
        struct hdr h = hdr_at(at);
        if (h.id == id && !(h.props & REMOVED)) {
            h.props |= REMOVED;
            memcpy(at, &h, HDR);
            OB(m)->count--;
            rc = 0;
        }
        off += rec_size(&h);
        if (OB(m)->head == off - rec_size(&h) && (h.props & REMOVED))
            OB(m)->head = off; /* a removed run at the front */
        if (rc == 0 && OB(m)->head < off)
            break;
    }
    if (OB(m)->head == OB(m)->used)
        OB(m)->head = OB(m)->used = 0;
    return rc;
}

int azk_outbox_mem_init(struct azk_outbox_mem *m, void *buf, size_t size)
{
    if (m == NULL || buf == NULL || size < 16)
        return -EINVAL;
    memset(m, 0, sizeof(*m));
    m->ob.put = mem_put;
    m->ob.next = mem_next;
    m->ob.remove = mem_remove;
    OB(m)->buf = buf;
    OB(m)->size = size & ~(size_t)3u;
    return 0;
}

uint32_t azk_outbox_mem_count(const struct azk_outbox_mem *m)
{
    return OB(m)->count;
}
