/* Fixed-size records in blocks of their own (see slab.h). */
#include "hub/slab.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SLAB_ASAN 1
#endif
#ifdef SLAB_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define BLOCK_SIZE ((size_t)64 * 1024) /* blocks are aligned to their size */

struct free_rec {
    struct free_rec *next;
};

struct hub_slab_block {
    struct hub_slab_block *prev, *next; /* in s->partial while it has a free record */
    struct free_rec *free;              /* free records never handed out are past `fresh` */
    size_t used;
    size_t fresh;                       /* records handed out at least once */
    int in_partial;
};

static size_t header_size(void)
{
    return (sizeof(struct hub_slab_block) + 15) & ~(size_t)15;
}

void hub_slab_init(struct hub_slab *s, size_t size)
{
    memset(s, 0, sizeof(*s));
    s->size = (size + 15) & ~(size_t)15;
    s->per_block = (BLOCK_SIZE - header_size()) / s->size;
}

static unsigned char *records(struct hub_slab_block *b)
{
    return (unsigned char *)b + header_size();
}

static void link_partial(struct hub_slab *s, struct hub_slab_block *b)
{
    b->prev = NULL;
    b->next = s->partial;
    if (s->partial)
        s->partial->prev = b;
    s->partial = b;
    b->in_partial = 1;
}

static void unlink_partial(struct hub_slab *s, struct hub_slab_block *b)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        s->partial = b->next;
    if (b->next)
        b->next->prev = b->prev;
    b->prev = b->next = NULL;
    b->in_partial = 0;
}

/* A block aligned to BLOCK_SIZE: map twice the size, unmap what is around the aligned part. */
static struct hub_slab_block *block_new(struct hub_slab *s)
{
    unsigned char *p = mmap(NULL, 2 * BLOCK_SIZE, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        errno = ENOMEM;
        return NULL;
    }
    uintptr_t a = ((uintptr_t)p + BLOCK_SIZE - 1) & ~(uintptr_t)(BLOCK_SIZE - 1);
    size_t head = (size_t)(a - (uintptr_t)p);
    if (head)
        munmap(p, head);
    if (BLOCK_SIZE - head)
        munmap((unsigned char *)a + BLOCK_SIZE, BLOCK_SIZE - head);
    struct hub_slab_block *b = (struct hub_slab_block *)a; /* zeroed by mmap */
    POISON(records(b), s->per_block * s->size);
    s->blocks++;
    link_partial(s, b);
    return b;
}

void *hub_slab_alloc(struct hub_slab *s)
{
    if (s->per_block == 0) {
        errno = ENOMEM;
        return NULL;
    }
    struct hub_slab_block *b = s->partial;
    if (b == NULL && (b = block_new(s)) == NULL)
        return NULL;
    void *p;
    if (b->free) {
        UNPOISON(b->free, sizeof(struct free_rec));
        p = b->free;
        b->free = b->free->next;
    } else {
        p = records(b) + b->fresh * s->size;
        b->fresh++;
    }
    b->used++;
    if (b->used == s->per_block)
        unlink_partial(s, b);
    UNPOISON(p, s->size);
    memset(p, 0, s->size);
    s->live++;
    return p;
}

void hub_slab_free(struct hub_slab *s, void *p)
{
    if (p == NULL)
        return;
    struct hub_slab_block *b =
        (struct hub_slab_block *)((uintptr_t)p & ~(uintptr_t)(BLOCK_SIZE - 1));
    s->live--;
    if (--b->used == 0) {
        if (b->in_partial)
            unlink_partial(s, b);
        UNPOISON(b, BLOCK_SIZE); /* the address range may be mapped again by anyone */
        munmap(b, BLOCK_SIZE);
        s->blocks--;
        return;
    }
    struct free_rec *r = p;
    r->next = b->free;
    b->free = r;
    POISON((unsigned char *)p + sizeof(*r), s->size - sizeof(*r));
    if (!b->in_partial)
        link_partial(s, b);
}
