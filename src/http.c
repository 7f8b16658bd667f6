/*-------------------------------------------------------------------------
 *
 * http.c
 *	  The "pgrepl http" background worker: an HTTP endpoint for load
 *	  balancers and Prometheus, served from inside PostgreSQL.
 *
 * One worker per node serves every client, in one thread, with
 * non-blocking sockets and a WaitEventSet: it waits for its latch, the
 * postmaster's death, its listening sockets and its clients' sockets at
 * once, and never blocks on any of them.  The set is kept from one wakeup
 * to the next, new sockets added to it, and built again only once a socket
 * was closed.  It is a process of its own, so that nothing a client does
 * (connecting by the thousand, sending a byte a second, sending garbage)
 * can delay the monitor's ticks, heartbeats or elections; the worst a
 * client can do is to be disconnected.
 *
 * A connection carries one request and its answer, or, when an HTTP/1.1
 * client asks for nothing else, one after another (keep-alive): health
 * checks open a connection per check, but a scraper or a load tool that
 * keeps its connection costs the worker a read and a write per request
 * instead of an accept, a close and three wakeups.  Its life:
 *
 *	 READING    until the request's headers are complete (http_request.c);
 *	 WRITING    until the answer is sent;
 *	 IDLE       kept alive, until the next request begins (a pipelined one
 *				may be waiting in the buffer already);
 *	 LINGERING  after a half-close, until the client closes too, so that
 *				bytes it sent beyond the request (a body, a second request)
 *				do not turn our close into a reset that could destroy the
 *				answer before the client read it.
 *
 * Limits: a request and its answer must be done within HTTP_TIMEOUT_MS of
 * the connection being accepted, or of the request's first byte on a
 * kept-alive one; a kept-alive connection idles HTTP_IDLE_MS at most and
 * carries HTTP_MAX_REQUESTS requests at most; lingering lasts
 * HTTP_LINGER_MS at most; there are at most HTTP_MAX_CONNECTIONS
 * connections.  When all are taken, a new connection evicts a lingering or
 * idle one, else the one that has been reading the longest: a slow client
 * can hold a slot only until a quick one needs it, and quick ones are done
 * in well under a millisecond.
 *
 * pgrepl.http_port and pgrepl.http_listen_addresses reload on SIGHUP: the
 * worker always runs, idles while the port is 0, and opens, closes or
 * moves its listening sockets when they change.  An address that cannot be
 * bound is logged and tried again every HTTP_BIND_RETRY_MS, while the
 * worker serves on the others.
 *
 * What the endpoints answer is decided in metrics.c.  The worker connects
 * to pgrepl.database only for /metrics' count of hot standby conflicts,
 * which takes a query.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/ip.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "compat.h"
#include "http.h"
#include "http_request.h"
#include "metrics.h"
#include "settings.h"

/* Seconds before the postmaster restarts a worker that exited abnormally. */
#define HTTP_RESTART_SECONDS	1

/* Most clients served at once; more evict the slowest. */
#define HTTP_MAX_CONNECTIONS	64

/* Most listening sockets (addresses times address families). */
#define HTTP_MAX_LISTENERS		16

/* Room in the wait set: the latch, the postmaster, listeners, clients. */
#define HTTP_WAIT_EVENTS	(2 + HTTP_MAX_LISTENERS + HTTP_MAX_CONNECTIONS)

/* Time a client has to send its request and read the answer. */
#define HTTP_TIMEOUT_MS			5000

/* Time a kept-alive connection may wait for its next request. */
#define HTTP_IDLE_MS			5000

/* Requests one connection may carry. */
#define HTTP_MAX_REQUESTS		10000

/* Time a connection lingers after the answer, for the client to close. */
#define HTTP_LINGER_MS			1000

/* Time before binding an address that failed is tried again. */
#define HTTP_BIND_RETRY_MS		10000

/* Connections accepted per wakeup, so that accepting cannot starve I/O. */
#define HTTP_ACCEPT_BATCH		32

/* Bounds on the worker's own transactions (the conflict counts). */
#define HTTP_LOCK_TIMEOUT		"100ms"
#define HTTP_STATEMENT_TIMEOUT	"1s"

typedef enum ConnState
{
	CONN_FREE,
	CONN_READING,
	CONN_WRITING,
	CONN_IDLE,
	CONN_LINGERING
} ConnState;

