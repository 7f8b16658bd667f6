/*-------------------------------------------------------------------------
 *
 * http_request.c
 *	  Parsing of the HTTP requests the endpoint answers: the request line
 *	  and headers of HTTP/1.0 and 1.1, the query string, and lag limits.
 *
 * Everything a client sends is untrusted, so the parser is strict and
 * small: a request is a request line ("GET /path?query HTTP/1.1", the path
 * perhaps after "http://host"), header lines ("Name: value") and a blank
 * line, in at most HTTP_MAX_REQUEST bytes, lines ending in CRLF or a bare
 * LF.  Anything else is malformed: control characters, a second space,
 * obsolete line folding, a header without a name, more than
 * HTTP_MAX_HEADERS headers.  Malformed input is reported as soon as the
 * bytes that make it so have arrived, so that garbage is answered at once
 * rather than when the client gives up; only a request that is well formed
 * so far is worth waiting for.  A body is never read: GET has none that
 * means anything.  A request says whether its connection may carry another
 * after it: only an HTTP/1.1 request that asks for no close and announces
 * no body, whose bytes would otherwise be taken for the next request.
 *
 * This file depends on the C library alone, and never on PostgreSQL, so
 * that the fuzzer in fuzz/ links it by itself.  It allocates nothing and
 * writes only into the caller's structs, always within their sizes.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>
#include <strings.h>

#include "http_request.h"

/* Largest value, in bytes or microseconds, that a lag limit may have. */
#define LAG_MAX		((uint64_t) 1 << 62)

/* A "tchar" of RFC 9110: what a method or a header name is made of. */
static bool
is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A character that may stand in a request target: visible ASCII. */
static bool
is_target_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

/*
 * The length of the scheme and authority that begin a request target in
 * absolute form ("http://host:8008/primary"), 0 for a target in origin
 * form ("/primary"), -1 for "http://" without a host.  Only proxies are
 * sent the absolute form, but RFC 9112 has every server accept it; the
 * host is ignored, as the Host header is.
 */
static int
absolute_form_prefix(const char *target, size_t len)
{
	size_t		scheme;
	size_t		end;

	if (len >= 7 && strncasecmp(target, "http://", 7) == 0)
		scheme = 7;
	else if (len >= 8 && strncasecmp(target, "https://", 8) == 0)
		scheme = 8;
	else
		return 0;
	for (end = scheme; end < len; end++)
	{
		if (target[end] == '/' || target[end] == '?')
			break;
	}
	return end > scheme ? (int) end : -1;
}

/* A character of a header value: visible ASCII, space, tab, or obs-text. */
static bool
is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/*
 * Check the request line line[0..len) (without its line ending) and fill
 * req from it.  Returns false if it is malformed.
 */
static bool
parse_request_line(const char *line, size_t len, HttpRequest *req)
{
	const char *sp1;
	const char *sp2;
	const char *target;
	const char *q;
	size_t		mlen;
	size_t		tlen;
	size_t		plen;
	size_t		i;
	int			prefix;

	sp1 = memchr(line, ' ', len);
	if (sp1 == NULL)
		return false;
	mlen = sp1 - line;
	if (mlen == 0 || mlen >= sizeof(req->method))
		return false;
	for (i = 0; i < mlen; i++)
	{
		if (!is_tchar((unsigned char) line[i]))
			return false;
	}

	target = sp1 + 1;
	sp2 = memchr(target, ' ', len - (target - line));
	if (sp2 == NULL)
		return false;
	tlen = sp2 - target;
	for (i = 0; i < tlen; i++)
	{
		if (!is_target_char((unsigned char) target[i]))
			return false;
	}
	prefix = absolute_form_prefix(target, tlen);
	if (prefix < 0)
		return false;
	target += prefix;
	tlen -= prefix;
	/* An absolute form's path may be empty, which means "/" */
	if (prefix == 0 && (tlen == 0 || target[0] != '/'))
		return false;

	/* The version ends the line; exactly one space before it. */
	if ((size_t) (line + len - (sp2 + 1)) != 8 ||
		(memcmp(sp2 + 1, "HTTP/1.0", 8) != 0 &&
		 memcmp(sp2 + 1, "HTTP/1.1", 8) != 0))
		return false;

	q = memchr(target, '?', tlen);
	plen = q ? (size_t) (q - target) : tlen;
	if (plen >= sizeof(req->path))
		return false;
	if (q && tlen - plen - 1 >= sizeof(req->query))
		return false;

	req->keep_alive = (memcmp(sp2 + 1, "HTTP/1.1", 8) == 0);
	memcpy(req->method, line, mlen);
	req->method[mlen] = '\0';
	req->is_get = (mlen == 3 && memcmp(line, "GET", 3) == 0);
	req->is_head = (mlen == 4 && memcmp(line, "HEAD", 4) == 0);
	if (plen == 0)
		strcpy(req->path, "/");
	else
	{
		memcpy(req->path, target, plen);
		req->path[plen] = '\0';
	}
	if (q)
	{
		memcpy(req->query, q + 1, tlen - plen - 1);
		req->query[tlen - plen - 1] = '\0';
	}
	else
		req->query[0] = '\0';
	return true;
}

