/* SPDX-License-Identifier: MIT */
/*
 * trace.c: the trace parser (format in trace.h), a stream reader.
 *
 * Input arrives in pieces cut anywhere. A line of at most line_max bytes
 * (TRACE_LINE_MAX) is parsed whole, as the seed does: UTF-8 check, Unicode
 * trim, split on ASCII blanks (parse_text). A piece that ends inside such a
 * line is copied to line[] until the line is complete. A longer line goes
 * byte by byte through a small machine (struct longline) that keeps only
 * what can still decide the line: its first bytes for the message, and up to
 * four fields of up to 20 bytes, leading zeros of a number folded and
 * anything that cannot be a token marked bad. The machine hands the same
 * decision as a whole-line parse, and reports a line that can no longer be
 * valid once it is past line_max bytes (tests/fuzz/fuzz_trace.c checks both
 * against a whole-file parser, with line_max down to 1).
 *
 * Operations go to a growing array of 16-byte trace_op, with one byte per
 * handle ("freed yet?") to reject unknown and double frees. Nothing is kept
 * from the caller's buffers. No globals, no locking: reentrant.
 *
 * Every rule mirrors parse_trace() in ../shared/anchors/seed_replay.rs so that
 * slotpool-sim accepts exactly the traces the seed replayer accepts.
 */
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One field of a long line: its first bytes (a valid field has at most 20),
 * or bad: longer, or holding a byte that no token has. */
struct lfield {
	char s[20];
	unsigned char n;
	bool bad;
};

enum { L_LEAD, L_COMMENT, L_BODY };

/* A line longer than line_max, read byte by byte. Blanks after the last
 * non-blank character are only summarised, since trim drops them if nothing
 * else follows: `pre` Unicode-only blanks (not ASCII blanks, e.g. U+3000)
 * before the first ASCII blank, which would stick to the current field;
 * `ascii` any ASCII blank; `mid` runs of Unicode-only blanks between ASCII
 * blanks, each a field of its own; `post` such a run after the last ASCII
 * blank, which would stick to the next field. */
struct longline {
	size_t rawlen;       /* bytes so far, without '\n' */
	char head[48];       /* the first of them, for the excerpt */
	unsigned char last;  /* the last of them */
	uint32_t cp, min;    /* the UTF-8 sequence being decoded */
	unsigned need;       /* its continuation bytes still to come */
	unsigned char state; /* L_* */
	unsigned char nf;    /* fields started, at most 5 (f[nf - 1] is open) */
	unsigned char mid;
	bool pre, ascii, post;
	struct lfield f[4];
};