typedef struct HttpConn
{
	ConnState	state;
	pgsocket	sock;
	TimestampTz accepted;
	TimestampTz deadline;
	int			served;			/* requests answered on it */
	bool		keep_alive;		/* it carries another after this answer */
	bool		head;			/* the request is HEAD: answer no body */
	size_t		req_len;		/* bytes of in that the request answered took */
	int			wait_pos;		/* its position in wait_set */
	uint32		wait_events;	/* what it waits for there */
	size_t		in_len;
	char	   *in;				/* HTTP_MAX_REQUEST bytes, the slot's own */
	char	   *out;			/* the answer, in conn_context */
	size_t		out_len;
	size_t		out_done;
} HttpConn;

/*
 * The connection slots.  Their request buffers are apart from them, so
 * that the passes over every slot at each wakeup (deadlines, what each
 * waits for) read a few kilobytes, not a page per slot, each page a likely
 * cache and TLB miss on a server busy with other work.
 */
static HttpConn *conns;
static int	nconns = 0;

static pgsocket listeners[HTTP_MAX_LISTENERS];
static int	nlisteners = 0;

/*
 * What the worker waits on, kept from one wakeup to the next (a kept-alive
 * connection's next request costs no rebuild), accepted sockets added to
 * it; rebuilt once a socket was closed, since there is no taking one out
 * and a new socket may take a closed one's number, and once a listening
 * socket was opened.
 */
static WaitEventSet *wait_set = NULL;
static bool wait_set_stale = true;

/* What the listening sockets were opened for; port 0 when none are. */
static int	open_port = 0;
static char *open_addresses = NULL;
static bool bind_failed = false;
static TimestampTz bind_retry_at = 0;

/*
 * Whether the sockets are being opened again only because an address
 * failed before: then what was said already is not logged again.
 */
static bool retrying = false;

static MemoryContext conn_context;
static MemoryContext request_context;

