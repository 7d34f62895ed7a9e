/* Giving memory back to the system after a crowd of connections has left.
 *
 * glibc keeps what a storm of connections allocated (TLS state, buffers, session objects) in
 * its arenas after they are freed, so a hub that once held 10,000 devices kept ~430 MB resident
 * with none. A timer watches the number of open connections; when it has fallen well below the
 * highest count since the last trim, malloc_trim(0) returns the free pages of every arena. */
#ifndef AZK_HUB_MEM_TRIM_H
#define AZK_HUB_MEM_TRIM_H

#include <stddef.h>

struct hub_daemon;

/* Starts the check (every 2 s) on d->base. Returns 0 or -ENOMEM. */
int hub_mem_trim_start(struct hub_daemon *d);
/* Stops it; safe when not started. */
void hub_mem_trim_stop(struct hub_daemon *d);

/* The decision (the peak is kept by conn.c as connections open), for tests: trim when the open connections fell by at least 256 and by at least
 * a quarter from `peak` (the highest count since the last trim). */
int hub_mem_trim_due(size_t peak, size_t open);

#endif
