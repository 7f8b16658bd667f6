/*-------------------------------------------------------------------------
 *
 * http_request_test.c
 *	  Unit tests of the HTTP request parser (src/http_request.c), as a
 *	  TAP producer: one "ok" or "not ok" line per case.
 *
 * The fuzzer finds what crashes; these pin down what is accepted and what
 * is refused, case by case, including the edges (the longest request, the
 * largest lag).  Built and run by fuzz/run-fuzz.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_request.h"

static int	ntests = 0;
static int	nfailed = 0;

static void
report(int ok, const char *what, const char *input)
{
	ntests++;
	if (!ok)
		nfailed++;
	printf("%sok %d - %s: ", ok ? "" : "not ", ntests, what);
	for (; *input; input++)
	{
		if (*input == '\r')
			fputs("\\r", stdout);
		else if (*input == '\n')
			fputs("\\n", stdout);
		else if ((unsigned char) *input < 0x20 || *input == 0x7f)
			printf("\\x%02x", (unsigned char) *input);
		else
			putchar(*input);
	}
	putchar('\n');
}

static void
request(const char *input, HttpParseResult want, const char *path,
		const char *query)
{
	HttpRequest req;
	HttpParseResult got = http_parse_request(input, strlen(input), &req);
	int			ok = (got == want);

	if (ok && want == HTTP_PARSE_OK)
		ok = strcmp(req.path, path) == 0 && strcmp(req.query, query) == 0 &&
			req.length == strlen(input);
	report(ok, want == HTTP_PARSE_OK ? "accepted" :
		   want == HTTP_PARSE_BAD ? "refused" : "incomplete", input);
}

/* Whether a well-formed request lets its connection carry another. */
static void
keep_alive(const char *input, int want)
{
	HttpRequest req;
	int			ok = http_parse_request(input, strlen(input), &req) == HTTP_PARSE_OK &&
		req.keep_alive == want;

	report(ok, want ? "keeps the connection" : "closes the connection", input);
}

/* Which of the methods answered a well-formed request names. */
static void
method(const char *input, int want_get, int want_head)
{
	HttpRequest req;
	int			ok = http_parse_request(input, strlen(input), &req) == HTTP_PARSE_OK &&
		req.is_get == want_get && req.is_head == want_head;

	report(ok, want_get ? "GET" : want_head ? "HEAD" : "neither GET nor HEAD",
		   input);
}

static void
lag(const char *input, int want_ok, int is_time, unsigned long long value)
{
	HttpLagLimit limit;
	int			got = http_parse_lag(input, &limit);
	int			ok = (got == want_ok);

	if (ok && want_ok)
		ok = limit.is_time == is_time &&
			(is_time ? limit.usecs : limit.bytes) == value;
	report(ok, want_ok ? "lag accepted" : "lag refused", input);
}

static void
query(const char *input, const char *name1, const char *value1, int rc2)
{
	const char *q = input;
	char		name[16];
	char		value[16];
	int			rc = http_query_next(&q, name, sizeof(name), value, sizeof(value));
	int			ok;

	if (name1 == NULL)
		ok = (rc == -1);
	else
		ok = rc == 1 && strcmp(name, name1) == 0 && strcmp(value, value1) == 0 &&
			http_query_next(&q, name, sizeof(name), value, sizeof(value)) == rc2;
	report(ok, "query", input);
}

