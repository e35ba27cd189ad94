/* SPDX-License-Identifier: MIT */
/*
 * fuzz_trace.c: fuzz target for the trace parser (tools/trace.h), the code
 * that reads files from outside: any bytes must give either a clean -EINVAL
 * with a message, or a valid trace; never a crash, a leak or a read past the
 * buffer (the input is an exact-size allocation, so ASan and valgrind see
 * one byte too far).
 *
 * On success the trace must be self-consistent (counts, handle numbering,
 * each free naming an earlier, not yet freed handle) and must survive a round
 * trip: written back in canonical form and parsed again, the same operations.
 * On error: *out untouched, the message NUL-terminated inside errlen, starting
 * with the input's name, and the same verdict and message prefix whatever
 * errlen is (including no buffer at all).
 *
 * The parser reads a stream (trace_reader): the same input cut into pieces
 * must give the same result and message, and with the longest line it reads
 * whole (line_max) lowered to a few bytes, so that its long-line machine
 * decides most lines, the same verdict, operations and first bad line. Every
 * verdict must also equal that of ref_parse below, a plain whole-file parser
 * written the way the seed reads a trace.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "trace.h"

/* ref_parse: the seed's parse_trace() on a whole buffer, as simply as
 * possible: reject unless all of it is UTF-8, then per '\n' line: trim
 * Unicode blanks, skip blank and '#' lines, split on ASCII blanks, check.
 * Returns 1 and the operations in *ops (malloc'd), or 0. */
