/* The DPS operation bookkeeping of an N-device storm alone (bench/hub/dps-ops): N register
 * requests (dps_op_new, with its purge), each operation polled twice 1,000 registrations later
 * (dps_op_find) and then finished (dps_op_finish). Prints the CPU time of that loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "hub/daemon.h"
#include "hub/dps/dps.h"
#include "hub/dps/dps_ops.h"
int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000, lag = 1000;
    struct hub_daemon *d = calloc(1, sizeof(*d));
    struct dps_op **ops = calloc(n, sizeof(*ops));
    struct timespec a, b;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    size_t found = 0;
    for (size_t i = 0; i < n + lag; i++) {
        if (i < n) {
            char rid[32];
            snprintf(rid, sizeof(rid), "dev-%zu", i);
            ops[i] = dps_op_new(d, rid);
        }
        if (i >= lag) {
            struct dps_op *op = ops[i - lag];
            struct azk_span id = {op->id, strlen(op->id)};
            found += dps_op_find(d, id) == op;
            found += dps_op_find(d, id) == op;
            dps_op_finish(op);
        }
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    printf("n=%zu found=%zu cpu=%.3f s\n", n, found,
           (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
    hub_dps_stop(d);
    return 0;
}
