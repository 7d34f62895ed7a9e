/* IoT Hub's query language over device twins, as Microsoft Learn documents it ("IoT Hub query
 * language for device and module twins, jobs, and message routing"):
 *
 *   SELECT [TOP n] * | <item> [AS alias] [, ...]
 *   FROM devices
 *   [WHERE <condition>]
 *   [GROUP BY <path> [, ...]]
 *
 * <item> is a twin path (deviceId, tags.a.b, properties.reported['x-y'], arr[0]) or an
 * aggregate: COUNT(), SUM(path), AVG(path), MIN(path), MAX(path). Conditions use constants
 * (numbers, 0x hex, '...' or "..." strings with \' \" \\ \uXXXX escapes, true, false, null,
 * undefined, [array]), paths, = != <> < <= > >=, + - * / %, AND OR NOT, IN / NIN [array],
 * IS_DEFINED, IS_NULL, IS_BOOL, IS_NUMBER, IS_STRING, IS_ARRAY, IS_OBJECT, IS_PRIMITIVE,
 * STARTSWITH(s, prefix), ENDSWITH(s, suffix). Keywords and function names are case-insensitive.
 *
 * Call sequence: hub_query_parse() once (query_parse.c), then for each twin document (the JSON
 * of GET /twins/{id}) hub_query_match() and either hub_query_project() (plain queries) or
 * hub_query_agg_add() (aggregate queries: COUNT..., GROUP BY), then hub_query_agg_rows()
 * (query_eval.c). hub_query_free() at the end. No global state; any thread.
 *
 * Evaluation: as documented, a twin is selected only when the condition is the boolean true and
 * comparisons work between primitive values only; beyond that, SQL's three-valued logic: a
 * path that does not exist is `undefined`; a comparison between different types, or involving
 * an object, an array or undefined, is undefined; false AND undefined = false, true OR
 * undefined = true, NOT undefined = undefined.
 */
#ifndef AZK_HUB_QUERY_H
#define AZK_HUB_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

/* Longest query text accepted (bytes). */
#define HUB_QUERY_TEXT_MAX 8192
/* Deepest nesting of expressions (parentheses, NOT, unary minus, operators). */
#define HUB_QUERY_DEPTH_MAX 64
/* Tallest expression tree (a chain "a OR b OR c ..." is as tall as it is long). */
#define HUB_QUERY_HEIGHT_MAX 512
/* Size of the error text buffer of hub_query_parse(). */
#define HUB_QUERY_ERR_MAX 256

/* A twin path: segments are member names, or array indexes (name NULL). */
struct hub_qseg {
    char *name;  /* NULL for an index */
    long index;
};
struct hub_qpath {
    struct hub_qseg *seg;
    size_t n;
};

enum hub_qx_kind {
    HUB_QX_CONST,   /* value (NULL = undefined) */
    HUB_QX_PATH,    /* path */
    HUB_QX_NOT,     /* NOT a */
    HUB_QX_NEG,     /* -a */
    HUB_QX_BINARY,  /* a op b */
    HUB_QX_IN,      /* a IN value (a cJSON array); NIN when negate */
    HUB_QX_CALL,    /* fn(a[, b]) */
};

enum hub_qop {
    HUB_QOP_AND, HUB_QOP_OR,
    HUB_QOP_EQ, HUB_QOP_NE, HUB_QOP_LT, HUB_QOP_LE, HUB_QOP_GT, HUB_QOP_GE,
    HUB_QOP_ADD, HUB_QOP_SUB, HUB_QOP_MUL, HUB_QOP_DIV, HUB_QOP_MOD,
};

enum hub_qfn {
    HUB_QFN_IS_DEFINED, HUB_QFN_IS_NULL, HUB_QFN_IS_BOOL, HUB_QFN_IS_NUMBER, HUB_QFN_IS_STRING,
    HUB_QFN_IS_ARRAY, HUB_QFN_IS_OBJECT, HUB_QFN_IS_PRIMITIVE, HUB_QFN_STARTSWITH,
    HUB_QFN_ENDSWITH,
};

struct hub_qx {
    enum hub_qx_kind kind;
    enum hub_qop op;       /* BINARY */
    enum hub_qfn fn;       /* CALL */
    bool negate;           /* IN: NIN */
    cJSON *value;          /* CONST, IN */
    struct hub_qpath path; /* PATH */
    struct hub_qx *a, *b;  /* operands / arguments */
    unsigned height;       /* 1 + the height of the deeper operand (at most HUB_QUERY_HEIGHT_MAX) */
};

enum hub_qitem_kind {
    HUB_QITEM_PATH, HUB_QITEM_COUNT, HUB_QITEM_SUM, HUB_QITEM_AVG, HUB_QITEM_MIN,
    HUB_QITEM_MAX,
};

/* One SELECT item and the member name it gets in a result row (its alias, else the path's
 * last member name, else "$1", "$2", ... in order). */
struct hub_qitem {
    enum hub_qitem_kind kind;
    struct hub_qpath path; /* not for COUNT */
    char *name;
    size_t group;          /* PATH in an aggregate query: its index in GROUP BY */
};

struct hub_query {
    bool star;              /* SELECT * */
    long top;               /* TOP n, or -1 */
    struct hub_qitem *items;
    size_t nitems;
    struct hub_qx *where;   /* NULL: every twin */
    struct hub_qpath *group;
    size_t ngroup;
    bool aggregate;         /* an aggregate item or GROUP BY: rows come from hub_query_agg_* */
};

/* ---- query_parse.c ---------------------------------------------------------------------- */

/*
 * Parses `len` bytes of query text. Returns 0 and *out (free with hub_query_free()), or:
 *   -EINVAL   a syntax or semantic error; `err` says what and where ("at character 17"),
 *   -ENOTSUP  a valid query for something the hub does not have (FROM devices.modules, jobs),
 *   -E2BIG    longer than HUB_QUERY_TEXT_MAX or nested deeper than HUB_QUERY_DEPTH_MAX,
 *   -ENOMEM.
 * `err` (HUB_QUERY_ERR_MAX bytes) is always set, "" on success.
 */
int hub_query_parse(const char *text, size_t len, struct hub_query **out, char *err);
void hub_query_free(struct hub_query *q);

/* ---- query_eval.c ----------------------------------------------------------------------- */

/* True when the WHERE condition of `q` is the boolean true for `twin` (no WHERE: true). */
bool hub_query_match(const struct hub_query *q, const cJSON *twin);

/* The result row of a plain (not aggregate) query for a twin that matched: a copy of the twin
 * for SELECT *, else an object with one member per item whose path exists. NULL: no memory. */
cJSON *hub_query_project(const struct hub_query *q, const cJSON *twin);

/* Aggregate queries: one group per distinct GROUP BY key (one group without GROUP BY), in the
 * order the keys are first seen. */
struct hub_query_agg;
struct hub_query_agg *hub_query_agg_new(const struct hub_query *q);
/* Adds a twin that matched. 0 or -ENOMEM. */
int hub_query_agg_add(struct hub_query_agg *a, const cJSON *twin);
/* The rows, a new JSON array (NULL: no memory); the state stays valid. */
cJSON *hub_query_agg_rows(const struct hub_query_agg *a);
void hub_query_agg_free(struct hub_query_agg *a);

#endif
