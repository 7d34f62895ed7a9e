/* The parser of IoT Hub queries (grammar in query.h): a tokenizer and a recursive-descent
 * parser that builds struct hub_query. The text is external input (the service API's
 * POST /devices/query): every error names the character where it happened, nesting and
 * length are bounded, nothing is read past `len`. */
#include "hub/service/query.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "azkit/json.h"

enum tok_kind {
    T_EOF, T_IDENT, T_NUMBER, T_STRING, T_LPAREN, T_RPAREN, T_LBRACKET, T_RBRACKET, T_COMMA,
    T_DOT, T_STAR, T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE, T_PLUS, T_MINUS, T_SLASH, T_PERCENT,
};

struct tok {
    enum tok_kind kind;
    size_t pos;      /* offset of its first character */
    size_t len;      /* its length in the text */
    char *str;       /* T_STRING: the decoded text (heap) */
    size_t str_len;
    double num;      /* T_NUMBER */
};

struct parser {
    const char *s;
    size_t len;
    size_t pos;      /* next character to tokenize */
    struct tok t;    /* current token */
    int depth;
    int rc;          /* first error (0 = none) */
    char *err;
    unsigned unnamed; /* $1, $2, ... */
};

static bool failed(const struct parser *p)
{
    return p->rc != 0;
}

__attribute__((format(printf, 4, 5)))
static void fail_at(struct parser *p, int rc, size_t pos, const char *fmt, ...)
{
    if (p->rc != 0)
        return;
    p->rc = rc;
    char what[HUB_QUERY_ERR_MAX - 40];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    snprintf(p->err, HUB_QUERY_ERR_MAX, "%s (at character %zu)", what, pos + 1);
}

