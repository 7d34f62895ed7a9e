/* A write to a socket the peer has reset raises SIGPIPE, which kills the process by default.
 * The drivers block it on their thread while they run (writes then fail with EPIPE) and
 * discard what was raised before they restore the caller's mask. */
#ifndef AZK_PORT_SIGPIPE_H
#define AZK_PORT_SIGPIPE_H

#include <signal.h>

void azki_sigpipe_block(sigset_t *old);
void azki_sigpipe_restore(const sigset_t *old);

#endif
