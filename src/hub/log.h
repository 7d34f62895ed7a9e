/* azkit-hub's log: one line per event on stderr, "<UTC time> <level> <what>". Never logs
 * secrets (keys, SAS signatures, message payloads). */
#ifndef AZK_HUB_LOG_H
#define AZK_HUB_LOG_H

enum hub_log_level { HUB_LOG_ERROR = 0, HUB_LOG_WARN = 1, HUB_LOG_INFO = 2, HUB_LOG_DEBUG = 3 };

/* Sets the most verbose level printed (default INFO). */
void hub_log_set_level(enum hub_log_level level);
/* Parses "error", "warn", "info", "debug"; returns 0 or -1. */
int hub_log_parse_level(const char *s, enum hub_log_level *out);

void hub_log(enum hub_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