/* "near 'text'" of the current token, for error texts. */
static const char *near(const struct parser *p, char *buf, size_t size)
{
    if (p->t.kind == T_EOF)
        return "at the end of the query";
    size_t n = p->t.len > 24 ? 24 : p->t.len;
    char shown[32];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p->s[p->t.pos + i];
        shown[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    shown[k] = '\0';
    snprintf(buf, size, "near '%s%s'", shown, p->t.len > n ? "..." : "");
    return buf;
}

static void fail_here(struct parser *p, const char *expected)
{
    char nb[48];
    fail_at(p, -EINVAL, p->t.pos, "Syntax error: expected %s %s", expected,
            near(p, nb, sizeof(nb)));
}

/* ---- tokenizer --------------------------------------------------------------------------- */

static bool is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A quoted string starting at p->pos (the quote); sets the token. The escapes are JSON's plus
 * \' (Microsoft Learn lists \' \" \\ \uXXXX): the contents are rewritten in JSON's form (\'
 * becomes ', a bare " becomes \") and decoded by the JSON reader's unescape. */
static void lex_string(struct parser *p)
{
    const char *s = p->s;
    size_t start = p->pos, i = p->pos + 1;
    char quote = s[start];
    char *json = malloc(2 * (p->len - start) + 1);
    char *out = malloc(p->len - start + 1);
    if (json == NULL || out == NULL) {
        free(json);
        free(out);
        fail_at(p, -ENOMEM, start, "Out of memory");
        return;
    }
    size_t n = 0;
    for (;;) {
        if (i >= p->len || (s[i] == '\\' && i + 1 >= p->len)) {
            fail_at(p, -EINVAL, start, "Syntax error: string not closed (a %c is missing)",
                    quote);
            break;
        }
        char c = s[i];
        if (c == quote) {
            i++;
            break;
        }
        if (c == '\0') {
            fail_at(p, -EINVAL, i, "Syntax error: NUL character inside a string");
            break;
        }
        if (c == '\\') {
            char e = s[i + 1];
            if (e != '\'' && (e == '\0' || strchr("\"\\/bfnrtu", e) == NULL)) {
                fail_at(p, -EINVAL, i, "Syntax error: unknown escape \\%c in a string (allowed: "
                        "\\' \\\" \\\\ \\uXXXX)", e > 0x20 && e < 0x7f ? e : '?');
                break;
            }
            if (e != '\'')
                json[n++] = '\\';
            json[n++] = e;
            i += 2;
            continue;
        }
        if (c == '"')
            json[n++] = '\\';
        json[n++] = c;
        i++;
    }
    size_t out_len = 0;
    if (!failed(p) &&
        azk_json_string_unescape((struct azk_span){json, n}, out, p->len - start, &out_len) != 0)
        fail_at(p, -EINVAL, start, "Syntax error: bad \\u escape in a string (four hex digits; "
                "surrogates only in pairs)");
    if (!failed(p) && memchr(out, '\0', out_len) != NULL)
        fail_at(p, -EINVAL, start, "Syntax error: \\u0000 (NUL) is not allowed in a string");
    free(json);
    if (failed(p)) {
        free(out);
        return;
    }
    out[out_len] = '\0';
    p->t.kind = T_STRING;
    p->t.str = out;
    p->t.str_len = out_len;
    p->t.len = i - start;
    p->pos = i;
}

static void lex_number(struct parser *p)
{
    const char *s = p->s;
    size_t start = p->pos, i = start;
    if (s[i] == '0' && i + 1 < p->len && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
        i += 2;
        while (i < p->len && isxdigit((unsigned char)s[i]))
            i++;
        if (i == start + 2) {
            fail_at(p, -EINVAL, start, "Syntax error: 0x needs hex digits");
            return;
        }
    } else {
        while (i < p->len && is_digit(s[i]))
            i++;
        if (i < p->len && s[i] == '.') {
            i++;
            while (i < p->len && is_digit(s[i]))
                i++;
        }
        if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
            size_t e = i + 1;
            if (e < p->len && (s[e] == '+' || s[e] == '-'))
                e++;
            if (e < p->len && is_digit(s[e])) {
                i = e;
                while (i < p->len && is_digit(s[i]))
                    i++;
            }
        }
    }
    if (i < p->len && (is_ident_start(s[i]) || is_digit(s[i]))) {
        fail_at(p, -EINVAL, i, "Syntax error: unexpected character after a number");
        return;
    }
    /* strtod() reads both forms (decimal, and 0x followed by hex digits only). */
    char buf[64];
    size_t n = i - start;
    if (n >= sizeof(buf)) {
        fail_at(p, -EINVAL, start, "Syntax error: number too long");
        return;
    }
    memcpy(buf, s + start, n);
    buf[n] = '\0';
    double v = strtod(buf, NULL);
    if (!isfinite(v)) {
        fail_at(p, -EINVAL, start, "Number out of range");
        return;
    }
    p->t.kind = T_NUMBER;
    p->t.num = v;
    p->t.len = n;
    p->pos = i;
}

/* Reads the next token into p->t (freeing the previous one's string). */
static void next(struct parser *p)
{
    free(p->t.str);
    memset(&p->t, 0, sizeof(p->t));
    if (failed(p)) {
        p->t.kind = T_EOF;
        p->t.pos = p->len;
        return;
    }
    const char *s = p->s;
    while (p->pos < p->len && (s[p->pos] == ' ' || s[p->pos] == '\t' || s[p->pos] == '\n' ||
                               s[p->pos] == '\r'))
        p->pos++;
    p->t.pos = p->pos;
    if (p->pos >= p->len) {
        p->t.kind = T_EOF;
        return;
    }
    char c = s[p->pos];
    char c2 = p->pos + 1 < p->len ? s[p->pos + 1] : '\0';
    size_t l = 1;
    enum tok_kind k;
    switch (c) {
    case '(': k = T_LPAREN; break;
    case ')': k = T_RPAREN; break;
    case '[': k = T_LBRACKET; break;
    case ']': k = T_RBRACKET; break;
    case ',': k = T_COMMA; break;
    case '*': k = T_STAR; break;
    case '+': k = T_PLUS; break;
    case '-': k = T_MINUS; break;
    case '/': k = T_SLASH; break;
    case '%': k = T_PERCENT; break;
    case '=': k = T_EQ; break;
    case '!':
        if (c2 != '=') {
            fail_at(p, -EINVAL, p->pos, "Syntax error: '!' must be followed by '=' (use NOT "
                    "for negation)");
            p->t.kind = T_EOF;
            return;
        }
        k = T_NE;
        l = 2;
        break;
    case '<':
        k = c2 == '=' ? T_LE : c2 == '>' ? T_NE : T_LT;
        l = k == T_LT ? 1 : 2;
        break;
    case '>':
        k = c2 == '=' ? T_GE : T_GT;
        l = k == T_GT ? 1 : 2;
        break;
    case '.':
        if (!is_digit(c2)) {
            k = T_DOT;
            break;
        }
        lex_number(p);
        return;
    case '\'':
    case '"':
        lex_string(p);
        if (failed(p))
            p->t.kind = T_EOF;
        return;
    default:
        if (is_digit(c)) {
            lex_number(p);
            return;
        }
        if (is_ident_start(c)) {
            size_t i = p->pos + 1;
            while (i < p->len && (is_ident_start(s[i]) || is_digit(s[i])))
                i++;
            p->t.kind = T_IDENT;
            p->t.len = i - p->pos;
            p->pos = i;
            return;
        }
        if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
            fail_at(p, -EINVAL, p->pos, "Syntax error: unexpected character 0x%02x",
                    (unsigned char)c);
        else
            fail_at(p, -EINVAL, p->pos, "Syntax error: unexpected character '%c'", c);
        p->t.kind = T_EOF;
        return;
    }
    p->t.kind = k;
    p->t.len = l;
    p->pos += l;
}

/* Is the current token the keyword `kw` (case-insensitive)? */
static bool is_kw(const struct parser *p, const char *kw)
{
    return p->t.kind == T_IDENT && strlen(kw) == p->t.len &&
           strncasecmp(p->s + p->t.pos, kw, p->t.len) == 0;
}

static bool accept_kw(struct parser *p, const char *kw)
{
    if (!is_kw(p, kw))
        return false;
    next(p);
    return true;
}

static bool accept(struct parser *p, enum tok_kind k)
{
    if (p->t.kind != k)
        return false;
    next(p);
    return true;
}

static void expect(struct parser *p, enum tok_kind k, const char *what)
{
    if (!accept(p, k))
        fail_here(p, what);
}

static void expect_kw(struct parser *p, const char *kw)
{
    if (!accept_kw(p, kw)) {
        char what[32];
        snprintf(what, sizeof(what), "%s", kw);
        fail_here(p, what);
    }
}

/* Words that end or join clauses and so cannot start a path. */
static bool is_reserved(const struct parser *p)
{
    static const char *const words[] = {"SELECT", "FROM", "WHERE", "GROUP", "BY", "AS", "AND",
                                        "OR", "NOT", "IN", "NIN", "TOP"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (is_kw(p, words[i]))
            return true;
    return false;
}

static char *ident_dup(const struct parser *p)
{
    char *n = malloc(p->t.len + 1);
    if (n != NULL) {
        memcpy(n, p->s + p->t.pos, p->t.len);
        n[p->t.len] = '\0';
    }
    return n;
}

/* ---- AST memory -------------------------------------------------------------------------- */

static void path_clear(struct hub_qpath *path)
{
    for (size_t i = 0; i < path->n; i++)
        free(path->seg[i].name);
    free(path->seg);
    path->seg = NULL;
    path->n = 0;
}

static void qx_free(struct hub_qx *x)
{
    if (x == NULL)
        return;
    cJSON_Delete(x->value);
    path_clear(&x->path);
    qx_free(x->a);
    qx_free(x->b);
    free(x);
}

void hub_query_free(struct hub_query *q)
{
    if (q == NULL)
        return;
    for (size_t i = 0; i < q->nitems; i++) {
        path_clear(&q->items[i].path);
        free(q->items[i].name);
    }
    free(q->items);
    for (size_t i = 0; i < q->ngroup; i++)
        path_clear(&q->group[i]);
    free(q->group);
    qx_free(q->where);
    free(q);
}

static struct hub_qx *qx_new(struct parser *p, enum hub_qx_kind kind)
{
    struct hub_qx *x = calloc(1, sizeof(*x));
    if (x == NULL)
        fail_at(p, -ENOMEM, p->t.pos, "Out of memory");
    else
        x->kind = kind;
    if (x != NULL)
        x->height = 1;
    return x;
}

/* The end of every node's parse: on failure frees the node and returns NULL; else sets its
 * height from its operands, failing the parse when the tree gets too tall (evaluation recurses
 * along it). */
static struct hub_qx *finish(struct parser *p, struct hub_qx *x)
{
    if (x != NULL && !failed(p)) {
        unsigned ha = x->a ? x->a->height : 0, hb = x->b ? x->b->height : 0;
        x->height = 1 + (ha > hb ? ha : hb);
        if (x->height > HUB_QUERY_HEIGHT_MAX)
            fail_at(p, -E2BIG, p->t.pos, "The condition has more than %d operators in a "
                    "chain", HUB_QUERY_HEIGHT_MAX);
    }
    if (failed(p)) {
        qx_free(x);
        return NULL;
    }
    return x;
}

/* ---- paths ------------------------------------------------------------------------------- */

/* `arr` (n elements of `size` bytes) reallocated with one more, zeroed element; NULL (the parse
 * failed, `arr` is untouched) when out of memory. */
static void *grow(struct parser *p, void *arr, size_t n, size_t size)
{
    char *a = realloc(arr, (n + 1) * size);
    if (a == NULL)
        fail_at(p, -ENOMEM, p->t.pos, "Out of memory");
    else
        memset(a + n * size, 0, size);
    return a;
}

static bool path_push(struct parser *p, struct hub_qpath *path, char *name, long index)
{
    struct hub_qseg *seg = grow(p, path->seg, path->n, sizeof(*seg));
    if (seg == NULL) {
        free(name);
        return false;
    }
    path->seg = seg;
    seg[path->n].name = name;
    seg[path->n].index = index;
    path->n++;
    return true;
}

/* The current identifier as a new path segment name; false (parse failed) when out of memory. */
static bool push_ident(struct parser *p, struct hub_qpath *path)
{
    char *n = ident_dup(p);
    if (n == NULL) {
        fail_at(p, -ENOMEM, p->t.pos, "Out of memory");
        return false;
    }
    next(p);
    return path_push(p, path, n, 0);
}

/* One '[' ... ']' segment (the current token is '['): a quoted member name or an index. */
static void parse_bracket(struct parser *p, struct hub_qpath *path)
{
    next(p);
    if (p->t.kind == T_STRING) {
        char *n = p->t.str;
        p->t.str = NULL;
        next(p);
        if (!path_push(p, path, n, 0))
            return;
    } else if (p->t.kind == T_NUMBER) {
        double v = p->t.num;
        if (!(v >= 0 && v <= 1e9) || v != (double)(long)v) {
            fail_here(p, "an array index (0, 1, ...)");
            return;
        }
        next(p);
        if (!path_push(p, path, NULL, (long)v))
            return;
    } else {
        fail_here(p, "a quoted property name or an array index inside [ ]");
        return;
    }
    expect(p, T_RBRACKET, "']'");
}

/* A path whose first name is the current identifier: name ( '.' name | '[' 'str' | n ']' )*.
 * A leading "devices." (the collection's name) is dropped. */
static void parse_path(struct parser *p, struct hub_qpath *path)
{
    if (p->t.kind != T_IDENT || is_reserved(p)) {
        fail_here(p, "a property name");
        return;
    }
    if (is_kw(p, "devices") && p->pos < p->len && p->s[p->pos] == '.')
        next(p); /* the '.' follows */
    else if (!push_ident(p, path))
        return;
    while (!failed(p)) {
        if (p->t.kind == T_LBRACKET && path->n > 0) {
            parse_bracket(p, path);
        } else if (p->t.kind == T_DOT) {
            next(p);
            if (p->t.kind != T_IDENT) {
                fail_here(p, "a property name after '.'");
                return;
            }
            push_ident(p, path);
        } else {
            break;
        }
    }
    /* "devices.5": the tokenizer reads ".5" as a number, and the path is left empty. */
    if (!failed(p) && path->n == 0)
        fail_here(p, "a property name after 'devices.'");
}

/* ---- expressions ------------------------------------------------------------------------- */

static struct hub_qx *parse_or(struct parser *p);

static bool enter(struct parser *p)
{
    if (++p->depth > HUB_QUERY_DEPTH_MAX) {
        fail_at(p, -E2BIG, p->t.pos, "The query is nested deeper than %d levels",
                HUB_QUERY_DEPTH_MAX);
        return false;
    }
    return true;
}

static void leave(struct parser *p)
{
    p->depth--;
}

/* A constant: number (with optional '-'), string, true, false, null, undefined, [array].
 * NULL with *undefined set for `undefined`. */
static cJSON *parse_constant(struct parser *p, bool *undefined)
{
    *undefined = false;
    if (!enter(p))
        return NULL;
    cJSON *v = NULL;
    if (p->t.kind == T_MINUS) {
        next(p);
        if (p->t.kind != T_NUMBER) {
            fail_here(p, "a number after '-'");
        } else {
            v = cJSON_CreateNumber(-p->t.num);
            next(p);
        }
    } else if (p->t.kind == T_NUMBER) {
        v = cJSON_CreateNumber(p->t.num);
        next(p);
    } else if (p->t.kind == T_STRING) {
        v = cJSON_CreateString(p->t.str);
        next(p);
    } else if (is_kw(p, "true") || is_kw(p, "false")) {
        v = cJSON_CreateBool(is_kw(p, "true"));
        next(p);
    } else if (is_kw(p, "null")) {
        v = cJSON_CreateNull();
        next(p);
    } else if (is_kw(p, "undefined")) {
        *undefined = true;
        next(p);
        leave(p);
        return NULL;
    } else if (p->t.kind == T_LBRACKET) {
        next(p);
        v = cJSON_CreateArray();
        if (v != NULL && p->t.kind != T_RBRACKET) {
            do {
                bool u;
                cJSON *e = parse_constant(p, &u);
                if (failed(p))
                    break;
                if (u) {
                    fail_at(p, -EINVAL, p->t.pos, "Syntax error: undefined cannot be an "
                            "array element");
                    break;
                }
                cJSON_AddItemToArray(v, e);
            } while (accept(p, T_COMMA));
        }
        expect(p, T_RBRACKET, "',' or ']' in an array constant");
    } else {
        fail_here(p, "a constant (number, 'string', true, false, null or [array])");
    }
    if (v == NULL && !failed(p))
        fail_at(p, -ENOMEM, p->t.pos, "Out of memory");
    if (failed(p)) {
        cJSON_Delete(v);
        v = NULL;
    }
    leave(p);
    return v;
}

static const struct {
    const char *name;
    enum hub_qfn fn;
    int nargs;
} functions[] = {
    {"IS_DEFINED", HUB_QFN_IS_DEFINED, 1},     {"IS_NULL", HUB_QFN_IS_NULL, 1},
    {"IS_BOOL", HUB_QFN_IS_BOOL, 1},           {"IS_NUMBER", HUB_QFN_IS_NUMBER, 1},
    {"IS_STRING", HUB_QFN_IS_STRING, 1},       {"IS_ARRAY", HUB_QFN_IS_ARRAY, 1},
    {"IS_OBJECT", HUB_QFN_IS_OBJECT, 1},       {"IS_PRIMITIVE", HUB_QFN_IS_PRIMITIVE, 1},
    {"STARTSWITH", HUB_QFN_STARTSWITH, 2},     {"ENDSWITH", HUB_QFN_ENDSWITH, 2},
};

static struct hub_qx *parse_call(struct parser *p)
{
    size_t at = p->t.pos;
    size_t f = 0, nf = sizeof(functions) / sizeof(functions[0]);
    while (f < nf && !is_kw(p, functions[f].name))
        f++;
    if (f == nf) {
        char *name = ident_dup(p);
        fail_at(p, -EINVAL, at, "Unknown function %s: the supported functions are IS_DEFINED, "
                "IS_NULL, IS_BOOL, IS_NUMBER, IS_STRING, IS_ARRAY, IS_OBJECT, IS_PRIMITIVE, "
                "STARTSWITH and ENDSWITH", name ? name : "?");
        free(name);
        return NULL;
    }
    next(p); /* the name */
    next(p); /* '(' */
    struct hub_qx *x = qx_new(p, HUB_QX_CALL);
    if (x == NULL)
        return NULL;
    x->fn = functions[f].fn;
    x->a = parse_or(p);
    if (functions[f].nargs == 2) {
        expect(p, T_COMMA, "',' and a second argument");
        if (!failed(p))
            x->b = parse_or(p);
    }
    if (!failed(p) && p->t.kind != T_RPAREN) {
        fail_at(p, -EINVAL, p->t.pos, "Syntax error: %s takes %d argument%s",
                functions[f].name, functions[f].nargs, functions[f].nargs == 1 ? "" : "s");
    }
    expect(p, T_RPAREN, "')'");
    return finish(p, x);
}

static struct hub_qx *parse_primary(struct parser *p)
{
    struct hub_qx *x = NULL;
    if (accept(p, T_LPAREN)) {
        x = parse_or(p);
        expect(p, T_RPAREN, "')'");
    } else if (p->t.kind == T_NUMBER || p->t.kind == T_STRING || p->t.kind == T_LBRACKET ||
               is_kw(p, "true") || is_kw(p, "false") || is_kw(p, "null") ||
               is_kw(p, "undefined")) {
        x = qx_new(p, HUB_QX_CONST);
        if (x != NULL) {
            bool u;
            x->value = parse_constant(p, &u);
        }
    } else if (p->t.kind == T_IDENT && !is_reserved(p)) {
        /* A function call when '(' follows the name. */
        size_t after = p->t.pos + p->t.len;
        while (after < p->len && (p->s[after] == ' ' || p->s[after] == '\t' ||
                                  p->s[after] == '\n' || p->s[after] == '\r'))
            after++;
        if (after < p->len && p->s[after] == '(') {
            x = parse_call(p);
        } else {
            x = qx_new(p, HUB_QX_PATH);
            if (x != NULL)
                parse_path(p, &x->path);
        }
    } else {
        fail_here(p, "a value (property, constant, function or '(')");
    }
    return finish(p, x);
}

static struct hub_qx *parse_unary(struct parser *p)
{
    if (!enter(p))
        return NULL;
    struct hub_qx *x;
    if (p->t.kind == T_MINUS) {
        next(p);
        x = qx_new(p, HUB_QX_NEG);
        if (x != NULL)
            x->a = parse_unary(p);
    } else {
        x = parse_primary(p);
    }
    leave(p);
    return finish(p, x);
}

static struct hub_qx *binary(struct parser *p, enum hub_qop op, struct hub_qx *a,
                             struct hub_qx *(*rhs)(struct parser *))
{
    struct hub_qx *x = qx_new(p, HUB_QX_BINARY);
    if (x == NULL) {
        qx_free(a);
        return NULL;
    }
    x->op = op;
    x->a = a;
    if (enter(p)) {
        x->b = rhs(p);
        leave(p);
    }
    return finish(p, x);
}

static struct hub_qx *parse_mul(struct parser *p)
{
    struct hub_qx *x = parse_unary(p);
    while (x != NULL) {
        enum hub_qop op;
        if (p->t.kind == T_STAR)
            op = HUB_QOP_MUL;
        else if (p->t.kind == T_SLASH)
            op = HUB_QOP_DIV;
        else if (p->t.kind == T_PERCENT)
            op = HUB_QOP_MOD;
        else
            break;
        next(p);
        x = binary(p, op, x, parse_unary);
    }
    return x;
}

static struct hub_qx *parse_add(struct parser *p)
{
    struct hub_qx *x = parse_mul(p);
    while (x != NULL && (p->t.kind == T_PLUS || p->t.kind == T_MINUS)) {
        enum hub_qop op = p->t.kind == T_PLUS ? HUB_QOP_ADD : HUB_QOP_SUB;
        next(p);
        x = binary(p, op, x, parse_mul);
    }
    return x;
}

static struct hub_qx *parse_cmp(struct parser *p)
{
    struct hub_qx *x = parse_add(p);
    if (x == NULL)
        return NULL;
    enum hub_qop op;
    switch (p->t.kind) {
    case T_EQ: op = HUB_QOP_EQ; break;
    case T_NE: op = HUB_QOP_NE; break;
    case T_LT: op = HUB_QOP_LT; break;
    case T_LE: op = HUB_QOP_LE; break;
    case T_GT: op = HUB_QOP_GT; break;
    case T_GE: op = HUB_QOP_GE; break;
    default:
        if (is_kw(p, "IN") || is_kw(p, "NIN")) {
            struct hub_qx *in = qx_new(p, HUB_QX_IN);
            if (in == NULL) {
                qx_free(x);
                return NULL;
            }
            in->negate = is_kw(p, "NIN");
            in->a = x;
            next(p);
            /* IN ['a', 'b'] as documented; IN ('a', 'b') as in SQL. */
            if (p->t.kind == T_LPAREN) {
                in->value = cJSON_CreateArray();
                if (in->value == NULL)
                    fail_at(p, -ENOMEM, p->t.pos, "Out of memory");
                next(p);
                do {
                    bool u;
                    cJSON *e = parse_constant(p, &u);
                    if (!failed(p) && u)
                        fail_at(p, -EINVAL, p->t.pos, "Syntax error: undefined cannot be in "
                                "an IN list");
                    if (failed(p))
                        break;
                    cJSON_AddItemToArray(in->value, e);
                } while (accept(p, T_COMMA));
                expect(p, T_RPAREN, "',' or ')' in the IN list");
            } else if (p->t.kind == T_LBRACKET) {
                bool u;
                in->value = parse_constant(p, &u);
            } else {
                fail_here(p, "an array such as ['a', 'b'] after IN/NIN");
            }
            return finish(p, in);
        }
        return x;
    }
    next(p);
    x = binary(p, op, x, parse_add);
    if (x != NULL && (p->t.kind == T_EQ || p->t.kind == T_NE || p->t.kind == T_LT ||
                      p->t.kind == T_LE || p->t.kind == T_GT || p->t.kind == T_GE)) {
        fail_at(p, -EINVAL, p->t.pos, "Syntax error: comparisons cannot be chained (use AND)");
        qx_free(x);
        return NULL;
    }
    return x;
}

static struct hub_qx *parse_not(struct parser *p)
{
    if (!is_kw(p, "NOT"))
        return parse_cmp(p);
    if (!enter(p))
        return NULL;
    next(p);
    struct hub_qx *x = qx_new(p, HUB_QX_NOT);
    if (x != NULL)
        x->a = parse_not(p);
    leave(p);
    return finish(p, x);
}

static struct hub_qx *parse_and(struct parser *p)
{
    struct hub_qx *x = parse_not(p);
    while (x != NULL && accept_kw(p, "AND"))
        x = binary(p, HUB_QOP_AND, x, parse_not);
    return x;
}

static struct hub_qx *parse_or(struct parser *p)
{
    if (!enter(p))
        return NULL;
    struct hub_qx *x = parse_and(p);
    while (x != NULL && accept_kw(p, "OR"))
        x = binary(p, HUB_QOP_OR, x, parse_and);
    leave(p);
    return finish(p, x);
}

/* ---- clauses ----------------------------------------------------------------------------- */

static const struct {
    const char *name;
    enum hub_qitem_kind kind;
} aggregates[] = {
    {"COUNT", HUB_QITEM_COUNT}, {"SUM", HUB_QITEM_SUM}, {"AVG", HUB_QITEM_AVG},
    {"MIN", HUB_QITEM_MIN},     {"MAX", HUB_QITEM_MAX},
};

static bool path_equal(const struct hub_qpath *a, const struct hub_qpath *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        const struct hub_qseg *x = &a->seg[i], *y = &b->seg[i];
        if ((x->name == NULL) != (y->name == NULL))
            return false;
        if (x->name ? strcmp(x->name, y->name) != 0 : x->index != y->index)
            return false;
    }
    return true;
}

static void parse_item(struct parser *p, struct hub_qitem *it)
{
    size_t at = p->t.pos;
    size_t after = p->t.pos + p->t.len;
    while (after < p->len && (p->s[after] == ' ' || p->s[after] == '\t' ||
                              p->s[after] == '\n' || p->s[after] == '\r'))
        after++;
    bool call = p->t.kind == T_IDENT && after < p->len && p->s[after] == '(';
    if (call) {
        size_t a = 0, na = sizeof(aggregates) / sizeof(aggregates[0]);
        while (a < na && !is_kw(p, aggregates[a].name))
            a++;
        if (a == na) {
            char *name = ident_dup(p);
            fail_at(p, -EINVAL, at, "%s() cannot be selected: SELECT takes property paths and "
                    "COUNT(), SUM(), AVG(), MIN(), MAX()", name ? name : "?");
            free(name);
            return;
        }
        it->kind = aggregates[a].kind;
        next(p);
        next(p);
        if (it->kind != HUB_QITEM_COUNT)
            parse_path(p, &it->path);
        else if (p->t.kind != T_RPAREN)
            fail_at(p, -EINVAL, p->t.pos, "Syntax error: COUNT takes no argument: COUNT()");
        expect(p, T_RPAREN, "')'");
    } else {
        it->kind = HUB_QITEM_PATH;
        parse_path(p, &it->path);
    }
    if (failed(p))
        return;
    if (accept_kw(p, "AS")) {
        if (p->t.kind != T_IDENT || is_reserved(p)) {
            fail_here(p, "a name after AS");
            return;
        }
        it->name = ident_dup(p);
        next(p);
    } else if (it->kind == HUB_QITEM_PATH && it->path.seg[it->path.n - 1].name != NULL) {
        it->name = strdup(it->path.seg[it->path.n - 1].name);
    } else {
        char n[16];
        snprintf(n, sizeof(n), "$%u", ++p->unnamed);
        it->name = strdup(n);
    }
    if (it->name == NULL)
        fail_at(p, -ENOMEM, at, "Out of memory");
}

static void parse_select(struct parser *p, struct hub_query *q)
{
    expect_kw(p, "SELECT");
    if (accept_kw(p, "TOP")) {
        if (p->t.kind != T_NUMBER || p->t.num < 0 || p->t.num > 1e9 ||
            p->t.num != (double)(long)p->t.num) {
            fail_here(p, "a whole number after TOP");
            return;
        }
        q->top = (long)p->t.num;
        next(p);
    }
    if (accept(p, T_STAR)) {
        q->star = true;
        return;
    }
    do {
        if (failed(p))
            return;
        struct hub_qitem *items = grow(p, q->items, q->nitems, sizeof(*items));
        if (items == NULL)
            return;
        q->items = items;
        size_t at = p->t.pos;
        parse_item(p, &items[q->nitems++]);
        if (failed(p))
            return;
        for (size_t i = 0; i + 1 < q->nitems; i++)
            if (strcmp(q->items[i].name, q->items[q->nitems - 1].name) == 0) {
                fail_at(p, -EINVAL, at, "Two SELECT items are named '%s': give one of them "
                        "another name with AS", q->items[i].name);
                return;
            }
    } while (accept(p, T_COMMA));
}

static void parse_from(struct parser *p)
{
    expect_kw(p, "FROM");
    if (failed(p))
        return;
    size_t at = p->t.pos;
    if (!accept_kw(p, "devices")) {
        fail_here(p, "the collection devices");
        return;
    }
    if (accept(p, T_DOT)) {
        if (is_kw(p, "modules") || is_kw(p, "jobs")) {
            char *what = ident_dup(p);
            fail_at(p, -ENOTSUP, at, "FROM devices.%s is not supported by azkit-hub (it has "
                    "device twins only): query FROM devices", what ? what : "?");
            free(what);
        } else {
            fail_here(p, "modules or jobs after 'devices.'");
        }
    }
}

static void parse_group(struct parser *p, struct hub_query *q)
{
    expect_kw(p, "BY");
    do {
        if (failed(p))
            return;
        struct hub_qpath *g = grow(p, q->group, q->ngroup, sizeof(*g));
        if (g == NULL)
            return;
        q->group = g;
        parse_path(p, &g[q->ngroup++]);
    } while (accept(p, T_COMMA));
}

/* Rules across clauses, checked once the query is read. */
static void check(struct parser *p, struct hub_query *q)
{
    for (size_t i = 0; i < q->nitems; i++)
        if (q->items[i].kind != HUB_QITEM_PATH)
            q->aggregate = true;
    if (q->ngroup > 0)
        q->aggregate = true;
    if (!q->aggregate)
        return;
    if (q->star) {
        fail_at(p, -EINVAL, 0, "SELECT * cannot be combined with GROUP BY: select the grouped "
                "properties and aggregates, e.g. SELECT tags.x, COUNT() AS n ... GROUP BY "
                "tags.x");
        return;
    }
    for (size_t i = 0; i < q->nitems; i++) {
        if (q->items[i].kind != HUB_QITEM_PATH)
            continue;
        bool grouped = false;
        for (size_t g = 0; g < q->ngroup && !grouped; g++) {
            grouped = path_equal(&q->items[i].path, &q->group[g]);
            q->items[i].group = g;
        }
        if (!grouped) {
            fail_at(p, -EINVAL, 0, "'%s' is selected beside an aggregate but is not in GROUP "
                    "BY: add it to GROUP BY or remove it", q->items[i].name);
            return;
        }
    }
}

int hub_query_parse(const char *text, size_t len, struct hub_query **out, char *err)
{
    *out = NULL;
    err[0] = '\0';
    if (len > HUB_QUERY_TEXT_MAX) {
        snprintf(err, HUB_QUERY_ERR_MAX, "The query is %zu bytes long; at most %d are accepted",
                 len, HUB_QUERY_TEXT_MAX);
        return -E2BIG;
    }
    struct parser p = {.s = text, .len = len, .err = err};
    struct hub_query *q = calloc(1, sizeof(*q));
    if (q == NULL) {
        snprintf(err, HUB_QUERY_ERR_MAX, "Out of memory");
        return -ENOMEM;
    }
    q->top = -1;
    next(&p);
    if (p.t.kind == T_EOF && !failed(&p))
        fail_at(&p, -EINVAL, 0, "The query is empty: use e.g. SELECT * FROM devices");
    parse_select(&p, q);
    parse_from(&p);
    if (!failed(&p) && accept_kw(&p, "WHERE"))
        q->where = parse_or(&p);
    if (!failed(&p) && accept_kw(&p, "GROUP"))
        parse_group(&p, q);
    if (!failed(&p) && p.t.kind != T_EOF)
        fail_here(&p, "WHERE, GROUP BY or the end of the query");
    if (!failed(&p))
        check(&p, q);
    free(p.t.str);
    if (failed(&p)) {
        hub_query_free(q);
        return p.rc;
    }
    *out = q;
    return 0;
}