/* Register the worker; called from _PG_init while preloading. */
void
pgrepl_http_register(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS |
		BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = HTTP_RESTART_SECONDS;
	strlcpy(worker.bgw_library_name, "pgrepl", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "pgrepl_http_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "pgrepl http", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "pgrepl http", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

/* A socket address as text, for messages. */
static void
address_text(const struct sockaddr *addr, socklen_t len, char *buf,
			 size_t buflen)
{
	if (pg_getnameinfo_all((const struct sockaddr_storage *) addr, len,
						   buf, buflen, NULL, 0, NI_NUMERICHOST) != 0)
		strlcpy(buf, "?", buflen);
}

/* Open one listening socket on addr; false (with a warning) on failure. */
static bool
listen_on(const struct addrinfo *ai, const char *host)
{
	char		addr[NI_MAXHOST];
	pgsocket	sock;
	int			one = 1;
	const char *what;

	address_text(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr));
	if (nlisteners == HTTP_MAX_LISTENERS)
	{
		ereport(WARNING,
				(errmsg("pgrepl HTTP endpoint does not listen on %s: too many addresses",
						addr),
				 errdetail("It listens on at most %d addresses.", HTTP_MAX_LISTENERS)));
		return false;
	}
	if (!AcquireExternalFD())
	{
		ereport(WARNING,
				(errmsg("pgrepl HTTP endpoint could not listen on %s: too many open files",
						addr)));
		return false;
	}

	sock = socket(ai->ai_family, SOCK_STREAM, 0);
	if (sock == PGINVALID_SOCKET)
	{
		what = "create a socket";
		goto fail;
	}
	(void) setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
#ifdef IPV6_V6ONLY
	/* "*" binds both families: keep them apart, as PostgreSQL does */
	if (ai->ai_family == AF_INET6)
		(void) setsockopt(sock, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
#endif
	if (bind(sock, ai->ai_addr, ai->ai_addrlen) < 0)
	{
		what = "bind";
		goto fail;
	}
	if (listen(sock, HTTP_MAX_CONNECTIONS) < 0)
	{
		what = "listen";
		goto fail;
	}
	if (!pg_set_noblock(sock))
	{
		what = "make the socket non-blocking";
		goto fail;
	}

	listeners[nlisteners++] = sock;
	wait_set_stale = true;
	ereport(retrying ? DEBUG1 : LOG,
			(errmsg("pgrepl HTTP endpoint listening on %s port %d",
					addr, pgrepl_http_port)));
	return true;

fail:
	ereport(retrying ? DEBUG1 : WARNING,
			(errcode_for_socket_access(),
			 errmsg("pgrepl HTTP endpoint could not %s on %s port %d for \"%s\": %m",
					what, addr, pgrepl_http_port, host)));
	if (sock != PGINVALID_SOCKET)
		closesocket(sock);
	ReleaseExternalFD();
	return false;
}

/* Close every listening socket; established connections stay. */
static void
close_listeners(void)
{
	while (nlisteners > 0)
	{
		closesocket(listeners[--nlisteners]);
		ReleaseExternalFD();
		wait_set_stale = true;
	}
	open_port = 0;
	if (open_addresses)
		pfree(open_addresses);
	open_addresses = NULL;
	bind_failed = false;
}

/*
 * Listen on every address of pgrepl.http_listen_addresses at
 * pgrepl.http_port, each name resolved to all its addresses.  Those that
 * fail are tried again later.
 */
static void
open_listeners(void)
{
	char	   *raw = pstrdup(pgrepl_http_listen_addresses);
	char		port[16];
	List	   *hosts;
	ListCell   *lc;

	close_listeners();
	open_port = pgrepl_http_port;
	open_addresses = MemoryContextStrdup(TopMemoryContext,
										 pgrepl_http_listen_addresses);
	snprintf(port, sizeof(port), "%d", pgrepl_http_port);

	if (!SplitGUCList(raw, ',', &hosts))
		hosts = NIL;			/* the check hook let no such value in */
	foreach(lc, hosts)
	{
		const char *host = lfirst(lc);
		struct addrinfo hints;
		struct addrinfo *res = NULL;
		struct addrinfo *ai;
		int			rc;

		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE;
		rc = pg_getaddrinfo_all(strcmp(host, "*") == 0 ? NULL : host, port,
								&hints, &res);
		if (rc != 0 || res == NULL)
		{
			ereport(retrying ? DEBUG1 : WARNING,
					(errmsg("pgrepl HTTP endpoint could not resolve \"%s\": %s",
							host, gai_strerror(rc))));
			bind_failed = true;
			continue;
		}
		for (ai = res; ai; ai = ai->ai_next)
		{
			if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
				continue;
			if (!listen_on(ai, host))
				bind_failed = true;
		}
		pg_freeaddrinfo_all(hints.ai_family, res);
	}
	list_free(hosts);
	pfree(raw);

	if (bind_failed)
		bind_retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													HTTP_BIND_RETRY_MS);
}

/*
 * After a reload, or when binding failed a while ago: make the listening
 * sockets match the settings.
 */
static void
update_listeners(TimestampTz now)
{
	if (pgrepl_http_port == 0)
	{
		if (open_port != 0)
		{
			close_listeners();
			ereport(LOG, (errmsg("pgrepl HTTP endpoint stopped listening")));
		}
		return;
	}
	if (open_addresses == NULL || pgrepl_http_port != open_port ||
		strcmp(open_addresses, pgrepl_http_listen_addresses) != 0)
	{
		retrying = false;
		open_listeners();
	}
	else if (bind_failed && now >= bind_retry_at)
	{
		retrying = true;
		open_listeners();
	}
}

/* Close a connection and free its slot. */
static void
conn_close(HttpConn *c)
{
	closesocket(c->sock);
	wait_set_stale = true;
	ReleaseExternalFD();
	if (c->out)
		pfree(c->out);
	c->out = NULL;
	c->state = CONN_FREE;
	nconns--;
}

/* Which connections go first when room is needed: lowest rank. */
static int
eviction_rank(const HttpConn *c)
{
	switch (c->state)
	{
		case CONN_LINGERING:
		case CONN_IDLE:
			return 0;			/* answered already */
		case CONN_READING:
			return 1;			/* may never finish its request */
		default:
			return 2;
	}
}

/*
 * A slot for a new connection: a free one, else one taken from the
 * connection least worth keeping (lingering, then reading the longest,
 * then any).
 */
static HttpConn *
conn_slot(void)
{
	HttpConn   *victim = NULL;
	int			i;

	for (i = 0; i < HTTP_MAX_CONNECTIONS; i++)
	{
		HttpConn   *c = &conns[i];

		if (c->state == CONN_FREE)
			return c;
		if (victim == NULL || eviction_rank(c) < eviction_rank(victim) ||
			(eviction_rank(c) == eviction_rank(victim) &&
			 c->accepted < victim->accepted))
			victim = c;
	}
	elog(DEBUG1, "pgrepl HTTP endpoint closes a connection to make room for a new one");
	conn_close(victim);
	return victim;
}

static const char *
status_text(int status)
{
	switch (status)
	{
		case 200:
			return "OK";
		case 400:
			return "Bad Request";
		case 404:
			return "Not Found";
		case 405:
			return "Method Not Allowed";
		case 500:
			return "Internal Server Error";
		case 503:
			return "Service Unavailable";
	}
	return "Unknown";
}

/*
 * Set the connection's answer, and start writing it.  The answer is built
 * in conn_context, where it lives until it is sent.  An answer to HEAD has
 * GET's headers, Content-Length included, and no body: the client reads
 * none, and a body would be taken for the start of the next answer on a
 * kept-alive connection.
 */
static void
conn_respond(HttpConn *c, int status, const char *content_type,
			 const char *body, size_t body_len)
{
	MemoryContext old = MemoryContextSwitchTo(conn_context);
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf,
					 "HTTP/1.1 %d %s\r\n"
					 "Content-Type: %s\r\n"
					 "Content-Length: %zu\r\n"
					 "Cache-Control: no-store\r\n"
					 "Connection: %s\r\n",
					 status, status_text(status), content_type, body_len,
					 c->keep_alive ? "keep-alive" : "close");
	if (status == 405)
		appendStringInfoString(&buf, "Allow: GET, HEAD\r\n");
	appendStringInfoString(&buf, "\r\n");
	if (!c->head)
		appendBinaryStringInfo(&buf, body, body_len);
	MemoryContextSwitchTo(old);

	c->out = buf.data;
	c->out_len = buf.len;
	c->out_done = 0;
	c->state = CONN_WRITING;
}

