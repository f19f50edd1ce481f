/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small JSON writer: objects and arrays nest, commas come by themselves.
 * Keys are given inside objects and NULL inside arrays.
 */
#ifndef VFG_JSON_H
#define VFG_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *f;
	int depth;
	bool first[JSON_MAX_DEPTH];
	char close[JSON_MAX_DEPTH];	/* '}' or ']' */
};

void json_init(struct json *j, FILE *f);
/* A document on stdout: json_init(), then its top-level object opened. */
void json_doc_begin(struct json *j);
void json_obj_begin(struct json *j, const char *key);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j, const char *key);
void json_arr_end(struct json *j);
/* A string, or null when @val is NULL. */
void json_str(struct json *j, const char *key, const char *val);
/* A string, or null when @val is NULL or "". */
void json_str_or_null(struct json *j, const char *key, const char *val);
void json_int(struct json *j, const char *key, long long val);
void json_u64(struct json *j, const char *key, uint64_t val);
void json_bool(struct json *j, const char *key, bool val);
void json_null(struct json *j, const char *key);
/* End the document: close what is still open, then a newline. */
void json_end(struct json *j);

#endif
