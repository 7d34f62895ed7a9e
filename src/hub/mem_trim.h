/* Giving memory back to the system after a crowd of connections has left, or has arrived.
 *
 * glibc keeps what a storm of connections allocated (TLS state, buffers, session objects) in
 * its arenas after they are freed, so a hub that once held 10,000 devices kept ~430 MB resident
 * with none, and every handshake's buffers (16 KiB each, and the certificate parsing) stay
 * resident after the handshake. A timer watches the number of open connections; when it has
 * fallen well below the highest count since the last trim, or grown by 256 with no handshake
 * in progress, malloc_trim(0) returns the free pages of every arena. */
#ifndef AZK_HUB_MEM_TRIM_H
#define AZK_HUB_MEM_TRIM_H

#include <stddef.h>

struct hub_daemon;

/* Starts the check (every 2 s) on d->base. Returns 0 or -ENOMEM. */
int hub_mem_trim_start(struct hub_daemon *d);
/* Stops it; safe when not started. */
void hub_mem_trim_stop(struct hub_daemon *d);

/* Why memory is to be trimmed now, if at all. */
enum hub_mem_trim_why {
    HUB_TRIM_NO = 0,
    HUB_TRIM_LEFT,     /* the open connections fell by >= 256 and by a quarter from `peak` */
    HUB_TRIM_ARRIVED,  /* they grew by >= 256 from `base` and no handshake is in progress */
};
/* The decision, for tests: `peak` the most open connections since the last trim (conn.c keeps
 * it as connections open), `base` the count at the last trim, `admitting` the connections in
 * their handshake or before CONNECT. */
enum hub_mem_trim_why hub_mem_trim_due(size_t peak, size_t base, size_t open, size_t admitting);

#endif