/* A plain-text answer, one line. */
static void
conn_respond_text(HttpConn *c, int status, const char *text)
{
	StringInfoData body;

	initStringInfo(&body);
	appendStringInfo(&body, "%s\n", text);
	conn_respond(c, status, "text/plain; charset=utf-8", body.data, body.len);
	pfree(body.data);
}

/*
 * The query string of an endpoint that takes no parameter must be empty;
 * else answer 400 and return false.
 */
static bool
no_parameters(HttpConn *c, const HttpRequest *req)
{
	const char *q = req->query;
	char		name[64];
	char		value[64];
	int			rc = http_query_next(&q, name, sizeof(name), value, sizeof(value));

	if (rc == 0)
		return true;
	conn_respond_text(c, 400, rc < 0 ? "malformed query string" :
					  "this endpoint takes no parameter");
	return false;
}

/*
 * /replica's parameters: max_lag, up to PGREPL_MAX_LAG_LIMITS times (a
 * size, a duration, or both).  Anything else is refused, so that a typo
 * cannot make a check that never fails on lag.
 */
static bool
replica_parameters(HttpConn *c, const HttpRequest *req, HttpLagLimit *limits,
				   int *nlimits)
{
	const char *q = req->query;
	char		name[64];
	char		value[64];
	int			rc;

	*nlimits = 0;
	while ((rc = http_query_next(&q, name, sizeof(name), value, sizeof(value))) > 0)
	{
		if (strcmp(name, "max_lag") != 0)
		{
			conn_respond_text(c, 400, "unknown parameter: the only one is max_lag");
			return false;
		}
		if (*nlimits == PGREPL_MAX_LAG_LIMITS)
		{
			conn_respond_text(c, 400, "too many max_lag parameters");
			return false;
		}
		if (!http_parse_lag(value, &limits[*nlimits]))
		{
			conn_respond_text(c, 400, "max_lag must be a size (e.g. 10MB) or a duration (e.g. 5s)");
			return false;
		}
		(*nlimits)++;
	}
	if (rc < 0)
	{
		conn_respond_text(c, 400, "malformed query string");
		return false;
	}
	return true;
}

