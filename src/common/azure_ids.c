/* Azure's naming rules for device ids and DPS registration ids, in one place. */
#include "common/azure_ids.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define DEVICE_RULE                                                                        \
    "device ids are 1 to 128 ASCII letters, digits and - : . + % _ # * ? ! ( ) , = @ ; $ '"
#define REGISTRATION_RULE                                                                  \
    "DPS registration ids are 1 to 64 lowercase letters, digits and - . _ :"

static bool is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static void describe_char(unsigned char c, char *out, size_t len)
{
    if (c > 0x20 && c < 0x7f)
        snprintf(out, len, "'%c'", c);
    else if (c == ' ')
        snprintf(out, len, "a space");
    else
        snprintf(out, len, "byte 0x%02X", c);
}

static int check(const char *id, size_t max, bool (*allowed)(unsigned char), const char *rule,
                 char *why, size_t why_len)
{
    char dummy[1];
    if (why == NULL || why_len == 0) {
        why = dummy;
        why_len = sizeof(dummy);
    }
    why[0] = '\0';
    if (id == NULL || id[0] == '\0') {
        snprintf(why, why_len, "the id is empty; %s", rule);
        return -EINVAL;
    }
    size_t n = strlen(id);
    if (n > max) {
        snprintf(why, why_len, "the id is %zu characters long; %s", n, rule);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        if (!allowed(c)) {
            char what[16];
            describe_char(c, what, sizeof(what));
            snprintf(why, why_len, "%s at position %zu is not allowed; %s", what, i + 1, rule);
            return -EINVAL;
        }
    }
    return 0;
}

static bool device_char(unsigned char c)
{
    return is_alnum(c) || (c != '\0' && strchr("-:.+%_#*?!(),=@;$'", c) != NULL);
}

static bool registration_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("-._:", c) != NULL);
}

int azk_device_id_check(const char *id, char *why, size_t why_len)
{
    return check(id, AZK_DEVICE_ID_MAX, device_char, DEVICE_RULE, why, why_len);
}

int azk_registration_id_check(const char *id, char *why, size_t why_len)
{
    return check(id, AZK_REGISTRATION_ID_MAX, registration_char, REGISTRATION_RULE, why,
                 why_len);
}
