/* The evaluator of parsed IoT Hub queries (query.h) over twin documents: WHERE conditions,
 * projections and aggregates (COUNT, SUM, AVG, MIN, MAX, GROUP BY). Values borrow from the
 * twin and the query; nothing is allocated while a condition is evaluated. */
#include "hub/service/query.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum vt { V_UNDEF, V_NULL, V_BOOL, V_NUM, V_STR, V_JSON };

struct val {
    enum vt t;
    bool b;
    double n;
    const char *s;
    const cJSON *j; /* V_JSON: an object or an array */
};

static const struct val undef = {V_UNDEF, false, 0, NULL, NULL};

static struct val of_json(const cJSON *j)
{
    struct val v = undef;
    if (j == NULL || cJSON_IsInvalid(j))
        return v;
    if (cJSON_IsNull(j)) {
        v.t = V_NULL;
    } else if (cJSON_IsBool(j)) {
        v.t = V_BOOL;
        v.b = cJSON_IsTrue(j);
    } else if (cJSON_IsNumber(j)) {
        v.t = V_NUM;
        v.n = j->valuedouble;
    } else if (cJSON_IsString(j)) {
        v.t = V_STR;
        v.s = j->valuestring;
    } else {
        v.t = V_JSON;
        v.j = j;
    }
    return v;
}

static struct val of_bool(bool b)
{
    struct val v = {V_BOOL, b, 0, NULL, NULL};
    return v;
}

static struct val of_num(double n)
{
    struct val v = {V_NUM, false, n, NULL, NULL};
    return v;
}

/* The member `name` of object `o`: exact, else (top level only: the twin's own fields, which
 * Microsoft's examples write in any case, e.g. LastActivityTime) case-insensitive. */
static const cJSON *member(const cJSON *o, const char *name, bool top)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);
    if (m == NULL && top)
        m = cJSON_GetObjectItem(o, name);
    return m;
}

static const cJSON *resolve(const cJSON *twin, const struct hub_qpath *path)
{
    const cJSON *cur = twin;
    for (size_t i = 0; i < path->n && cur != NULL; i++) {
        const struct hub_qseg *s = &path->seg[i];
        if (s->name != NULL)
            cur = cJSON_IsObject(cur) ? member(cur, s->name, i == 0) : NULL;
        else
            cur = cJSON_IsArray(cur) ? cJSON_GetArrayItem(cur, (int)s->index) : NULL;
    }
    return cur;
}

/* ---- conditions -------------------------------------------------------------------------- */

/* <0, 0, >0 for comparable values; false when they are not (different types, or objects,
 * arrays, undefined). Booleans and nulls compare for equality only. */
static bool compare(struct val a, struct val b, bool ordering, int *out)
{
    if (a.t != b.t)
        return false;
    switch (a.t) {
    case V_NUM:
        *out = a.n < b.n ? -1 : a.n > b.n ? 1 : 0;
        return true;
    case V_STR:
        *out = strcmp(a.s, b.s);
        return true;
    case V_BOOL:
        *out = a.b == b.b ? 0 : 1;
        return !ordering;
    case V_NULL:
        *out = 0;
        return !ordering;
    default:
        return false;
    }
}

static struct val eval(const struct hub_qx *x, const cJSON *twin);

static struct val logic(const struct hub_qx *x, const cJSON *twin)
{
    struct val a = eval(x->a, twin);
    bool is_and = x->op == HUB_QOP_AND;
    /* false AND anything = false; true OR anything = true. */
    if (a.t == V_BOOL && a.b != is_and)
        return a;
    struct val b = eval(x->b, twin);
    if (b.t == V_BOOL && b.b != is_and)
        return b;
    if (a.t == V_BOOL && b.t == V_BOOL)
        return of_bool(is_and);
    return undef;
}

static struct val arith(enum hub_qop op, struct val a, struct val b)
{
    if (a.t != V_NUM || b.t != V_NUM)
        return undef;
    switch (op) {
    case HUB_QOP_ADD: return of_num(a.n + b.n);
    case HUB_QOP_SUB: return of_num(a.n - b.n);
    case HUB_QOP_MUL: return of_num(a.n * b.n);
    case HUB_QOP_DIV: return b.n == 0 ? undef : of_num(a.n / b.n);
    default: {
        /* % on whole numbers (the twin's counters and ids); anything else is undefined. */
        if (!(a.n >= -9e15 && a.n <= 9e15 && b.n >= -9e15 && b.n <= 9e15))
            return undef;
        int64_t ia = (int64_t)a.n, ib = (int64_t)b.n;
        if ((double)ia != a.n || (double)ib != b.n || ib == 0)
            return undef;
        return of_num((double)(ia % ib));
    }
    }
}