/* Answer one well-formed request. */
static void
route(HttpConn *c, const HttpRequest *req)
{
	const char *path = req->path;
	StringInfoData body;

	if (!req->is_get && !req->is_head)
	{
		conn_respond_text(c, 405, "only GET and HEAD are supported");
		return;
	}

	initStringInfo(&body);
	if (strcmp(path, "/primary") == 0 || strcmp(path, "/read-write") == 0)
	{
		if (no_parameters(c, req))
		{
			bool		ok = pgrepl_check_primary(&body);

			conn_respond_text(c, ok ? 200 : 503, body.data);
		}
	}
	else if (strcmp(path, "/replica") == 0 || strcmp(path, "/read-only") == 0)
	{
		HttpLagLimit limits[PGREPL_MAX_LAG_LIMITS];
		int			nlimits;

		if (replica_parameters(c, req, limits, &nlimits))
		{
			bool		ok = pgrepl_check_replica(limits, nlimits, &body);

			conn_respond_text(c, ok ? 200 : 503, body.data);
		}
	}
	else if (strcmp(path, "/health") == 0)
	{
		if (no_parameters(c, req))
		{
			bool		ok = pgrepl_check_health(&body);

			conn_respond_text(c, ok ? 200 : 503, body.data);
		}
	}
	else if (strcmp(path, "/status") == 0)
	{
		if (no_parameters(c, req))
		{
			pgrepl_status_json(&body);
			conn_respond(c, 200, "application/json", body.data, body.len);
		}
	}
	else if (strcmp(path, "/metrics") == 0)
	{
		if (no_parameters(c, req))
		{
			pgrepl_metrics_text(&body);
			conn_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8",
						 body.data, body.len);
		}
	}
	else
		conn_respond_text(c, 404, "not found: try /primary, /replica, /health, /status or /metrics");
}

/*
 * Answer a request, in the request memory context, which is reset after.
 * An error while answering (not expected: everything is read from shared
 * memory) becomes a 500 and a log line, not the end of the worker.
 */
static void
conn_handle_request(HttpConn *c, const HttpRequest *req)
{
	MemoryContext old = MemoryContextSwitchTo(request_context);

	PG_TRY();
	{
		route(c, req);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(request_context);
		edata = CopyErrorData();
		FlushErrorState();
		LWLockReleaseAll();
		ereport(LOG,
				(errmsg("pgrepl HTTP endpoint could not answer \"%s\": %s",
						req->path, edata->message)));
		if (c->out)
			pfree(c->out);
		c->out = NULL;
		conn_respond_text(c, 500, "internal error: see the server log");
	}
	PG_END_TRY();

	MemoryContextSwitchTo(old);
	MemoryContextReset(request_context);
}

/*
 * Send what the socket takes of the answer; then wait for the next request,
 * or half-close and linger.
 */
static void
conn_write(HttpConn *c, TimestampTz now)
{
	while (c->out_done < c->out_len)
	{
		ssize_t		n = send(c->sock, c->out + c->out_done,
							 c->out_len - c->out_done, MSG_NOSIGNAL);

		if (n < 0)
		{
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			conn_close(c);
			return;
		}
		c->out_done += n;
	}
	pfree(c->out);
	c->out = NULL;
	if (c->keep_alive)
	{
		/* What came after the request is the next one's (pipelined) */
		c->in_len -= c->req_len;
		memmove(c->in, c->in + c->req_len, c->in_len);
		c->state = CONN_IDLE;
		c->deadline = TimestampTzPlusMilliseconds(now, HTTP_IDLE_MS);
		return;
	}
	if (shutdown(c->sock, SHUT_WR) < 0)
	{
		conn_close(c);
		return;
	}
	c->state = CONN_LINGERING;
	c->deadline = TimestampTzPlusMilliseconds(now, HTTP_LINGER_MS);
}

/*
 * Answer the requests that are complete in the buffer, each as soon as it
 * is complete or malformed, for as long as the answers go out at once.
 */
static void
conn_serve(HttpConn *c, TimestampTz now)
{
	for (;;)
	{
		HttpRequest req;

		if (c->state == CONN_IDLE && c->in_len > 0)
		{
			c->state = CONN_READING;
			c->deadline = TimestampTzPlusMilliseconds(now, HTTP_TIMEOUT_MS);
		}
		if (c->state != CONN_READING)
			return;

		switch (http_parse_request(c->in, c->in_len, &req))
		{
			case HTTP_PARSE_INCOMPLETE:
				return;
			case HTTP_PARSE_BAD:
				{
					MemoryContext old = MemoryContextSwitchTo(request_context);

					c->keep_alive = false;
					c->head = false;
					conn_respond_text(c, 400, "malformed or oversized request");
					MemoryContextSwitchTo(old);
					MemoryContextReset(request_context);
				}
				break;
			case HTTP_PARSE_OK:
				c->keep_alive = req.keep_alive &&
					c->served + 1 < HTTP_MAX_REQUESTS;
				c->req_len = req.length;
				c->head = req.is_head;
				conn_handle_request(c, &req);
				break;
		}
		c->served++;

		/* Most answers fit in the socket's buffer: send at once */
		conn_write(c, now);
	}
}