int
main(void)
{
	char	   *big;
	size_t		n;

	/* Well formed */
	request("GET /primary HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_PARSE_OK, "/primary", "");
	request("GET /primary HTTP/1.0\r\n\r\n", HTTP_PARSE_OK, "/primary", "");
	request("GET /replica?max_lag=10MB HTTP/1.1\n\n", HTTP_PARSE_OK, "/replica", "max_lag=10MB");
	request("GET / HTTP/1.1\r\nX-Empty:\r\nX-Tab:\ta\tb\r\n\r\n", HTTP_PARSE_OK, "/", "");
	request("POST /primary HTTP/1.1\r\n\r\n", HTTP_PARSE_OK, "/primary", "");
	request("GET /x?%zz HTTP/1.1\r\n\r\n", HTTP_PARSE_OK, "/x", "%zz");

	/* The absolute form, which only proxies are sent, but servers accept */
	request("GET http://x/primary HTTP/1.1\r\n\r\n", HTTP_PARSE_OK, "/primary", "");
	request("GET HTTPS://db1:8008/replica?max_lag=5s HTTP/1.1\r\n\r\n", HTTP_PARSE_OK, "/replica", "max_lag=5s");
	request("GET http://x HTTP/1.1\r\n\r\n", HTTP_PARSE_OK, "/", "");
	request("GET http://x?a=b HTTP/1.1\r\n\r\n", HTTP_PARSE_OK, "/", "a=b");

	/* Methods: names are case-sensitive, and only GET and HEAD are served */
	method("GET /primary HTTP/1.1\r\n\r\n", 1, 0);
	method("HEAD /primary HTTP/1.1\r\n\r\n", 0, 1);
	method("head /primary HTTP/1.1\r\n\r\n", 0, 0);
	method("HEADER /primary HTTP/1.1\r\n\r\n", 0, 0);
	method("OPTIONS /primary HTTP/1.1\r\n\r\n", 0, 0);

	/* Keep-alive: HTTP/1.1 without a close or a body only */
	keep_alive("GET /primary HTTP/1.1\r\nHost: x\r\n\r\n", 1);
	keep_alive("GET /primary HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", 1);
	keep_alive("GET /primary HTTP/1.0\r\n\r\n", 0);
	keep_alive("GET /primary HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0);
	keep_alive("GET /primary HTTP/1.1\r\nConnection: close\r\n\r\n", 0);
	keep_alive("GET /primary HTTP/1.1\r\nconnection:Keep-Alive, CLOSE\r\n\r\n", 0);
	keep_alive("GET /primary HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 0);
	keep_alive("GET /primary HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 0);
	keep_alive("GET /primary HTTP/1.1\r\nX-Connection: close\r\n\r\n", 1);

	/* Not complete yet */
	request("", HTTP_PARSE_INCOMPLETE, NULL, NULL);
	request("GET /primary HTT", HTTP_PARSE_INCOMPLETE, NULL, NULL);
	request("GET /primary HTTP/1.1\r", HTTP_PARSE_INCOMPLETE, NULL, NULL);
	request("GET /primary HTTP/1.1\r\nHost: x\r\n", HTTP_PARSE_INCOMPLETE, NULL, NULL);
	request("GET /primary HTTP/1.1\r\nHo", HTTP_PARSE_INCOMPLETE, NULL, NULL);

	/* Malformed, refused as soon as it shows */
	request("\r\n", HTTP_PARSE_BAD, NULL, NULL);
	request("GET\x01", HTTP_PARSE_BAD, NULL, NULL);
	request("GET /primary HTTP/2.0\r\n\r\n", HTTP_PARSE_BAD, NULL, NULL);
	request("GET /primary  HTTP/1.1\r\n\r\n", HTTP_PARSE_BAD, NULL, NULL);
	request("GET primary HTTP/1.1\r\n\r\n", HTTP_PARSE_BAD, NULL, NULL);
	request("GET http:///primary HTTP/1.1\r\n\r\n", HTTP_PARSE_BAD, NULL, NULL);
	request("GET http:// HTTP/1.1\r\n\r\n", HTTP_PARSE_BAD, NULL, NULL);
	request("GET ftp://x/primary HTTP/1.1\r\n\r\n", HTTP_PARSE_BAD, NULL, NULL);
	request("GET * HTTP/1.1\r\n\r\n", HTTP_PARSE_BAD, NULL, NULL);
	request("GET /primary HTTP/1.1 \r\n\r\n", HTTP_PARSE_BAD, NULL, NULL);
	request("G(T /primary HTTP/1.1\r\n\r\n", HTTP_PARSE_BAD, NULL, NULL);
	request("GETGETGETGETGETGET / HTTP/1.1\r\n\r\n", HTTP_PARSE_BAD, NULL, NULL);
	request("GET /primary HTTP/1.1\r\nHost x\r\n\r\n", HTTP_PARSE_BAD, NULL, NULL);
	request("GET /primary HTTP/1.1\r\nHost : x\r\n\r\n", HTTP_PARSE_BAD, NULL, NULL);
	request("GET /primary HTTP/1.1\r\n: x\r\n\r\n", HTTP_PARSE_BAD, NULL, NULL);
	request("GET /primary HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", HTTP_PARSE_BAD, NULL, NULL);
	request("GET /primary HTTP/1.1\r\nA: b\x01", HTTP_PARSE_BAD, NULL, NULL);
	request("GET /a\x7f HTTP/1.1\r\n\r\n", HTTP_PARSE_BAD, NULL, NULL);

	/* Too many headers */
	big = malloc(HTTP_MAX_REQUEST * 2);
	strcpy(big, "GET / HTTP/1.1\r\n");
	for (n = 0; n <= HTTP_MAX_HEADERS; n++)
		strcat(big, "A: b\r\n");
	strcat(big, "\r\n");
	request(big, HTTP_PARSE_BAD, NULL, NULL);

	/* The longest request is accepted, one byte more is refused */
	strcpy(big, "GET / HTTP/1.1\r\nA: ");
	n = strlen(big);
	memset(big + n, 'a', HTTP_MAX_REQUEST - n - 4);
	strcpy(big + HTTP_MAX_REQUEST - 4, "\r\n\r\n");
	request(big, HTTP_PARSE_OK, "/", "");
	memmove(big + n + 1, big + n, HTTP_MAX_REQUEST - n + 1);
	big[n] = 'a';
	request(big, HTTP_PARSE_BAD, NULL, NULL);
	big[HTTP_MAX_REQUEST] = '\0';
	request(big, HTTP_PARSE_BAD, NULL, NULL);	/* full, no end in sight */
	free(big);

	/* Lag limits */
	lag("0", 1, 0, 0);
	lag("1024", 1, 0, 1024);
	lag("10MB", 1, 0, 10ULL * 1024 * 1024);
	lag("10mb", 1, 0, 10ULL * 1024 * 1024);
	lag("1.5kB", 1, 0, 1536);
	lag("2TB", 1, 0, 2ULL << 40);
	lag("5s", 1, 1, 5000000);
	lag("250ms", 1, 1, 250000);
	lag("1.5min", 1, 1, 90000000);
	lag("1h", 1, 1, 3600000000ULL);
	lag("0.000001s", 1, 1, 1);
	lag("", 0, 0, 0);
	lag("MB", 0, 0, 0);
	lag("-1", 0, 0, 0);
	lag("1 MB", 0, 0, 0);
	lag("1.MB", 0, 0, 0);
	lag(".5s", 0, 0, 0);
	lag("1.0000001s", 0, 0, 0);
	lag("10parsecs", 0, 0, 0);
	lag("4611686018427387905", 0, 0, 0);
	lag("4194305TB", 0, 0, 0);
	lag("99999999999999999999999", 0, 0, 0);

	/* Query strings */
	query("max_lag=10MB", "max_lag", "10MB", 0);
	query("max_lag=10MB&max_lag=5s", "max_lag", "10MB", 1);
	query("&&a=%41+b&", "a", "A b", 0);
	query("flag", "flag", "", 0);
	query("a=%4", NULL, NULL, 0);
	query("a=%00", NULL, NULL, 0);
	query("a=0123456789abcdefg", NULL, NULL, 0);

	printf("1..%d\n", ntests);
	return nfailed > 0;
}
