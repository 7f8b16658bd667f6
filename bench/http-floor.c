/*
 * bench/http-floor.c: the least an HTTP server can cost per request on this
 * machine, measured by bench/http beside pgrepl's endpoint.
 *
 * pgrepl's HTTP worker spends most of each request in the kernel: a
 * wakeup, a loopback TCP receive, a send.  To tell that part from pgrepl's
 * own, bench/http loads this server exactly as it loads the endpoint.  It
 * keeps the endpoint's protocol and system calls (one epoll wait for
 * whatever is ready, recv, send; accept, then TCP_NODELAY; on "Connection:
 * close", a half-close and a wait for the client's) and does nothing else:
 * it finds the end of the headers, answers every request with the same
 * short 200, and allocates nothing but a buffer per connection.  No server
 * that answers each request when it arrives costs less; what pgrepl's
 * worker costs over it is what pgrepl adds.
 *
 * Usage: http-floor PORT.  It listens on 127.0.0.1 until killed.  It trusts
 * its client (wrk): a request that does not fit in a buffer, or more
 * connections than it has slots for, close the connection.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FD		1024
#define BUF_SIZE	8192

typedef struct Conn
{
	size_t		len;			/* bytes of requests in buf */
	bool		closing;		/* answered "Connection: close", half-closed */
	char		buf[BUF_SIZE];
} Conn;

static Conn *conns[MAX_FD];

static const char answer_keep[] =
	"HTTP/1.1 200 OK\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"Content-Length: 18\r\n"
	"Cache-Control: no-store\r\n"
	"Connection: keep-alive\r\n\r\n"
	"primary of term 1\n";
static const char answer_close[] =
	"HTTP/1.1 200 OK\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"Content-Length: 18\r\n"
	"Cache-Control: no-store\r\n"
	"Connection: close\r\n\r\n"
	"primary of term 1\n";

static void
conn_close(int fd)
{
	free(conns[fd]);
	conns[fd] = NULL;
	close(fd);
}

/*
 * Answer every complete request in the connection's buffer, and keep what
 * follows the last one.  Answers are short: the socket takes each whole.
 */
static void
conn_serve(int fd, Conn *c)
{
	char	   *end;

	while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) != NULL)
	{
		size_t		req_len = end + 4 - c->buf;
		bool		close_after;

		*end = '\0';
		close_after = strcasestr(c->buf, "\r\nconnection: close") != NULL;
		if (close_after)
		{
			send(fd, answer_close, sizeof(answer_close) - 1, MSG_NOSIGNAL);
			shutdown(fd, SHUT_WR);
			c->closing = true;
			return;
		}
		send(fd, answer_keep, sizeof(answer_keep) - 1, MSG_NOSIGNAL);
		c->len -= req_len;
		memmove(c->buf, c->buf + req_len, c->len);
	}
}

/* Read what arrived on a connection, and answer what it completes. */
static void
conn_read(int fd)
{
	Conn	   *c = conns[fd];
	ssize_t		n;

	if (c->closing)
	{
		char		discard[4096];

		n = recv(fd, discard, sizeof(discard), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN))
			conn_close(fd);
		return;
	}
	if (c->len == BUF_SIZE)
	{
		conn_close(fd);
		return;
	}
	n = recv(fd, c->buf + c->len, BUF_SIZE - c->len, 0);
	if (n == 0 || (n < 0 && errno != EAGAIN))
	{
		conn_close(fd);
		return;
	}
	if (n > 0)
	{
		c->len += n;
		conn_serve(fd, c);
	}
}

/* Accept the waiting connections, and read each at once, as pgrepl does. */
static void
accept_all(int epfd, int listener)
{
	for (;;)
	{
		int			fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK);
		int			one = 1;
		struct epoll_event ev = {.events = EPOLLIN};

		if (fd < 0)
			return;
		if (fd >= MAX_FD || (conns[fd] = calloc(1, sizeof(Conn))) == NULL)
		{
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		ev.data.fd = fd;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		{
			conn_close(fd);
			continue;
		}
		conn_read(fd);
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	struct epoll_event ev = {.events = EPOLLIN};
	struct epoll_event events[64];
	int			listener;
	int			epfd;
	int			one = 1;

	if (argc != 2 || atoi(argv[1]) <= 0 || atoi(argv[1]) > 65535)
	{
		fprintf(stderr, "usage: %s PORT\n", argv[0]);
		return 2;
	}
	addr.sin_port = htons(atoi(argv[1]));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (listener < 0 ||
		setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		bind(listener, (struct sockaddr *) &addr, sizeof(addr)) < 0 ||
		listen(listener, 64) < 0)
	{
		perror("http-floor: could not listen");
		return 1;
	}
	epfd = epoll_create1(0);
	ev.data.fd = listener;
	if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &ev) < 0)
	{
		perror("http-floor: could not create the epoll set");
		return 1;
	}

	for (;;)
	{
		int			n = epoll_wait(epfd, events, 64, -1);

		if (n < 0 && errno != EINTR)
		{
			perror("http-floor: epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++)
		{
			int			fd = events[i].data.fd;

			if (fd == listener)
				accept_all(epfd, listener);
			else if (conns[fd] != NULL)
				conn_read(fd);
		}
	}
}