/* Read what arrived, and answer what it completes. */
static void
conn_read(HttpConn *c, TimestampTz now)
{
	ssize_t		n;

	if (c->state == CONN_LINGERING)
	{
		char		discard[4096];

		n = recv(c->sock, discard, sizeof(discard), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
					   errno != EINTR))
			conn_close(c);
		return;
	}

	n = recv(c->sock, c->in + c->in_len, HTTP_MAX_REQUEST - c->in_len, 0);
	if (n < 0)
	{
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_close(c);
		return;
	}
	if (n == 0)
	{
		/* The client closed, idle or before its request was complete */
		conn_close(c);
		return;
	}
	c->in_len += n;
	conn_serve(c, now);
}

/* What a connection waits for: to write while an answer is pending. */
static uint32
conn_wait_events(const HttpConn *c)
{
	return c->state == CONN_WRITING ? WL_SOCKET_WRITEABLE : WL_SOCKET_READABLE;
}

/*
 * Add a new connection's socket to the kept wait set, which has room for
 * every slot as long as no socket was closed since it was built (a closed
 * one keeps its place until the set is built again without it).  Adding
 * is one system call; building the set again, one per socket and three
 * more.
 */
static void
conn_watch(HttpConn *c)
{
	if (wait_set_stale)
		return;					/* built again before the next wait */
	c->wait_events = conn_wait_events(c);
	c->wait_pos = AddWaitEventToSet(wait_set, c->wait_events, c->sock,
									NULL, c);
}

/* Accept what connections are waiting on a listening socket. */
static void
accept_connections(pgsocket listener, TimestampTz now)
{
	int			i;

	for (i = 0; i < HTTP_ACCEPT_BATCH; i++)
	{
		pgsocket	sock;
		HttpConn   *c;
		int			one = 1;

		if (!AcquireExternalFD())
		{
			/* Not expected below the connection cap; wait for a close */
			elog(DEBUG1, "pgrepl HTTP endpoint is out of file descriptors");
			return;
		}
		sock = accept(listener, NULL, NULL);
		if (sock == PGINVALID_SOCKET)
		{
			int			save_errno = errno;

			ReleaseExternalFD();
			if (save_errno == EAGAIN || save_errno == EWOULDBLOCK ||
				save_errno == EINTR)
				return;
			if (save_errno == ECONNABORTED)
				continue;
			errno = save_errno;
			ereport(LOG,
					(errcode_for_socket_access(),
					 errmsg("pgrepl HTTP endpoint could not accept a connection: %m")));
			return;
		}
		if (!pg_set_noblock(sock))
		{
			closesocket(sock);
			ReleaseExternalFD();
			continue;
		}
		(void) setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

		c = conn_slot();
		c->state = CONN_READING;
		c->sock = sock;
		c->accepted = now;
		c->deadline = TimestampTzPlusMilliseconds(now, HTTP_TIMEOUT_MS);
		c->served = 0;
		c->keep_alive = false;
		c->req_len = 0;
		c->in_len = 0;
		c->out = NULL;
		c->out_len = c->out_done = 0;
		nconns++;
		conn_watch(c);

		/* A client sends its request as soon as it is connected */
		conn_read(c, now);
	}
}

/* Close connections past their deadline. */
static void
expire_connections(TimestampTz now)
{
	int			i;

	for (i = 0; i < HTTP_MAX_CONNECTIONS; i++)
	{
		if (conns[i].state != CONN_FREE && now >= conns[i].deadline)
			conn_close(&conns[i]);
	}
}

/* When the worker must wake up by itself next: a deadline or a retry. */
static long
next_timeout(TimestampTz now)
{
	TimestampTz next = DT_NOEND;
	int			i;

	for (i = 0; i < HTTP_MAX_CONNECTIONS; i++)
	{
		if (conns[i].state != CONN_FREE && conns[i].deadline < next)
			next = conns[i].deadline;
	}
	if (bind_failed && pgrepl_http_port != 0 && bind_retry_at < next)
		next = bind_retry_at;
	if (next == DT_NOEND)
		return -1;
	return TimestampDifferenceMilliseconds(now, next);
}

