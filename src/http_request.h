/*-------------------------------------------------------------------------
 *
 * http_request.h
 *	  Parsing of the HTTP requests the endpoint answers, in plain C.
 *
 * Nothing here depends on PostgreSQL, so that the fuzzer (fuzz/) links it
 * alone.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGREPL_HTTP_REQUEST_H
#define PGREPL_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest request, request line and headers together, that is accepted. */
#define HTTP_MAX_REQUEST	8192

/* Most header lines a request may have. */
#define HTTP_MAX_HEADERS	64

/* Longest path and query string kept (each fits in a request). */
#define HTTP_MAX_TARGET		1024

typedef enum HttpParseResult
{
	HTTP_PARSE_INCOMPLETE,		/* no end of headers yet: read on */
	HTTP_PARSE_OK,
	HTTP_PARSE_BAD				/* malformed or too large: answer 400 */
} HttpParseResult;

typedef struct HttpRequest
{
	bool		is_get;			/* the method is GET */
	bool		is_head;		/* HEAD: GET's answer without its body; any
								 * other method is refused */
	char		method[16];
	char		path[HTTP_MAX_TARGET];	/* as sent, not decoded */
	char		query[HTTP_MAX_TARGET]; /* after '?', as sent; may be empty */
	size_t		length;			/* bytes of the request, through the blank
								 * line */
	bool		keep_alive;		/* HTTP/1.1, no "Connection: close", no body:
								 * the connection may carry another request */
} HttpRequest;

/* A lag limit, as /replica?max_lag= gives it: a size or a duration. */
typedef struct HttpLagLimit
{
	bool		is_time;
	uint64_t	bytes;			/* if !is_time */
	uint64_t	usecs;			/* if is_time */
} HttpLagLimit;

extern HttpParseResult http_parse_request(const char *buf, size_t len,
										  HttpRequest *req);
extern int	http_query_next(const char **query, char *name, size_t name_len,
							char *value, size_t value_len);
extern bool http_parse_lag(const char *s, HttpLagLimit *limit);

#endif							/* PGREPL_HTTP_REQUEST_H */
