// SPDX-License-Identifier: GPL-2.0-only
#include <inttypes.h>

#include "json.h"

void json_init(struct json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->first[0] = true;
}

void json_doc_begin(struct json *j)
{
	json_init(j, stdout);
	json_obj_begin(j, NULL);
}

static void put_string(FILE *f, const char *s)
{
	const unsigned char *p;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void key(struct json *j, const char *k)
{
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = false;
	if (k) {
		put_string(j->f, k);
		fputc(':', j->f);
	}
}

static void push(struct json *j, const char *k, char c)
{
	key(j, k);
	fputc(c, j->f);
	if (j->depth < JSON_MAX_DEPTH - 1)
		j->depth++;
	j->first[j->depth] = true;
	j->close[j->depth] = c == '{' ? '}' : ']';
}

/* Close the innermost object or array. */
static void pop(struct json *j)
{
	if (!j->depth)
		return;
	fputc(j->close[j->depth], j->f);
	j->depth--;
}

void json_obj_begin(struct json *j, const char *k)
{
	push(j, k, '{');
}

void json_obj_end(struct json *j)
{
	pop(j);
}

void json_arr_begin(struct json *j, const char *k)
{
	push(j, k, '[');
}

void json_arr_end(struct json *j)
{
	pop(j);
}

void json_str(struct json *j, const char *k, const char *val)
{
	key(j, k);
	if (val)
		put_string(j->f, val);
	else
		fputs("null", j->f);
}

void json_str_or_null(struct json *j, const char *k, const char *val)
{
	json_str(j, k, val && val[0] ? val : NULL);
}

void json_int(struct json *j, const char *k, long long val)
{
	key(j, k);
	fprintf(j->f, "%lld", val);
}

void json_u64(struct json *j, const char *k, uint64_t val)
{
	key(j, k);
	fprintf(j->f, "%" PRIu64, val);
}

void json_bool(struct json *j, const char *k, bool val)
{
	key(j, k);
	fputs(val ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *k)
{
	key(j, k);
	fputs("null", j->f);
}

void json_end(struct json *j)
{
	while (j->depth)
		pop(j);
	fputc('\n', j->f);
	fflush(j->f);
}
