/*
 * trace.c: the trace parser (format in trace.h).
 *
 * Two passes over the buffer: a UTF-8 check of the whole input (the seed
 * rejects a file that is not UTF-8 before looking at any line), then one pass
 * line by line that appends to a growing array of 16-byte trace_op and keeps
 * one byte per handle ("freed yet?") to reject unknown and double frees.
 * Nothing is kept from the buffer, so the caller may free it right after.
 * No globals, no locking: reentrant.
 *
 * Every rule mirrors parse_trace() in ../shared/anchors/seed_replay.rs so that
 * slotpool-sim accepts exactly the traces the seed replayer accepts.
 */
#include "trace.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
	const char *name;
	char *err;
	size_t errlen;
	struct trace_op *ops;
	size_t nops, cap;
	unsigned char *freed; /* per handle: 1 once freed */
	size_t nhandles, hcap;
};

/* Appends an escaped excerpt of line[0..len) so that binary garbage and 10 MB
 * lines still give a one-line, readable message. */
static void excerpt(char *dst, size_t dstlen, const char *line, size_t len)
{
	size_t o = 0, max = 40;
	if (dstlen == 0)
		return;
	for (size_t i = 0; i < len && i < max && o + 5 < dstlen; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			dst[o++] = (char)c;
		else
			o += (size_t)snprintf(dst + o, dstlen - o, "\\x%02x", c);
	}
	if (len > max && o + 4 < dstlen) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o < dstlen ? o : dstlen - 1] = '\0';
}

static int fail(struct parser *p, size_t lineno, const char *line, size_t len, const char *why)
{
	char ex[256];
	if (!p->err || p->errlen == 0)
		return -EINVAL;
	if (line) {
		excerpt(ex, sizeof ex, line, len);
		snprintf(p->err, p->errlen, "%s:%zu: %s: \"%s\"", p->name, lineno, why, ex);
	} else {
		snprintf(p->err, p->errlen, "%s:%zu: %s", p->name, lineno, why);
	}
	return -EINVAL;
}

static int oom(struct parser *p)
{
	if (p->err && p->errlen)
		snprintf(p->err, p->errlen, "%s: out of memory", p->name);
	return -ENOMEM;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if invalid (overlong
 * forms, surrogates and code points above U+10FFFF are invalid, as in Rust). */
static size_t utf8_len(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	size_t k;
	uint32_t v, min;
	if (c >= 0xc2 && c <= 0xdf) {
		k = 2, v = c & 0x1fu, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		k = 3, v = c & 0x0fu, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		k = 4, v = c & 0x07u, min = 0x10000;
	} else {
		return 0;
	}
	if (n < k)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3fu);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return k;
}

/* Unicode White_Space, what Rust's str::trim removes. */
static bool uni_space(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
	       c == 0x205f || c == 0x3000;
}

/* Rust's u8::is_ascii_whitespace (no vertical tab), what split_ascii_whitespace uses. */
static bool ascii_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* Trims [*b, *e) of Unicode white space; the range is valid UTF-8. */
static void trim(const char **b, const char **e)
{
	uint32_t cp = 0;
	while (*b < *e) {
		size_t k = utf8_len((const unsigned char *)*b, (size_t)(*e - *b), &cp);
		if (!uni_space(cp))
			break;
		*b += k;
	}
	while (*b < *e) {
		const char *s = *e - 1;
		while (s > *b && ((unsigned char)*s & 0xc0) == 0x80)
			s--;
		utf8_len((const unsigned char *)s, (size_t)(*e - s), &cp);
		if (!uni_space(cp))
			break;
		*e = s;
	}
}

/* All ASCII digits, at least one, value < 2^64. */
static bool dec_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';
		if (d > 9)
			return false;
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static int push_op(struct parser *p, struct trace_op op)
{
	if (p->nops == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 1024;
		if (nc > SIZE_MAX / sizeof *p->ops)
			return oom(p);
		struct trace_op *n = realloc(p->ops, nc * sizeof *n);
		if (!n)
			return oom(p);
		p->ops = n;
		p->cap = nc;
	}
	p->ops[p->nops++] = op;
	return 0;
}

static int push_handle(struct parser *p)
{
	if (p->nhandles == p->hcap) {
		size_t nc = p->hcap ? p->hcap * 2 : 1024;
		unsigned char *n = realloc(p->freed, nc);
		if (!n)
			return oom(p);
		p->freed = n;
		p->hcap = nc;
	}
	p->freed[p->nhandles++] = 0;
	return 0;
}

struct field {
	const char *s;
	size_t n;
};

static bool is(const struct field *f, const char *lit)
{
	return f->n == strlen(lit) && memcmp(f->s, lit, f->n) == 0;
}

