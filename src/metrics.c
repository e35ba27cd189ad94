/* SPDX-License-Identifier: MIT */
/*
 * metrics.c: the metrics emitter (metrics.h): Prometheus text or JSON,
 * buffered in struct sp__metrics and written through the caller's
 * sp_write_fn in chunks of at most SP__METRICS_BUF bytes.
 *
 * Every output byte goes through put(), which does nothing once an error is
 * recorded, so the family functions need no error paths of their own.
 * Strings from callers (help text, label values, JSON keys) go through
 * put_text(), which escapes for the format and replaces bytes that are not
 * UTF-8 with U+FFFD: the output is valid UTF-8 whatever the input.
 */
#include "metrics.h"

#include <errno.h>
#include <string.h>

#include "sink.h"

static void flush(struct sp__metrics *m)
{
	sp__sink_flush(m->write, m->ctx, m->buf, &m->len, &m->err);
}

static void put(struct sp__metrics *m, const char *s, size_t n)
{
	while (n && !m->err) {
		size_t k = sizeof(m->buf) - m->len;
		if (k > n)
			k = n;
		memcpy(m->buf + m->len, s, k);
		m->len += k;
		s += k;
		n -= k;
		if (m->len == sizeof(m->buf))
			flush(m);
	}
}

static void puts_(struct sp__metrics *m, const char *s)
{
	put(m, s, strlen(s));
}

static void put_u64(struct sp__metrics *m, uint64_t v)
{
	char d[20];
	size_t i = sizeof(d);
	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(m, d + i, sizeof(d) - i);
}

static void fail(struct sp__metrics *m, int err)
{
	if (!m->err)
		m->err = err;
}

/* Length of the UTF-8 sequence at s[0..n) (1-4), or 0 if it is not one:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned lo = 0x80, hi = 0xBF; /* range of the second byte */
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return len;
}

/*
 * A caller's string, escaped: Prometheus label values and help text take
 * \\, \n and (in label values, quoted) \"; JSON strings take \", \\ and
 * \u00XX for control characters. A help text keeps its quotes as they are.
 */
static void put_text(struct sp__metrics *m, const char *str, int quoted)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), run = 0; /* s[0..run) is copied as is */
	int json = m->format == SP_METRICS_JSON;
	while (run < n) {
		unsigned char c = s[run];
		size_t k = utf8_len(s + run, n - run);
		const char *esc = NULL;
		char u[6];
		if (!k) {
			esc = "\xEF\xBF\xBD"; /* U+FFFD */
			k = 1;
		} else if (c == '\\') {
			esc = "\\\\";
		} else if (c == '"' && (json || quoted)) {
			esc = "\\\"";
		} else if (c == '\n') {
			esc = "\\n";
		} else if (c < 0x20 && json) {
			u[0] = '\\';
			u[1] = 'u';
			u[2] = '0';
			u[3] = '0';
			u[4] = hex[c >> 4];
			u[5] = hex[c & 15];
		} else {
			run += k;
			continue;
		}
		put(m, str, run);
		if (esc)
			puts_(m, esc);
		else
			put(m, u, sizeof(u));
		str += run + k;
		s += run + k;
		n -= run + k;
		run = 0;
	}
	put(m, str, run);
}

static void put_json_string(struct sp__metrics *m, const char *s)
{
	put(m, "\"", 1);
	put_text(m, s, 1);
	put(m, "\"", 1);
}

static int name_ok(const char *s, int colon)
{
	if (!s || !*s || (*s >= '0' && *s <= '9'))
		return 0;
	if (!colon && s[0] == '_' && s[1] == '_') /* reserved for Prometheus */
		return 0;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || (colon && c == ':')))
			return 0;
	}
	return 1;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !memcmp(s + n - k, suffix, k);
}

/* Label names valid and distinct within the sample (constant ones included). */
static int labels_ok(const struct sp__metrics *m, const struct sp__label *l, size_t n)
{
	if (n && !l)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!name_ok(l[i].name, 0))
			return 0;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(l[i].name, l[j].name))
				return 0;
		for (size_t j = 0; j < m->nkonst && l != m->konst; j++)
			if (!strcmp(l[i].name, m->konst[j].name))
				return 0;
	}
	return 1;
}

