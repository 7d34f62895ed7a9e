/* Validity periods: strict ISO-8601 parsing, backdating, defaults. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pki/pki_internal.h"

#define BACKDATE_SECONDS 3600
#define MAX_DAYS 36500

int azki_pki_time_parse(const char *s, time_t *out)
{
    /* YYYY-MM-DDTHH:MM:SSZ */
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    if (s == NULL || strlen(s) != sizeof(shape) - 1)
        return -EINVAL;
    for (size_t i = 0; i < sizeof(shape) - 1; i++) {
        if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
            return -EINVAL;
    }
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    int y, mo, d, h, mi, se;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ", &y, &mo, &d, &h, &mi, &se) != 6)
        return -EINVAL;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1950 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
        mi > 59 || se > 59)
        return -EINVAL;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap)
        return -EINVAL;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    *out = timegm(&tm);
    return 0;
}

static int default_days(enum azk_pki_kind kind)
{
    return kind == AZK_PKI_ROOT || kind == AZK_PKI_INTERMEDIATE ? 3650 : 365;
}

static int parse_field(const char *value, const char *name, time_t *out, struct azk_diag *d)
{
    if (azki_pki_time_parse(value, out) == 0)
        return 0;
    azk_diag_add(d, AZK_SEV_ERROR, "pki.bad-date",
                 "Write the time in UTC as YYYY-MM-DDTHH:MM:SSZ, e.g. 2030-01-31T12:00:00Z.",
                 "%s '%s' is not a valid date", name, value);
    return -EINVAL;
}

int azki_pki_validity(const struct azk_pki_request *req, time_t now, time_t *nb, time_t *na,
                     struct azk_diag *d)
{
    int days = req->days;
    if (days < 0 || days > MAX_DAYS) {
        azk_diag_add(d, AZK_SEV_ERROR, "pki.bad-days", "Give 1 to 36500 days.",
                     "validity of %d days is out of range", days);
        return -EINVAL;
    }
    if (days == 0)
        days = default_days(req->kind);
    if (req->not_before != NULL) {
        if (parse_field(req->not_before, "not-before", nb, d) != 0)
            return -EINVAL;
    } else {
        *nb = req->no_backdate ? now : now - BACKDATE_SECONDS;
    }
    if (req->not_after != NULL) {
        if (parse_field(req->not_after, "not-after", na, d) != 0)
            return -EINVAL;
    } else {
        *na = *nb + (time_t)days * 86400;
    }
    if (*na <= *nb) {
        azk_diag_add(d, AZK_SEV_ERROR, "pki.bad-validity",
                     "Give a not-after later than the not-before.",
                     "the certificate would end before it starts");
        return -EINVAL;
    }
    return 0;
}