static struct val binary(const struct hub_qx *x, const cJSON *twin)
{
    if (x->op == HUB_QOP_AND || x->op == HUB_QOP_OR)
        return logic(x, twin);
    struct val a = eval(x->a, twin), b = eval(x->b, twin);
    int c;
    switch (x->op) {
    case HUB_QOP_EQ:
        return compare(a, b, false, &c) ? of_bool(c == 0) : undef;
    case HUB_QOP_NE:
        return compare(a, b, false, &c) ? of_bool(c != 0) : undef;
    case HUB_QOP_LT:
        return compare(a, b, true, &c) ? of_bool(c < 0) : undef;
    case HUB_QOP_LE:
        return compare(a, b, true, &c) ? of_bool(c <= 0) : undef;
    case HUB_QOP_GT:
        return compare(a, b, true, &c) ? of_bool(c > 0) : undef;
    case HUB_QOP_GE:
        return compare(a, b, true, &c) ? of_bool(c >= 0) : undef;
    default:
        return arith(x->op, a, b);
    }
}

static struct val in_list(const struct hub_qx *x, const cJSON *twin)
{
    struct val a = eval(x->a, twin);
    if (a.t == V_UNDEF || a.t == V_JSON)
        return undef;
    const cJSON *e;
    cJSON_ArrayForEach(e, x->value) {
        int c;
        if (compare(a, of_json(e), false, &c) && c == 0)
            return of_bool(!x->negate);
    }
    return of_bool(x->negate);
}

static struct val call(const struct hub_qx *x, const cJSON *twin)
{
    struct val a = eval(x->a, twin);
    switch (x->fn) {
    case HUB_QFN_IS_DEFINED: return of_bool(a.t != V_UNDEF);
    case HUB_QFN_IS_NULL: return of_bool(a.t == V_NULL);
    case HUB_QFN_IS_BOOL: return of_bool(a.t == V_BOOL);
    case HUB_QFN_IS_NUMBER: return of_bool(a.t == V_NUM);
    case HUB_QFN_IS_STRING: return of_bool(a.t == V_STR);
    case HUB_QFN_IS_ARRAY: return of_bool(a.t == V_JSON && cJSON_IsArray(a.j));
    case HUB_QFN_IS_OBJECT: return of_bool(a.t == V_JSON && cJSON_IsObject(a.j));
    case HUB_QFN_IS_PRIMITIVE:
        return of_bool(a.t == V_NULL || a.t == V_BOOL || a.t == V_NUM || a.t == V_STR);
    case HUB_QFN_STARTSWITH:
    case HUB_QFN_ENDSWITH: {
        struct val b = eval(x->b, twin);
        if (a.t != V_STR || b.t != V_STR)
            return undef;
        size_t la = strlen(a.s), lb = strlen(b.s);
        if (lb > la)
            return of_bool(false);
        const char *from = x->fn == HUB_QFN_STARTSWITH ? a.s : a.s + la - lb;
        return of_bool(memcmp(from, b.s, lb) == 0);
    }
    }
    return undef;
}

static struct val eval(const struct hub_qx *x, const cJSON *twin)
{
    switch (x->kind) {
    case HUB_QX_CONST:
        return of_json(x->value);
    case HUB_QX_PATH:
        return of_json(resolve(twin, &x->path));
    case HUB_QX_NOT: {
        struct val a = eval(x->a, twin);
        return a.t == V_BOOL ? of_bool(!a.b) : undef;
    }
    case HUB_QX_NEG: {
        struct val a = eval(x->a, twin);
        return a.t == V_NUM ? of_num(-a.n) : undef;
    }
    case HUB_QX_BINARY:
        return binary(x, twin);
    case HUB_QX_IN:
        return in_list(x, twin);
    case HUB_QX_CALL:
        return call(x, twin);
    }
    return undef;
}

bool hub_query_match(const struct hub_query *q, const cJSON *twin)
{
    if (q->where == NULL)
        return true;
    struct val v = eval(q->where, twin);
    return v.t == V_BOOL && v.b;
}