static void put_label_value(struct sp__metrics *m, const struct sp__label *l)
{
	if (l->str) {
		put(m, "\"", 1);
		put_text(m, l->str, 1);
		put(m, "\"", 1);
	} else if (m->format == SP_METRICS_JSON) {
		put_u64(m, l->num);
	} else {
		put(m, "\"", 1);
		put_u64(m, l->num);
		put(m, "\"", 1);
	}
}

/* JSON: "name":value pairs, comma-separated; *first says whether one was
 * written before. Prometheus: name="value" pairs. */
static void put_labels(struct sp__metrics *m, const struct sp__label *l, size_t n, int *first)
{
	int json = m->format == SP_METRICS_JSON;
	for (size_t i = 0; i < n; i++) {
		if (!*first)
			put(m, ",", 1);
		*first = 0;
		if (json) {
			put_json_string(m, l[i].name);
			put(m, ":", 1);
		} else {
			puts_(m, l[i].name);
			put(m, "=", 1);
		}
		put_label_value(m, &l[i]);
	}
}

/* JSON: a member "key": of the innermost open object. */
static void member(struct sp__metrics *m, const char *key)
{
	if (m->used[m->depth - 1])
		put(m, ",", 1);
	m->used[m->depth - 1] = 1;
	put_json_string(m, key);
	put(m, ":", 1);
}

static void push(struct sp__metrics *m, const char *open)
{
	if (m->depth == SP__METRICS_DEPTH) {
		fail(m, -EINVAL);
		return;
	}
	puts_(m, open);
	m->used[m->depth++] = 0;
}

int sp__metrics_begin(struct sp__metrics *m, int format, sp_write_fn write, void *ctx,
                      const struct sp__label *konst, size_t nkonst)
{
	if (!m || !write || (format != SP_METRICS_PROMETHEUS && format != SP_METRICS_JSON) ||
	    (nkonst && !konst))
		return -EINVAL;
	memset(m, 0, offsetof(struct sp__metrics, buf));
	m->write = write;
	m->ctx = ctx;
	m->format = format;
	m->konst = konst;
	m->nkonst = nkonst;
	if (!labels_ok(m, konst, nkonst))
		fail(m, -EINVAL);
	if (format == SP_METRICS_JSON) {
		push(m, "{");
		if (nkonst) {
			int first = 1;
			member(m, "labels");
			put(m, "{", 1);
			put_labels(m, konst, nkonst, &first);
			put(m, "}", 1);
		}
	}
	return 0;
}

/* A family's name fits its type, as Prometheus' linter wants. */
static int family_ok(const struct sp__metric *f)
{
	return f && f->key && f->help && name_ok(f->name, 1) && f->type >= SP__METRIC_COUNTER &&
	       f->type <= SP__METRIC_INFO &&
	       ends_with(f->name, "_total") == (f->type == SP__METRIC_COUNTER) &&
	       ends_with(f->name, "_info") == (f->type == SP__METRIC_INFO);
}

void sp__metrics_family(struct sp__metrics *m, const struct sp__metric *fam)
{
	if (m->err)
		return;
	if (m->fam || !family_ok(fam)) {
		fail(m, -EINVAL);
		return;
	}
	m->fam = fam;
	m->nsamples = 0;
	if (m->format == SP_METRICS_JSON) {
		member(m, fam->key);
		push(m, "[");
	}
}

/* Prometheus: the family's HELP and TYPE lines, before its first sample. */
static void header(struct sp__metrics *m)
{
	const struct sp__metric *f = m->fam;
	puts_(m, "# HELP ");
	puts_(m, f->name);
	put(m, " ", 1);
	put_text(m, f->help, 0);
	puts_(m, "\n# TYPE ");
	puts_(m, f->name);
	puts_(m, f->type == SP__METRIC_COUNTER ? " counter\n" : " gauge\n");
}