/* Whether value[0..len) holds word, in any case. */
static bool
value_has(const char *value, size_t len, const char *word)
{
	size_t		wlen = strlen(word);
	size_t		i;

	for (i = 0; i + wlen <= len; i++)
	{
		if (strncasecmp(value + i, word, wlen) == 0)
			return true;
	}
	return false;
}

/*
 * Check one header line, without its line ending; false if malformed.  A
 * header that asks to close the connection, or announces a body, ends
 * req's keep_alive.
 */
static bool
parse_header_line(const char *line, size_t len, HttpRequest *req)
{
	size_t		i = 0;
	size_t		nlen;

	/* A name of at least one tchar, then the colon at once. */
	while (i < len && is_tchar((unsigned char) line[i]))
		i++;
	if (i == 0 || i == len || line[i] != ':')
		return false;
	nlen = i;
	for (i++; i < len; i++)
	{
		if (!is_value_char((unsigned char) line[i]))
			return false;
	}

	if ((nlen == 10 && strncasecmp(line, "connection", 10) == 0 &&
		 value_has(line + 11, len - 11, "close")) ||
		(nlen == 14 && strncasecmp(line, "content-length", 14) == 0) ||
		(nlen == 17 && strncasecmp(line, "transfer-encoding", 17) == 0))
		req->keep_alive = false;
	return true;
}

/*
 * Whether the start of a line that has not ended yet could still be valid:
 * garbage is reported before the client sends a line ending, if ever.
 */
static bool
partial_line_ok(const char *line, size_t len, bool request_line)
{
	size_t		i;

	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) line[i];

		/* A CR is fine as the last byte: the LF may follow */
		if (c == '\r' && i == len - 1)
			continue;
		if (request_line ? (c < 0x20 || c == 0x7f) : !is_value_char(c))
			return false;
	}
	return true;
}

/*
 * Parse the request in buf[0..len), which holds every byte received so far
 * on a connection.  Returns HTTP_PARSE_OK with req filled in once the
 * headers are complete and well formed, HTTP_PARSE_INCOMPLETE while they
 * may still become so, and HTTP_PARSE_BAD as soon as they cannot, or once
 * HTTP_MAX_REQUEST bytes came without the end of the headers.
 */
HttpParseResult
http_parse_request(const char *buf, size_t len, HttpRequest *req)
{
	size_t		pos = 0;
	int			nlines = 0;

	memset(req, 0, sizeof(*req));
	if (len > HTTP_MAX_REQUEST)
		len = HTTP_MAX_REQUEST;

	for (;;)
	{
		const char *line = buf + pos;
		const char *lf = memchr(line, '\n', len - pos);
		size_t		linelen;

		if (lf == NULL)
		{
			if (!partial_line_ok(line, len - pos, nlines == 0))
				return HTTP_PARSE_BAD;
			return len >= HTTP_MAX_REQUEST ? HTTP_PARSE_BAD :
				HTTP_PARSE_INCOMPLETE;
		}
		linelen = lf - line;
		pos += linelen + 1;
		if (linelen > 0 && line[linelen - 1] == '\r')
			linelen--;

		if (nlines == 0)
		{
			if (!parse_request_line(line, linelen, req))
				return HTTP_PARSE_BAD;
		}
		else if (linelen == 0)
		{
			req->length = pos;
			return HTTP_PARSE_OK;
		}
		else if (nlines > HTTP_MAX_HEADERS ||
				 !parse_header_line(line, linelen, req))
			return HTTP_PARSE_BAD;
		nlines++;
	}
}

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decode src[0..len) into dst (dst_len bytes, NUL-terminated), '+'
 * standing for a space.  False if an escape is bad, the result holds a NUL
 * or does not fit.
 */