/* ---- projections ------------------------------------------------------------------------- */

cJSON *hub_query_project(const struct hub_query *q, const cJSON *twin)
{
    if (q->star)
        return cJSON_Duplicate(twin, 1);
    cJSON *row = cJSON_CreateObject();
    for (size_t i = 0; row != NULL && i < q->nitems; i++) {
        const cJSON *v = resolve(twin, &q->items[i].path);
        if (v == NULL)
            continue; /* undefined: no member, as Azure leaves it out */
        cJSON *copy = cJSON_Duplicate(v, 1);
        if (copy == NULL || !cJSON_AddItemToObject(row, q->items[i].name, copy)) {
            cJSON_Delete(copy);
            cJSON_Delete(row);
            row = NULL;
        }
    }
    return row;
}

/* ---- aggregates -------------------------------------------------------------------------- */

/* One aggregate item of one group. */
struct acc {
    double sum;
    size_t count;         /* values that took part (COUNT: twins) */
    const cJSON *best;    /* MIN/MAX so far (borrowed from `keep`) */
    cJSON *keep;          /* a copy of best */
};

struct group {
    uint64_t hash;        /* of the key's text and `defined`: most mismatches end here */
    cJSON *key;           /* array of the GROUP BY values (JSON null stands for undefined) */
    bool *defined;        /* per GROUP BY path */
    struct acc *acc;      /* per item */
};

struct hub_query_agg {
    const struct hub_query *q;
    struct group *groups;
    size_t n, cap;
};

struct hub_query_agg *hub_query_agg_new(const struct hub_query *q)
{
    struct hub_query_agg *a = calloc(1, sizeof(*a));
    if (a != NULL)
        a->q = q;
    return a;
}

static void group_clear(struct group *g, size_t nitems)
{
    cJSON_Delete(g->key);
    free(g->defined);
    if (g->acc != NULL)
        for (size_t i = 0; i < nitems; i++)
            cJSON_Delete(g->acc[i].keep);
    free(g->acc);
}

void hub_query_agg_free(struct hub_query_agg *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n; i++)
        group_clear(&a->groups[i], a->q->nitems);
    free(a->groups);
    free(a);
}

/* The group of `twin`, created when new; NULL when out of memory. */
static struct group *group_of(struct hub_query_agg *a, const cJSON *twin)
{
    const struct hub_query *q = a->q;
    cJSON *key = cJSON_CreateArray();
    bool *defined = calloc(q->ngroup + 1, sizeof(bool));
    if (key == NULL || defined == NULL)
        goto fail;
    for (size_t g = 0; g < q->ngroup; g++) {
        const cJSON *v = resolve(twin, &q->group[g]);
        defined[g] = v != NULL;
        cJSON *c = v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
        if (c == NULL || !cJSON_AddItemToArray(key, c)) {
            cJSON_Delete(c);
            goto fail;
        }
    }
    char *text = cJSON_PrintUnformatted(key);
    if (text == NULL)
        goto fail;
    uint64_t hash = 1469598103934665603ull; /* FNV-1a */
    for (const unsigned char *c = (const unsigned char *)text; *c; c++)
        hash = (hash ^ *c) * 1099511628211ull;
    for (size_t g = 0; g < q->ngroup; g++)
        hash = (hash ^ (defined[g] ? 1u : 2u)) * 1099511628211ull;
    cJSON_free(text);
    for (size_t i = 0; i < a->n; i++) {
        struct group *g = &a->groups[i];
        if (g->hash == hash && memcmp(g->defined, defined, q->ngroup * sizeof(bool)) == 0 &&
            cJSON_Compare(g->key, key, 1)) {
            cJSON_Delete(key);
            free(defined);
            return g;
        }
    }
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        struct group *gs = realloc(a->groups, cap * sizeof(*gs));
        if (gs == NULL)
            goto fail;
        a->groups = gs;
        a->cap = cap;
    }
    struct group *g = &a->groups[a->n];
    g->acc = calloc(q->nitems + 1, sizeof(struct acc));
    if (g->acc == NULL)
        goto fail;
    g->hash = hash;
    g->key = key;
    g->defined = defined;
    a->n++;
    return g;
fail:
    cJSON_Delete(key);
    free(defined);
    return NULL;
}