/* Parses one non-blank, non-comment line (already trimmed). */
static int parse_line(struct parser *p, struct trace *t, size_t lineno, const char *raw,
		      size_t rawlen, const char *b, const char *e)
{
	struct field f[4] = {{0}};
	size_t nf = 0;
	for (const char *c = b; c < e && nf < 4;) {
		while (c < e && ascii_space(*c))
			c++;
		if (c == e)
			break;
		const char *s = c;
		while (c < e && !ascii_space(*c))
			c++;
		f[nf].s = s;
		f[nf].n = (size_t)(c - s);
		nf++;
	}
	struct trace_op op = {0};
	if (is(&f[0], "a") && nf == 2 && is(&f[1], "-")) {
		op.kind = TRACE_ALLOC_NOKEY;
	} else if ((is(&f[0], "a") || is(&f[0], "c")) && nf == 2) {
		if (!dec_u64(f[1].s, f[1].n, &op.val))
			return fail(p, lineno, raw, rawlen, "malformed key");
		op.kind = f[0].s[0] == 'a' ? TRACE_ALLOC : TRACE_CLEAR;
	} else if (is(&f[0], "f") && (nf == 2 || nf == 3)) {
		uint64_t h;
		if (!dec_u64(f[1].s, f[1].n, &h))
			return fail(p, lineno, raw, rawlen, "malformed handle");
		if (nf == 3 && !dec_u64(f[2].s, f[2].n, &op.val))
			return fail(p, lineno, raw, rawlen, "malformed bytes_resident");
		if (h >= p->nhandles)
			return fail(p, lineno, raw, rawlen, "free of unknown handle");
		if (p->freed[h])
			return fail(p, lineno, raw, rawlen, "double free of handle");
		p->freed[h] = 1;
		op.kind = TRACE_FREE;
		op.handle = (uint32_t)h;
		t->nfrees++;
		return push_op(p, op);
	} else {
		return fail(p, lineno, raw, rawlen, "malformed line");
	}
	if (p->nhandles >= TRACE_MAX_HANDLES)
		return fail(p, lineno, raw, rawlen, "too many allocations");
	op.handle = (uint32_t)p->nhandles;
	if (op.kind == TRACE_ALLOC)
		t->nkeyed++;
	else if (op.kind == TRACE_CLEAR)
		t->nclears++;
	int r = push_handle(p);
	return r ? r : push_op(p, op);
}

int trace_parse(const char *buf, size_t len, const char *name, struct trace *out, char *err,
		size_t errlen)
{
	struct parser p = {.name = name ? name : "<trace>", .err = err, .errlen = errlen};
	struct trace t = {0};
	int r = 0;

	if (!out || (!buf && len))
		return -EINVAL;
	if (!buf)
		buf = ""; /* NULL + 0 is undefined behaviour in C */
	if (err && errlen)
		err[0] = '\0';

	/* UTF-8 first, as the seed's read_to_string does. */
	size_t lineno = 1;
	for (size_t i = 0; i < len;) {
		uint32_t cp = 0;
		size_t k = utf8_len((const unsigned char *)buf + i, len - i, &cp);
		if (k == 0)
			return fail(&p, lineno, NULL, 0, "not valid UTF-8");
		if (cp == '\n')
			lineno++;
		i += k;
	}

	lineno = 0;
	for (const char *line = buf, *end = buf + len; line && line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *le = nl ? nl : end;
		const char *b = line, *e = le;
		lineno++;
		trim(&b, &e);
		if (b < e && *b != '#') {
			size_t rawlen = (size_t)(le - line);
			if (rawlen && line[rawlen - 1] == '\r')
				rawlen--;
			r = parse_line(&p, &t, lineno, line, rawlen, b, e);
			if (r)
				break;
		}
		line = nl ? nl + 1 : NULL;
	}
	free(p.freed);
	if (r) {
		free(p.ops);
		return r;
	}
	t.ops = p.ops;
	t.nops = p.nops;
	t.nhandles = p.nhandles;
	*out = t;
	return 0;
}

int trace_load(const char *path, struct trace *out, char *err, size_t errlen)
{
	FILE *f;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int r;

	if (!path || !out)
		return -EINVAL;
	f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f) {
		r = -errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(-r));
		return r;
	}
	for (;;) {
		if (len == cap) {
			size_t nc = cap ? cap * 2 : 1 << 16;
			char *n = nc > cap ? realloc(buf, nc) : NULL;
			if (!n) {
				r = -ENOMEM;
				if (err && errlen)
					snprintf(err, errlen, "%s: out of memory", path);
				goto out;
			}
			buf = n;
			cap = nc;
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		r = -EIO;
		if (err && errlen)
			snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	r = trace_parse(buf, len, path, out, err, errlen);
out:
	if (f != stdin)
		fclose(f);
	free(buf);
	return r;
}

void trace_free(struct trace *t)
{
	if (!t)
		return;
	free(t->ops);
	memset(t, 0, sizeof *t);
}