static bool
decode_component(const char *src, size_t len, char *dst, size_t dst_len)
{
	size_t		i;
	size_t		n = 0;

	for (i = 0; i < len; i++)
	{
		int			c = (unsigned char) src[i];

		if (c == '%')
		{
			int			hi;
			int			lo;

			if (len - i < 3)
				return false;
			hi = hex_value((unsigned char) src[i + 1]);
			lo = hex_value((unsigned char) src[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			c = hi * 16 + lo;
			i += 2;
			if (c == 0)
				return false;
		}
		else if (c == '+')
			c = ' ';
		if (n + 1 >= dst_len)
			return false;
		dst[n++] = (char) c;
	}
	dst[n] = '\0';
	return true;
}

/*
 * Read the next "name=value" pair of a query string and move *query past
 * it; both are percent-decoded into the caller's buffers.  A pair without
 * '=' has an empty value; empty pairs ("a=1&&b=2") are skipped.  Returns 1
 * for a pair, 0 at the end, -1 if the pair is malformed or too long.
 */
int
http_query_next(const char **query, char *name, size_t name_len,
				char *value, size_t value_len)
{
	const char *p = *query;
	const char *end;
	const char *eq;
	size_t		plen;

	while (*p == '&')
		p++;
	if (*p == '\0')
	{
		*query = p;
		return 0;
	}
	end = strchr(p, '&');
	plen = end ? (size_t) (end - p) : strlen(p);
	*query = p + plen;

	eq = memchr(p, '=', plen);
	if (eq == NULL)
	{
		if (!decode_component(p, plen, name, name_len) || value_len == 0)
			return -1;
		value[0] = '\0';
		return 1;
	}
	if (!decode_component(p, eq - p, name, name_len) ||
		!decode_component(eq + 1, plen - (eq - p) - 1, value, value_len))
		return -1;
	return 1;
}

/* Lag units: a size in bytes, or a duration in microseconds. */
typedef struct LagUnit
{
	const char *name;
	bool		is_time;
	uint64_t	factor;
} LagUnit;

static const LagUnit lag_units[] = {
	{"", false, 1},
	{"B", false, 1},
	{"kB", false, UINT64_C(1024)},
	{"MB", false, UINT64_C(1024) * 1024},
	{"GB", false, UINT64_C(1024) * 1024 * 1024},
	{"TB", false, UINT64_C(1024) * 1024 * 1024 * 1024},
	{"us", true, 1},
	{"ms", true, 1000},
	{"s", true, 1000 * 1000},
	{"min", true, UINT64_C(60) * 1000 * 1000},
	{"h", true, UINT64_C(3600) * 1000 * 1000},
	{"d", true, UINT64_C(86400) * 1000 * 1000},
};

/* ASCII-only case-insensitive equality, independent of the locale. */
static bool
unit_equal(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
	{
		char		ca = (*a >= 'A' && *a <= 'Z') ? *a + 32 : *a;
		char		cb = (*b >= 'A' && *b <= 'Z') ? *b + 32 : *b;

		if (ca != cb)
			return false;
	}
	return *a == *b;
}

/*
 * Parse a lag limit: a non-negative number, with up to six decimals, and a
 * unit: none or B, kB, MB, GB, TB (powers of 1024, as PostgreSQL's memory
 * units) for a size, us, ms, s, min, h, d for a duration; units are
 * matched without regard to case.  "10MB", "5s", "1.5min".  False if it is
 * anything else, or larger than 2^62 bytes or microseconds.
 */
bool
http_parse_lag(const char *s, HttpLagLimit *limit)
{
	uint64_t	whole = 0;
	uint64_t	frac = 0;
	uint64_t	frac_div = 1;
	const char *p = s;
	size_t		i;

	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++)
	{
		whole = whole * 10 + (uint64_t) (*p - '0');
		if (whole > LAG_MAX)
			return false;
	}
	if (*p == '.')
	{
		p++;
		if (*p < '0' || *p > '9')
			return false;
		for (; *p >= '0' && *p <= '9'; p++)
		{
			if (frac_div == 1000000)
				return false;
			frac = frac * 10 + (uint64_t) (*p - '0');
			frac_div *= 10;
		}
	}

	for (i = 0; i < sizeof(lag_units) / sizeof(lag_units[0]); i++)
	{
		const LagUnit *u = &lag_units[i];
		uint64_t	value;

		if (!unit_equal(p, u->name))
			continue;
		if (whole > LAG_MAX / u->factor)
			return false;
		value = whole * u->factor;
		/* frac < 10^6 < 2^20 and factor <= 2^40: no overflow */
		value += frac * u->factor / frac_div;
		if (value > LAG_MAX)
			return false;
		limit->is_time = u->is_time;
		limit->bytes = u->is_time ? 0 : value;
		limit->usecs = u->is_time ? value : 0;
		return true;
	}
	return false;
}