static size_t ref_utf8(const unsigned char *s, size_t n, uint32_t *cp)
{
	static const struct {
		unsigned char lo, hi;
		size_t k;
		uint32_t mask, min;
	} lead[] = {{0xc2, 0xdf, 2, 0x1f, 0x80},
	            {0xe0, 0xef, 3, 0x0f, 0x800},
	            {0xf0, 0xf4, 4, 0x07, 0x10000}};
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	for (size_t i = 0; i < 3; i++) {
		if (s[0] < lead[i].lo || s[0] > lead[i].hi)
			continue;
		size_t k = lead[i].k;
		uint32_t v = s[0] & lead[i].mask;
		if (n < k)
			return 0;
		for (size_t j = 1; j < k; j++) {
			if ((s[j] & 0xc0) != 0x80)
				return 0;
			v = (v << 6) | (s[j] & 0x3fu);
		}
		if (v < lead[i].min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
			return 0;
		*cp = v;
		return k;
	}
	return 0;
}

static int ref_blank(uint32_t c)
{
	static const uint32_t more[] = {0x20,   0x85,   0xa0,   0x1680, 0x2028,
	                                0x2029, 0x202f, 0x205f, 0x3000};
	if ((c >= 0x09 && c <= 0x0d) || (c >= 0x2000 && c <= 0x200a))
		return 1;
	for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
		if (c == more[i])
			return 1;
	return 0;
}

static int ref_split(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static int ref_number(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	*out = v;
	return 1;
}

static int ref_parse(const char *buf, size_t len, struct trace_op **ops, size_t *nops)
{
	uint32_t cp = 0;
	for (size_t i = 0, k; i < len; i += k)
		if ((k = ref_utf8((const unsigned char *)buf + i, len - i, &cp)) == 0)
			return 0;
	struct trace_op *v = malloc((len / 2 + 1) * sizeof *v); /* a line is >= 2 bytes */
	unsigned char *freed = calloc(len / 2 + 1, 1);
	size_t n = 0, handles = 0;
	int ok = 1;
	FZ_CHECK(v && freed, "malloc");
	for (size_t at = 0; ok && at < len;) {
		const char *nl = memchr(buf + at, '\n', len - at);
		size_t end = nl ? (size_t)(nl - buf) : len, b = at, e = end;
		at = end + 1;
		while (b < e) { /* trim: decode forwards, and backwards from e */
			size_t k = ref_utf8((const unsigned char *)buf + b, e - b, &cp);
			if (!ref_blank(cp))
				break;
			b += k;
		}
		while (e > b) {
			size_t s = e - 1;
			while (s > b && ((unsigned char)buf[s] & 0xc0) == 0x80)
				s--;
			ref_utf8((const unsigned char *)buf + s, e - s, &cp);
			if (!ref_blank(cp))
				break;
			e = s;
		}
		if (b == e || buf[b] == '#')
			continue;
		const char *f[4] = {0};
		size_t fl[4] = {0}, nf = 0;
		for (size_t c = b; c < e && nf < 4;) {
			while (c < e && ref_split(buf[c]))
				c++;
			if (c == e)
				break;
			size_t s = c;
			while (c < e && !ref_split(buf[c]))
				c++;
			f[nf] = buf + s;
			fl[nf++] = c - s;
		}
		struct trace_op op = {0};
		uint64_t h = 0;
		char k0 = fl[0] == 1 ? f[0][0] : 0;
		if (k0 == 'a' && nf == 2 && fl[1] == 1 && f[1][0] == '-') {
			op.kind = TRACE_ALLOC_NOKEY;
		} else if ((k0 == 'a' || k0 == 'c') && nf == 2) {
			ok = ref_number(f[1], fl[1], &op.val);
			op.kind = k0 == 'a' ? TRACE_ALLOC : TRACE_CLEAR;
		} else if (k0 == 'f' && (nf == 2 || nf == 3)) {
			ok = ref_number(f[1], fl[1], &h) &&
			     (nf == 2 || ref_number(f[2], fl[2], &op.val)) && h < handles &&
			     !freed[h];
			if (ok)
				freed[h] = 1;
			op.kind = TRACE_FREE;
			op.handle = (uint32_t)h;
		} else {
			ok = 0;
		}
		if (op.kind != TRACE_FREE)
			op.handle = (uint32_t)handles++;
		v[n++] = op;
	}
	free(freed);
	if (!ok) {
		free(v);
		return 0;
	}
	*ops = v;
	*nops = n;
	return 1;
}

/* Parses buf through a trace_reader, cut into pieces whose sizes come from
 * `seed`, with the given line_max (0: the default). */
static int parse_cut(const char *buf, size_t size, uint32_t seed, size_t line_max,
                     struct trace *out, char *err, size_t errlen)
{
	struct trace_reader *r = trace_reader_new("fuzz", err, errlen);
	if (!r)
		return -ENOMEM;
	if (line_max)
		trace_reader_set_line_max(r, line_max);
	for (size_t at = 0; at < size;) {
		/* Not draw.h: the committed corpus was grown with these cuts. */
		seed = seed * 1103515245u + 12345u;
		size_t n = 1 + (seed >> 16) % (seed & 0x100 ? 7 : 300);
		if (n > size - at)
			n = size - at;
		if (trace_reader_feed(r, buf + at, n) != 0)
			break;
		at += n;
	}
	return trace_reader_finish(r, out);
}

static int same_ops(const struct trace *a, const struct trace *b)
{
	return a->nops == b->nops && a->nhandles == b->nhandles && a->nkeyed == b->nkeyed &&
	       a->nclears == b->nclears && a->nfrees == b->nfrees &&
	       (a->nops == 0 || memcmp(a->ops, b->ops, a->nops * sizeof *a->ops) == 0);
}

/* The "fuzz:LINE:" that starts a message about a line. */
static size_t line_prefix(const char *err)
{
	const char *c = strchr(err, ':');
	c = c ? strchr(c + 1, ':') : NULL;
	return c ? (size_t)(c - err) + 1 : strlen(err);
}

static void check_stream(const char *buf, size_t size, int rc, const struct trace *t,
                         const char *err)
{
	uint32_t seed = (uint32_t)size * 2654435761u;
	for (size_t i = 0; i < size && i < 64; i++)
		seed = (seed ^ (unsigned char)buf[i]) * 16777619u;

	struct trace_op *ref = NULL;
	size_t nref = 0;
	int ref_ok = ref_parse(buf, size, &ref, &nref);
	if (rc != -ENOMEM) {
		FZ_CHECK(ref_ok == (rc == 0),
		         "verdict %d, the plain whole-file parser says %d (%s)", rc, ref_ok,
		         rc ? err : "");
		FZ_CHECK(rc || (nref == t->nops &&
		                (nref == 0 || memcmp(ref, t->ops, nref * sizeof *ref) == 0)),
		         "operations differ from the plain whole-file parser's");
	}
	free(ref);

	/* Cut anywhere: the same result, the same message. */
	struct trace c;
	char cerr[512];
	int crc = parse_cut(buf, size, seed, 0, &c, cerr, sizeof cerr);
	if (crc != -ENOMEM && rc != -ENOMEM) {
		FZ_CHECK(crc == rc, "rc %d cut into pieces, %d whole", crc, rc);
		FZ_CHECK(rc || same_ops(&c, t), "pieces give other operations");
		FZ_CHECK(!rc || strcmp(cerr, err) == 0, "pieces: '%s', whole: '%s'", cerr, err);
	}
	if (crc == 0)
		trace_free(&c);

	/* Long lines from a few bytes on: the same verdict and operations, and
	 * the same first bad line (its reason may differ: see trace.h). */
	size_t line_max = 1 + (seed >> 8) % 48;
	crc = parse_cut(buf, size, seed ^ 0x5bd1e995u, line_max, &c, cerr, sizeof cerr);
	if (crc != -ENOMEM && rc != -ENOMEM) {
		FZ_CHECK(crc == rc, "rc %d with line_max %zu, %d with the default", crc, line_max,
		         rc);
		FZ_CHECK(rc || same_ops(&c, t), "line_max %zu gives other operations", line_max);
		FZ_CHECK(!rc || (line_prefix(cerr) == line_prefix(err) &&
		                 strncmp(cerr, err, line_prefix(err)) == 0),
		         "line_max %zu: '%s', default: '%s'", line_max, cerr, err);
	}
	if (crc == 0)
		trace_free(&c);
}

static void check_valid(const struct trace *t)
{
	size_t handles = 0, keyed = 0, clears = 0, frees = 0;
	unsigned char *freed = calloc(t->nhandles + 1, 1);
	FZ_CHECK(freed != NULL, "calloc");
	for (size_t i = 0; i < t->nops; i++) {
		const struct trace_op *op = &t->ops[i];
		switch (op->kind) {
		case TRACE_ALLOC:
			keyed++;
			/* fall through */
		case TRACE_ALLOC_NOKEY:
		case TRACE_CLEAR:
			clears += op->kind == TRACE_CLEAR;
			FZ_CHECK(op->handle == handles, "op %zu: handle %u, expected %zu", i,
			         op->handle, handles);
			FZ_CHECK(op->kind != TRACE_ALLOC_NOKEY || op->val == 0, "nokey val");
			handles++;
			break;
		case TRACE_FREE:
			frees++;
			FZ_CHECK(op->handle < handles, "op %zu frees unknown handle %u", i,
			         op->handle);
			FZ_CHECK(!freed[op->handle], "op %zu frees handle %u twice", i, op->handle);
			freed[op->handle] = 1;
			break;
		default:
			FZ_CHECK(0, "op %zu: kind %u", i, op->kind);
		}
	}
	free(freed);
	FZ_CHECK(handles == t->nhandles && keyed == t->nkeyed && clears == t->nclears &&
	                 frees == t->nfrees && t->nops == handles + frees,
	         "counts: nops %zu nhandles %zu nkeyed %zu nclears %zu nfrees %zu", t->nops,
	         t->nhandles, t->nkeyed, t->nclears, t->nfrees);
}

/* The trace in canonical form: one op a line, single spaces. */
static char *write_back(const struct trace *t, size_t *len)
{
	size_t cap = t->nops * 48 + 1, o = 0;
	char *s = malloc(cap);
	FZ_CHECK(s != NULL, "malloc");
	for (size_t i = 0; i < t->nops; i++) {
		const struct trace_op *op = &t->ops[i];
		int n;
		if (op->kind == TRACE_ALLOC)
			n = snprintf(s + o, cap - o, "a %" PRIu64 "\n", op->val);
		else if (op->kind == TRACE_ALLOC_NOKEY)
			n = snprintf(s + o, cap - o, "a -\n");
		else if (op->kind == TRACE_CLEAR)
			n = snprintf(s + o, cap - o, "c %" PRIu64 "\n", op->val);
		else
			n = snprintf(s + o, cap - o, "f %" PRIu32 " %" PRIu64 "\n", op->handle,
			             op->val);
		FZ_CHECK(n > 0 && (size_t)n < cap - o, "write_back overflow");
		o += (size_t)n;
	}
	*len = o;
	return s;
}

static void round_trip(const struct trace *t)
{
	size_t len;
	char *text = write_back(t, &len);
	/* Exact-size copy: the parser must not rely on a NUL after the text. */
	char *exact = malloc(len ? len : 1);
	FZ_CHECK(exact != NULL, "malloc");
	memcpy(exact, text, len);
	free(text);
	struct trace again;
	char err[256];
	int rc = trace_parse(exact, len, "again", &again, err, sizeof err);
	FZ_CHECK(rc == 0, "canonical form rejected: %s", err);
	FZ_CHECK(again.nops == t->nops && again.nhandles == t->nhandles &&
	                 again.nkeyed == t->nkeyed && again.nclears == t->nclears &&
	                 again.nfrees == t->nfrees,
	         "round trip changed the counts");
	FZ_CHECK(t->nops == 0 || memcmp(again.ops, t->ops, t->nops * sizeof *t->ops) == 0,
	         "round trip changed the operations");
	trace_free(&again);
	free(exact);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct trace t, pristine;
	memset(&pristine, 0xa5, sizeof pristine);
	t = pristine;
	char err[512];
	int rc = trace_parse(buf, size, "fuzz", &t, err, sizeof err);
	FZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM, "rc %d", rc);

	/* Same verdict with a short message buffer and with none. */
	char small[9];
	size_t smalllen = 1 + size % sizeof small;
	memset(small, 'x', sizeof small);
	struct trace t2 = pristine;
	int rc2 = trace_parse(buf, size, "fuzz", &t2, small, smalllen);
	FZ_CHECK(rc2 == rc, "rc %d with errlen %zu, %d with 512", rc2, smalllen, rc);
	struct trace t3 = pristine;
	int rc3 = trace_parse(buf, size, "fuzz", &t3, NULL, 0);
	FZ_CHECK(rc3 == rc, "rc %d without err buffer, %d with", rc3, rc);

	check_stream(buf, size, rc, &t, err);
	if (rc == 0) {
		check_valid(&t);
		FZ_CHECK(t2.nops == t.nops && t3.nops == t.nops, "parses differ");
		round_trip(&t);
		trace_free(&t);
		trace_free(&t2);
		trace_free(&t3);
		FZ_CHECK(t.ops == NULL && t.nops == 0, "trace_free leaves a trace behind");
		trace_free(NULL);
		return 0;
	}
	FZ_CHECK(memcmp(&t, &pristine, sizeof t) == 0 && memcmp(&t2, &pristine, sizeof t) == 0 &&
	                 memcmp(&t3, &pristine, sizeof t) == 0,
	         "*out written on error");
	size_t n = strnlen(err, sizeof err);
	FZ_CHECK(n < sizeof err && n > 0, "message not NUL-terminated or empty");
	FZ_CHECK(strncmp(err, "fuzz", 4) == 0, "message does not name the input: %s", err);
	size_t m = strnlen(small, smalllen);
	FZ_CHECK(m < smalllen, "short message not NUL-terminated inside errlen %zu", smalllen);
	FZ_CHECK(strncmp(small, err, m) == 0, "short message is not a prefix: '%s' vs '%s'", small,
	         err);
	for (size_t i = smalllen; i < sizeof small; i++)
		FZ_CHECK(small[i] == 'x', "wrote past errlen %zu", smalllen);
	return 0;
}
