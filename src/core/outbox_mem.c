/* The outbox in caller-provided memory (azkit/outbox.h): records one after the other, oldest
 * first, in a ring that never splits a record. A record is a 12-byte header (id, property bag
 * length with the "removed" bit, payload length), the property bag and the payload, padded to
 * 4 bytes. The records live in [head, used); when a new one does not fit at the end but does
 * before `head`, it goes to offset 0 and the records then live in [head, wrap) followed by
 * [0, used). Removing marks the record; removed records at the front move `head` past them.
 * So an acknowledgement costs a few header reads and a new message one copy of itself, even
 * with the memory full (moving the queued records down at every new message cost 128k
 * instructions per message with a 1 MiB outbox). */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "azkit/outbox.h"

#define HDR 12u
#define REMOVED 0x80000000u
#define END SIZE_MAX
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

/* The offset of the oldest record, or END when there is none. */
static size_t first(const struct azk_outbox_mem *m)
{
    return OB(m)->wrap || OB(m)->head != OB(m)->used ? OB(m)->head : END;
}

/* The offset of the record after the one at `off`, or END. */
static size_t after(const struct azk_outbox_mem *m, size_t off)
{
    struct hdr h = hdr_at(OB(m)->buf + off);
    off += rec_size(&h);
    if (off == OB(m)->wrap)
        return 0;
    return off == OB(m)->used ? END : off;
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
    size_t need = rec_size(&h), at = OB(m)->used;
    if (need > OB(m)->size)
        return -EMSGSIZE;
    if (OB(m)->wrap) {
        if (need > OB(m)->head - at)
            return -ENOSPC;
    } else if (need > OB(m)->size - at) {
        if (need <= OB(m)->head) { /* [0, head) is free: start the second run there */
            OB(m)->wrap = at;
            at = 0;
        } else if (need <= OB(m)->size - at + OB(m)->head) { /* fits only when moved down */
            memmove(OB(m)->buf, OB(m)->buf + OB(m)->head, at - OB(m)->head);
            at -= OB(m)->head;
            OB(m)->head = 0;
        } else {
            return -ENOSPC;
        }
    }
    uint8_t *p = OB(m)->buf + at;
    memcpy(p, &h, HDR);
    if (props.len)
        memcpy(p + HDR, props.ptr, props.len);
    if (payload.len)
        memcpy(p + HDR + props.len, payload.ptr, payload.len);
    OB(m)->used = at + need;
    OB(m)->last_id = h.id;
    OB(m)->count++;
    *id = h.id;
    return 0;
}

static int mem_next(struct azk_outbox *ob, uint32_t after_id, struct azk_outbox_msg *msg)
{
    struct azk_outbox_mem *m = (struct azk_outbox_mem *)ob;
    for (size_t off = first(m); off != END; off = after(m, off)) {
        const uint8_t *at = OB(m)->buf + off;
        struct hdr h = hdr_at(at);
        if ((h.props & REMOVED) || h.id <= after_id)
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
    size_t off = first(m);
    for (; off != END; off = after(m, off)) {
        struct hdr h = hdr_at(OB(m)->buf + off);
        if (h.id == id && !(h.props & REMOVED)) {
            h.props |= REMOVED;
            memcpy(OB(m)->buf + off, &h, HDR);
            break;
        }
    }
    if (off == END)
        return -ENOENT;
    OB(m)->count--;
    /* Move the front past removed records; back to one run when the first one is left. */
    while ((off = first(m)) != END && (hdr_at(OB(m)->buf + off).props & REMOVED)) {
        off = after(m, off);
        if (off == 0)
            OB(m)->wrap = 0;
        OB(m)->head = off == END ? OB(m)->used : off;
    }
    if (!OB(m)->wrap && OB(m)->head == OB(m)->used)
        OB(m)->head = OB(m)->used = 0;
    return 0;
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
