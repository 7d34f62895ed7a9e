/* The fleet's telemetry messages (azkit/fleet.h, azk_fleet_opts.payload_size): JSON with the
 * device id and a per-device sequence number, padded to an exact size. Internal to the fleet
 * driver (fleet_posix.c). */
#ifndef AZK_PORT_FLEET_PAYLOAD_H
#define AZK_PORT_FLEET_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

/* Writes message `seq` of device `id` into `buf` (`cap` bytes, at least size + 1 and at least
 * strlen(id) + 32): `{"device":"<id>","n":<seq>}` when `size` is 0 or too small for the pad
 * member, else `{"device":"<id>","n":<seq>,"pad":"xx...x"}` exactly `size` bytes long.
 * Returns the length (not NUL-terminated). */
size_t azki_fleet_payload(size_t size, const char *id, uint32_t seq, char *buf, size_t cap);

#endif
