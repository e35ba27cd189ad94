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
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "trace.h"

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
			FZ_CHECK(op->handle < handles, "op %zu frees unknown handle %u", i, op->handle);
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
