# Makefile for pgrepl, built with PGXS.
#
# make                  build the module
# make install          install it into the PostgreSQL that $(PG_CONFIG) names
# make installcheck     run pg_regress on a temporary instance started with
#                       shared_preload_libraries = pgrepl, then the TAP tests
#
# Warnings are errors when PGREPL_WERROR=1 (CI sets it).

MODULE_big = pgrepl
OBJS = \
	src/pgrepl.o \
	src/settings.o \
	src/state.o \
	src/sample.o \
	src/walclock.o \
	src/members.o \
	src/peers.o \
	src/peer_api.o \
	src/vote.o \
	src/fence.o \
	src/election.o \
	src/rejoin.o \
	src/rewind_wal.o \
	src/monitor.o \
	src/views.o \
	src/admin.o \
	src/handover.o \
	src/switchover.o \
	src/syncrep.o \
	src/rpo.o \
	src/stats.o \
	src/http_request.o \
	src/metrics.o \
	src/http.o
PGFILEDESC = "pgrepl - automatic failover and lag monitoring for streaming replication"

EXTENSION = pgrepl
DATA = sql/pgrepl--1.0.sql sql/pgrepl--1.0--1.1.sql sql/pgrepl--1.1--1.2.sql \
	sql/pgrepl--1.2--1.3.sql

# Run by the monitor (pgrepl.rejoin_command) or an operator, beside
# pg_rewind and pg_ctl in PostgreSQL's bindir.
SCRIPTS = tools/pgrepl_rejoin

# pg_regress needs the library preloaded, so it runs on its own temporary
# instance with our configuration rather than on an installed server.
REGRESS = upgrade setup status check_config privileges admin switchover rejoin membership
REGRESS_OPTS = --temp-instance=./tmp_check_regress \
	--temp-config=$(srcdir)/regress.conf

TAP_TESTS = 1

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)

PG_CPPFLAGS = -I$(srcdir)/src -I$(libpq_srcdir)
SHLIB_LINK_INTERNAL = $(libpq)
ifeq ($(PGREPL_WERROR),1)
PG_CFLAGS += -Werror
endif

include $(PGXS)

# PGXS tracks no header dependencies: rebuild everything when one changes,
# so that no object keeps an old layout of a shared struct.
$(OBJS): $(wildcard $(srcdir)/src/*.h)