struct trace_reader {
	const char *name;
	char *err;
	size_t errlen;
	size_t line_max;
	int status;           /* 0 or the first error, which sticks */
	struct trace t;       /* what was read so far */
	size_t cap;           /* of t.ops */
	unsigned char *freed; /* per handle: 1 once freed */
	size_t hcap;
	size_t lineno;  /* of the line being read, from 1 */
	size_t lb;      /* bytes of it in line[], when not long */
	bool long_line; /* it is longer than line_max: in ll */
	struct longline ll;
	char line[TRACE_LINE_MAX];
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

static int fail(struct trace_reader *p, size_t lineno, const char *line, size_t len,
                const char *why)
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

static int oom(struct trace_reader *p)
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

static int push_op(struct trace_reader *p, struct trace_op op)
{
	if (p->t.nops == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 1024;
		if (nc > SIZE_MAX / sizeof *p->t.ops)
			return oom(p);
		struct trace_op *n = realloc(p->t.ops, nc * sizeof *n);
		if (!n)
			return oom(p);
		p->t.ops = n;
		p->cap = nc;
	}
	p->t.ops[p->t.nops++] = op;
	return 0;
}

static int push_handle(struct trace_reader *p)
{
	if (p->t.nhandles == p->hcap) {
		size_t nc = p->hcap ? p->hcap * 2 : 1024;
		unsigned char *n = realloc(p->freed, nc);
		if (!n)
			return oom(p);
		p->freed = n;
		p->hcap = nc;
	}
	p->freed[p->t.nhandles++] = 0;
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

/* The syntax of one trimmed, non-blank, non-comment line [b, e): NULL with
 * *op filled (an f line's handle in *h), or why it is malformed. */
static const char *line_syntax(const char *b, const char *e, struct trace_op *op, uint64_t *h)
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
	memset(op, 0, sizeof *op);
	if (is(&f[0], "a") && nf == 2 && is(&f[1], "-")) {
		op->kind = TRACE_ALLOC_NOKEY;
	} else if ((is(&f[0], "a") || is(&f[0], "c")) && nf == 2) {
		if (!dec_u64(f[1].s, f[1].n, &op->val))
			return "malformed key";
		op->kind = f[0].s[0] == 'a' ? TRACE_ALLOC : TRACE_CLEAR;
	} else if (is(&f[0], "f") && (nf == 2 || nf == 3)) {
		if (!dec_u64(f[1].s, f[1].n, h))
			return "malformed handle";
		if (nf == 3 && !dec_u64(f[2].s, f[2].n, &op->val))
			return "malformed bytes_resident";
		op->kind = TRACE_FREE;
	} else {
		return "malformed line";
	}
	return NULL;
}

/* Parses one non-blank, non-comment line, trimmed to [b, e); raw[0..rawlen)
 * is the line as read (at least its first 40 bytes), for the message. */
static int parse_line(struct trace_reader *p, const char *raw, size_t rawlen, const char *b,
                      const char *e)
{
	struct trace_op op;
	uint64_t h = 0;
	const char *why = line_syntax(b, e, &op, &h);
	if (why)
		return fail(p, p->lineno, raw, rawlen, why);
	if (op.kind == TRACE_FREE) {
		if (h >= p->t.nhandles)
			return fail(p, p->lineno, raw, rawlen, "free of unknown handle");
		if (p->freed[h])
			return fail(p, p->lineno, raw, rawlen, "double free of handle");
		p->freed[h] = 1;
		op.handle = (uint32_t)h;
		p->t.nfrees++;
		return push_op(p, op);
	}
	if (p->t.nhandles >= TRACE_MAX_HANDLES)
		return fail(p, p->lineno, raw, rawlen, "too many allocations");
	op.handle = (uint32_t)p->t.nhandles;
	if (op.kind == TRACE_ALLOC)
		p->t.nkeyed++;
	else if (op.kind == TRACE_CLEAR)
		p->t.nclears++;
	int r = push_handle(p);
	return r ? r : push_op(p, op);
}

/* A whole line line[0..len), without its '\n', read as the seed reads it:
 * UTF-8 first, then trim, then fields. */
static int parse_text(struct trace_reader *p, const char *line, size_t len)
{
	for (size_t i = 0; i < len;) {
		uint32_t cp = 0;
		size_t k = utf8_len((const unsigned char *)line + i, len - i, &cp);
		if (k == 0)
			return fail(p, p->lineno, NULL, 0, "not valid UTF-8");
		i += k;
	}
	const char *b = line, *e = line + len;
	trim(&b, &e);
	if (b == e || *b == '#')
		return 0;
	size_t rawlen = len;
	if (rawlen && line[rawlen - 1] == '\r')
		rawlen--;
	return parse_line(p, line, rawlen, b, e);
}

/* Long lines (struct longline). A field keeps at most 20 bytes: a longer
 * token is never valid once the leading zeros of a number are folded ("007"
 * is 7 for the seed too). A character no token has (non-ASCII) makes it bad. */
static void lfield_add(struct lfield *f, uint32_t cp)
{
	if (f->bad)
		return;
	if (cp >= 0x80 || f->n == sizeof f->s) {
		f->bad = true;
		return;
	}
	if (f->n == 1 && f->s[0] == '0' && cp >= '0' && cp <= '9') {
		f->s[0] = (char)cp;
		return;
	}
	f->s[f->n++] = (char)cp;
}

/* Starts the next field; NULL past the fourth (the count is all that
 * matters then: no line has more than three). */
static struct lfield *lfield_open(struct longline *m)
{
	if (m->nf < 5)
		m->nf++;
	if (m->nf > 4)
		return NULL;
	struct lfield *f = &m->f[m->nf - 1];
	memset(f, 0, sizeof *f);
	return f;
}

/* The line as trim would leave it if it ended now, fields one space apart, a
 * bad one as "x" (valid nowhere). out holds 4 * 21 bytes. */
static size_t long_text(const struct longline *m, char *out)
{
	size_t o = 0;
	for (unsigned i = 0; i < m->nf && i < 4; i++) {
		if (i)
			out[o++] = ' ';
		if (m->f[i].bad) {
			out[o++] = 'x';
		} else {
			memcpy(out + o, m->f[i].s, m->f[i].n);
			o += m->f[i].n;
		}
	}
	return o;
}

/* One character of a long line (never its '\n'). */
static void long_char(struct longline *m, uint32_t cp)
{
	if (m->state == L_COMMENT)
		return;
	if (m->state == L_LEAD) {
		if (uni_space(cp))
			return;
		if (cp == '#') {
			m->state = L_COMMENT;
			return;
		}
		m->state = L_BODY;
		lfield_add(lfield_open(m), cp);
		return;
	}
	if (cp < 0x80 && ascii_space((char)cp)) {
		if (m->post && m->mid < 4)
			m->mid++;
		m->post = false;
		m->ascii = true;
		return;
	}
	if (uni_space(cp)) {
		if (m->ascii)
			m->post = true;
		else
			m->pre = true;
		return;
	}
	/* Not blank: the blanks before it are inside the line after all. */
	struct lfield *f = m->nf <= 4 ? &m->f[m->nf - 1] : NULL;
	if (m->pre && f)
		f->bad = true;
	if (m->ascii) {
		for (unsigned i = 0; i < m->mid; i++) {
			struct lfield *g = lfield_open(m);
			if (g)
				g->bad = true;
		}
		f = lfield_open(m);
		if (m->post && f)
			f->bad = true;
	}
	if (f)
		lfield_add(f, cp);
	m->pre = m->ascii = m->post = false;
	m->mid = 0;
}

/* Why the long line is malformed whatever may follow, or NULL while some
 * continuation could still make it valid. Fields only grow and a bad one stays
 * bad, so the line as it stands decides, except for a lone "a", "c" or "f",
 * which still waits for its next field. */
static const char *long_doomed(const struct longline *m)
{
	char text[4 * 21] = {0};
	struct trace_op op;
	uint64_t h;
	if (m->state != L_BODY)
		return NULL;
	size_t n = long_text(m, text);
	const char *why = line_syntax(text, text + n, &op, &h);
	const struct lfield *f = &m->f[0];
	if (why && m->nf == 1 && !f->bad && f->n == 1 &&
	    (f->s[0] == 'a' || f->s[0] == 'c' || f->s[0] == 'f'))
		return NULL;
	return why;
}

static size_t long_rawlen(const struct longline *m)
{
	return m->rawlen - (m->rawlen && m->last == '\r');
}

/* One byte of a long line (never its '\n'): UTF-8 decoding as utf8_len. */
static int long_byte(struct trace_reader *p, unsigned char c)
{
	struct longline *m = &p->ll;
	uint32_t cp;
	if (m->rawlen < sizeof m->head)
		m->head[m->rawlen] = (char)c;
	m->rawlen++;
	m->last = c;
	if (m->need == 0) {
		if (c < 0x80) {
			cp = c;
		} else {
			if (c >= 0xc2 && c <= 0xdf)
				m->need = 1, m->cp = c & 0x1fu, m->min = 0x80;
			else if (c >= 0xe0 && c <= 0xef)
				m->need = 2, m->cp = c & 0x0fu, m->min = 0x800;
			else if (c >= 0xf0 && c <= 0xf4)
				m->need = 3, m->cp = c & 0x07u, m->min = 0x10000;
			else
				return fail(p, p->lineno, NULL, 0, "not valid UTF-8");
			return 0;
		}
	} else {
		if ((c & 0xc0) != 0x80)
			return fail(p, p->lineno, NULL, 0, "not valid UTF-8");
		m->cp = (m->cp << 6) | (c & 0x3fu);
		if (--m->need)
			return 0;
		cp = m->cp;
		if (cp < m->min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return fail(p, p->lineno, NULL, 0, "not valid UTF-8");
	}
	long_char(m, cp);
	if (m->rawlen > p->line_max) {
		const char *why = long_doomed(m);
		if (why)
			return fail(p, p->lineno, m->head, long_rawlen(m), why);
	}
	return 0;
}

/* The end of a long line: the same decision as parse_text on all of it. */
static int long_end(struct trace_reader *p)
{
	struct longline *m = &p->ll;
	char text[4 * 21] = {0};
	if (m->need)
		return fail(p, p->lineno, NULL, 0, "not valid UTF-8");
	if (m->state != L_BODY)
		return 0;
	size_t n = long_text(m, text);
	return parse_line(p, m->head, long_rawlen(m), text, text + n);
}

struct trace_reader *trace_reader_new(const char *name, char *err, size_t errlen)
{
	struct trace_reader *p = calloc(1, sizeof *p);
	if (!name)
		name = "<trace>";
	if (err && errlen)
		err[0] = '\0';
	if (!p) {
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	p->name = name;
	p->err = err;
	p->errlen = errlen;
	p->line_max = TRACE_LINE_MAX;
	p->lineno = 1;
	return p;
}

void trace_reader_set_line_max(struct trace_reader *p, size_t n)
{
	if (p && n >= 1 && n <= TRACE_LINE_MAX)
		p->line_max = n;
}

int trace_reader_feed(struct trace_reader *p, const char *buf, size_t len)
{
	int r;
	if (!p || (!buf && len))
		return -EINVAL;
	if (p->status)
		return p->status;
	while (len > 0) {
		const char *nl = memchr(buf, '\n', len);
		size_t n = nl ? (size_t)(nl - buf) : len;
		if (p->long_line) {
			for (size_t i = 0; i < n; i++)
				if ((r = long_byte(p, (unsigned char)buf[i])) != 0)
					return p->status = r;
			if (!nl)
				return 0;
			if ((r = long_end(p)) != 0)
				return p->status = r;
			p->long_line = false;
		} else if (p->lb + n > p->line_max) {
			/* Too long to keep whole: what is kept goes through the
			 * machine, then the rest of the line (next turn). */
			memset(&p->ll, 0, sizeof p->ll);
			p->long_line = true;
			for (size_t i = 0; i < p->lb; i++)
				if ((r = long_byte(p, (unsigned char)p->line[i])) != 0)
					return p->status = r;
			p->lb = 0;
			continue;
		} else if (!nl) {
			memcpy(p->line + p->lb, buf, n);
			p->lb += n;
			return 0;
		} else if (p->lb) {
			memcpy(p->line + p->lb, buf, n);
			r = parse_text(p, p->line, p->lb + n);
			p->lb = 0;
			if (r)
				return p->status = r;
		} else if ((r = parse_text(p, buf, n)) != 0) {
			return p->status = r;
		}
		p->lineno++;
		buf += n + 1;
		len -= n + 1;
	}
	return 0;
}

int trace_reader_finish(struct trace_reader *p, struct trace *out)
{
	if (!p)
		return -EINVAL;
	int r = p->status;
	if (!r && !out)
		r = -EINVAL;
	if (!r && p->long_line)
		r = long_end(p);
	else if (!r && p->lb)
		r = parse_text(p, p->line, p->lb);
	free(p->freed);
	if (r)
		free(p->t.ops);
	else
		*out = p->t;
	free(p);
	return r;
}

int trace_parse(const char *buf, size_t len, const char *name, struct trace *out, char *err,
                size_t errlen)
{
	if (!out || (!buf && len))
		return -EINVAL;
	struct trace_reader *p = trace_reader_new(name, err, errlen);
	if (!p)
		return -ENOMEM;
	trace_reader_feed(p, buf, len);
	return trace_reader_finish(p, out);
}

int trace_load(const char *path, struct trace *out, char *err, size_t errlen)
{
	char buf[1 << 16];
	struct trace_reader *p;
	int fd, r = 0;

	if (!path || !out)
		return -EINVAL;
	fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(-r));
		return r;
	}
	p = trace_reader_new(path, err, errlen);
	if (!p) {
		if (fd != 0)
			close(fd);
		return -ENOMEM;
	}
	/* read(2), not stdio: what a pipe has so far is parsed at once, so a
	 * bad first line is reported before the writer is done. */
	for (;;) {
		ssize_t got = read(fd, buf, sizeof buf);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -errno;
			break;
		}
		if (got == 0 || trace_reader_feed(p, buf, (size_t)got) != 0)
			break;
	}
	if (fd != 0)
		close(fd);
	if (r) {
		struct trace t;
		if (trace_reader_finish(p, &t) == 0)
			trace_free(&t);
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-r));
		return r;
	}
	return trace_reader_finish(p, out);
}

void trace_free(struct trace *t)
{
	if (!t)
		return;
	free(t->ops);
	memset(t, 0, sizeof *t);
}