/* Is `v` a better MIN (want < 0) or MAX (want > 0) than `best`? Numbers and strings; across
 * the two, numbers come first. */
static bool better(const cJSON *v, const cJSON *best, int want)
{
    if (best == NULL)
        return true;
    int c;
    if (cJSON_IsNumber(v) && cJSON_IsNumber(best))
        c = v->valuedouble < best->valuedouble ? -1 : v->valuedouble > best->valuedouble;
    else if (cJSON_IsString(v) && cJSON_IsString(best))
        c = strcmp(v->valuestring, best->valuestring);
    else
        c = cJSON_IsNumber(v) ? -1 : 1;
    return want < 0 ? c < 0 : c > 0;
}

int hub_query_agg_add(struct hub_query_agg *a, const cJSON *twin)
{
    struct group *g = group_of(a, twin);
    if (g == NULL)
        return -ENOMEM;
    const struct hub_query *q = a->q;
    for (size_t i = 0; i < q->nitems; i++) {
        const struct hub_qitem *it = &q->items[i];
        struct acc *acc = &g->acc[i];
        if (it->kind == HUB_QITEM_COUNT) {
            acc->count++;
            continue;
        }
        if (it->kind == HUB_QITEM_PATH)
            continue;
        const cJSON *v = resolve(twin, &it->path);
        if (it->kind == HUB_QITEM_SUM || it->kind == HUB_QITEM_AVG) {
            if (cJSON_IsNumber(v)) {
                acc->sum += v->valuedouble;
                acc->count++;
            }
            continue;
        }
        if (!cJSON_IsNumber(v) && !cJSON_IsString(v))
            continue;
        if (better(v, acc->best, it->kind == HUB_QITEM_MIN ? -1 : 1)) {
            cJSON *copy = cJSON_Duplicate(v, 1);
            if (copy == NULL)
                return -ENOMEM;
            cJSON_Delete(acc->keep);
            acc->keep = copy;
            acc->best = copy;
        }
        acc->count++;
    }
    return 0;
}

/* The value of item i of group g, or NULL when it is undefined (no member in the row). */
static cJSON *item_value(const struct hub_query_agg *a, const struct group *g, size_t i)
{
    const struct hub_qitem *it = &a->q->items[i];
    const struct acc *acc = &g->acc[i];
    switch (it->kind) {
    case HUB_QITEM_COUNT:
        return cJSON_CreateNumber((double)acc->count);
    case HUB_QITEM_SUM:
        return cJSON_CreateNumber(acc->sum);
    case HUB_QITEM_AVG:
        return acc->count ? cJSON_CreateNumber(acc->sum / (double)acc->count) : NULL;
    case HUB_QITEM_MIN:
    case HUB_QITEM_MAX:
        return acc->best ? cJSON_Duplicate(acc->best, 1) : NULL;
    case HUB_QITEM_PATH:
        /* The parser made it one of the GROUP BY paths. */
        return g->defined[it->group] ? cJSON_Duplicate(cJSON_GetArrayItem(g->key,
                                                                          (int)it->group), 1)
                                     : NULL;
    }
    return NULL;
}

cJSON *hub_query_agg_rows(const struct hub_query_agg *a)
{
    cJSON *rows = cJSON_CreateArray();
    /* Without GROUP BY an aggregate query has one row, even over no twins (COUNT() = 0). */
    size_t n = a->n;
    struct group empty = {0};
    struct acc *accs = NULL;
    if (n == 0 && a->q->ngroup == 0) {
        accs = calloc(a->q->nitems + 1, sizeof(*accs));
        if (accs == NULL) {
            cJSON_Delete(rows);
            return NULL;
        }
        empty.acc = accs;
        n = 1;
    }
    for (size_t i = 0; rows != NULL && i < n; i++) {
        const struct group *g = a->n ? &a->groups[i] : &empty;
        cJSON *row = cJSON_CreateObject();
        if (row == NULL || !cJSON_AddItemToArray(rows, row)) {
            cJSON_Delete(row);
            cJSON_Delete(rows);
            rows = NULL;
            break;
        }
        for (size_t k = 0; k < a->q->nitems; k++) {
            cJSON *v = item_value(a, g, k);
            if (v != NULL && !cJSON_AddItemToObject(row, a->q->items[k].name, v))
                cJSON_Delete(v);
        }
    }
    free(accs);
    return rows;
}