/*
 * Make the wait set match what the worker waits on: built again if a socket
 * was closed or a listener opened since it was built, else each
 * connection's events changed where it now waits to write, or to read.
 */
static void
prepare_wait_set(void)
{
	int			i;

	if (wait_set_stale)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		if (wait_set)
			FreeWaitEventSet(wait_set);
		wait_set = pgrepl_create_wait_event_set(HTTP_WAIT_EVENTS);
		MemoryContextSwitchTo(old);
		AddWaitEventToSet(wait_set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch,
						  NULL);
		AddWaitEventToSet(wait_set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET,
						  NULL, NULL);
		for (i = 0; i < nlisteners; i++)
			AddWaitEventToSet(wait_set, WL_SOCKET_READABLE, listeners[i], NULL,
							  &listeners[i]);
		for (i = 0; i < HTTP_MAX_CONNECTIONS; i++)
		{
			HttpConn   *c = &conns[i];

			if (c->state == CONN_FREE)
				continue;
			c->wait_events = conn_wait_events(c);
			c->wait_pos = AddWaitEventToSet(wait_set, c->wait_events,
											c->sock, NULL, c);
		}
		wait_set_stale = false;
		return;
	}

	for (i = 0; i < HTTP_MAX_CONNECTIONS; i++)
	{
		HttpConn   *c = &conns[i];
		uint32		want;

		if (c->state == CONN_FREE)
			continue;
		want = conn_wait_events(c);
		if (want != c->wait_events)
		{
			ModifyWaitEvent(wait_set, c->wait_pos, want, NULL);
			c->wait_events = want;
		}
	}
}

/*
 * Wait for the latch, the listening sockets and the clients, or the next
 * deadline, and serve whatever is ready.
 */
static void
wait_and_serve(void)
{
	WaitEvent	events[HTTP_WAIT_EVENTS];
	TimestampTz now = GetCurrentTimestamp();
	int			n;
	int			i;

	prepare_wait_set();
	n = WaitEventSetWait(wait_set, next_timeout(now), events, lengthof(events),
						 PG_WAIT_EXTENSION);

	now = GetCurrentTimestamp();
	for (i = 0; i < n; i++)
	{
		WaitEvent  *e = &events[i];

		if (e->events & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			continue;
		}
		if (e->user_data == NULL)
			continue;
		if ((pgsocket *) e->user_data >= listeners &&
			(pgsocket *) e->user_data < listeners + HTTP_MAX_LISTENERS)
			accept_connections(*(pgsocket *) e->user_data, now);
		else
		{
			HttpConn   *c = e->user_data;

			/* Closed for another's sake while this event waited */
			if (c->state == CONN_FREE || c->sock != e->fd)
				continue;
			if (c->state == CONN_WRITING)
			{
				conn_write(c, now);
				conn_serve(c, now);
			}
			else
				conn_read(c, now);
		}
	}
}

void
pgrepl_http_main(Datum main_arg)
{
	int			i;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnection(pgrepl_database, NULL, 0);
	SetConfigOption("lock_timeout", HTTP_LOCK_TIMEOUT, PGC_SUSET,
					PGC_S_OVERRIDE);
	SetConfigOption("statement_timeout", HTTP_STATEMENT_TIMEOUT, PGC_SUSET,
					PGC_S_OVERRIDE);
	pgstat_report_activity(STATE_IDLE, NULL);

	conn_context = AllocSetContextCreate(TopMemoryContext,
										 "pgrepl http connections",
										 ALLOCSET_DEFAULT_SIZES);
	request_context = AllocSetContextCreate(TopMemoryContext,
											"pgrepl http request",
											ALLOCSET_DEFAULT_SIZES);
	conns = MemoryContextAllocZero(TopMemoryContext,
								   sizeof(HttpConn) * HTTP_MAX_CONNECTIONS);
	for (i = 0; i < HTTP_MAX_CONNECTIONS; i++)
		conns[i].in = MemoryContextAlloc(TopMemoryContext, HTTP_MAX_REQUEST);

	for (;;)
	{
		TimestampTz now;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		now = GetCurrentTimestamp();
		update_listeners(now);
		expire_connections(now);
		wait_and_serve();
	}
}
