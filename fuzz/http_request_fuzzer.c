/*-------------------------------------------------------------------------
 *
 * http_request_fuzzer.c
 *	  libFuzzer harness for the HTTP request parser (src/http_request.c).
 *
 * Every input is parsed three ways: as a request, as the bytes of a query
 * string, and as a max_lag value.  Beyond "no crash, no overflow" (the
 * sanitizers' business), it checks what the server relies on:
 *
 *	- a request is judged the same whether its bytes arrive at once or in
 *	  parts: no prefix of a well-formed request is malformed, and once a
 *	  prefix is malformed the whole is too (the server answers 400 as soon
 *	  as a prefix is malformed);
 *	- what the parser returns is NUL-terminated within its buffers, and a
 *	  request's length lies within the input.
 *
 * A violation aborts, which libFuzzer reports as a crash with the input.
 * Build and run it with fuzz/run-fuzz.
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_request.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int condition)
{
	if (!condition)
		abort();
}

/* Walk a query string as the server does, into small buffers. */
static void
walk_query(const char *query)
{
	const char *q = query;
	size_t		len = strlen(query);
	char		name[64];
	char		value[64];
	int			rc;
	size_t		n = 0;

	while ((rc = http_query_next(&q, name, sizeof(name), value, sizeof(value))) > 0)
	{
		HttpLagLimit limit;

		check(memchr(name, '\0', sizeof(name)) != NULL);
		check(memchr(value, '\0', sizeof(value)) != NULL);
		if (http_parse_lag(value, &limit))
			check(limit.is_time ? limit.bytes == 0 : limit.usecs == 0);
		check(++n <= len + 1);	/* it always moves on */
	}
	check(rc == 0 || rc == -1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *) data;
	HttpRequest req;
	HttpRequest part;
	HttpParseResult whole;
	char	   *str;
	size_t		cut;

	whole = http_parse_request(buf, size, &req);
	if (whole == HTTP_PARSE_OK)
	{
		check(req.length > 0 && req.length <= size);
		check(memchr(req.path, '\0', sizeof(req.path)) != NULL);
		check(memchr(req.query, '\0', sizeof(req.query)) != NULL);
		check(req.path[0] == '/');
		walk_query(req.query);
	}

	/* Prefixes: a few cut points, chosen by the input itself */
	for (cut = size / 2; cut > 0; cut /= 3)
	{
		HttpParseResult r = http_parse_request(buf, cut, &part);

		if (whole == HTTP_PARSE_OK)
			check(r != HTTP_PARSE_BAD);
		if (r == HTTP_PARSE_BAD)
			check(whole == HTTP_PARSE_BAD);
		if (r == HTTP_PARSE_OK)
			check(whole == HTTP_PARSE_OK && part.length == req.length);
	}

	/* The same bytes as a query string and as a lag value */
	str = malloc(size + 1);
	if (str == NULL)
		return 0;
	memcpy(str, data, size);
	str[size] = '\0';
	walk_query(str);
	{
		HttpLagLimit limit;

		if (http_parse_lag(str, &limit))
			check(limit.bytes <= ((uint64_t) 1 << 62) &&
				  limit.usecs <= ((uint64_t) 1 << 62));
	}
	free(str);
	return 0;
}