void sp__metrics_sample(struct sp__metrics *m, const struct sp__label *labels, size_t n,
                        uint64_t value)
{
	if (m->err)
		return;
	if (!m->fam || !labels_ok(m, labels, n)) {
		fail(m, -EINVAL);
		return;
	}
	int first = 1;
	if (m->format == SP_METRICS_JSON) {
		if (m->nsamples)
			put(m, ",", 1);
		put(m, "{", 1);
		put_labels(m, labels, n, &first);
		puts_(m, first ? "\"value\":" : ",\"value\":");
		put_u64(m, value);
		put(m, "}", 1);
	} else {
		if (!m->nsamples)
			header(m);
		puts_(m, m->fam->name);
		if (n + m->nkonst) {
			put(m, "{", 1);
			put_labels(m, m->konst, m->nkonst, &first);
			put_labels(m, labels, n, &first);
			put(m, "}", 1);
		}
		put(m, " ", 1);
		put_u64(m, value);
		put(m, "\n", 1);
	}
	m->nsamples++;
}

void sp__metrics_family_end(struct sp__metrics *m)
{
	if (m->err)
		return;
	if (!m->fam) {
		fail(m, -EINVAL);
		return;
	}
	m->fam = NULL;
	if (m->format == SP_METRICS_JSON) {
		put(m, "]", 1);
		m->depth--;
	}
}

void sp__metrics_value(struct sp__metrics *m, const struct sp__metric *fam, uint64_t value)
{
	if (m->err)
		return;
	if (m->format == SP_METRICS_PROMETHEUS && fam && fam->type != SP__METRIC_INFO) {
		sp__metrics_family(m, fam);
		sp__metrics_sample(m, NULL, 0, value);
		sp__metrics_family_end(m);
		return;
	}
	if (m->fam || !family_ok(fam) || fam->type == SP__METRIC_INFO) {
		fail(m, -EINVAL);
		return;
	}
	member(m, fam->key);
	put_u64(m, value);
}

void sp__metrics_info(struct sp__metrics *m, const struct sp__metric *fam,
                      const struct sp__label *labels, size_t n)
{
	if (m->err)
		return;
	if (m->format == SP_METRICS_PROMETHEUS && fam && fam->type == SP__METRIC_INFO) {
		sp__metrics_family(m, fam);
		sp__metrics_sample(m, labels, n, 1);
		sp__metrics_family_end(m);
		return;
	}
	if (m->fam || !family_ok(fam) || fam->type != SP__METRIC_INFO || !labels_ok(m, labels, n)) {
		fail(m, -EINVAL);
		return;
	}
	int first = 1;
	member(m, fam->key);
	put(m, "{", 1);
	put_labels(m, labels, n, &first);
	put(m, "}", 1);
}

void sp__metrics_section(struct sp__metrics *m, const char *key)
{
	if (m->err || m->format != SP_METRICS_JSON)
		return;
	if (m->fam || !key) {
		fail(m, -EINVAL);
		return;
	}
	member(m, key);
	push(m, "{");
}

void sp__metrics_section_end(struct sp__metrics *m)
{
	if (m->err || m->format != SP_METRICS_JSON)
		return;
	if (m->fam || m->depth < 2) {
		fail(m, -EINVAL);
		return;
	}
	put(m, "}", 1);
	m->depth--;
}

int sp__metrics_end(struct sp__metrics *m)
{
	if (m->fam || (m->format == SP_METRICS_JSON && m->depth != 1))
		fail(m, -EINVAL);
	if (m->format == SP_METRICS_JSON)
		put(m, "}\n", 2);
	flush(m);
	int err = m->err;
	m->err = -EINVAL; /* nothing more, should the caller go on */
	return err;
}

void sp__metrics_build_info(struct sp__metrics *m)
{
	static const struct sp__metric info = {
		"slotpool_build_info", "build_info",
		"The slotpool library that wrote these metrics (value 1).", SP__METRIC_INFO};
	const struct sp__label version = {"version", sp_version_string(), 0};
	sp__metrics_info(m, &info, &version, 1);
}
