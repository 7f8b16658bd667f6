# tools/lib.sh: helpers shared by tools/run-tests and tools/demo-cluster.
#
# Sourced, never run.  Both scripts run as root on a plain Debian 12 machine
# (a developer's or CI's), but PostgreSQL refuses to run as root, so
# everything that builds, starts a server or runs a test runs as the
# unprivileged "postgres" user, in a scratch copy of the source tree that
# postgres owns.  The user's checkout is only ever read: no build output is
# written into it and no ownership in it changes.  Only "make install" runs
# as root, because it writes into PostgreSQL's own directories.
#
# Callers use "set -euo pipefail" and may have no stdin; every function here
# works under both.

# shellcheck shell=bash

# Variables below are used by the scripts that source this file.
# shellcheck disable=SC2034
{
	PGREPL_PG_BIN=/usr/lib/postgresql/15/bin
	PGREPL_PG_CONFIG=$PGREPL_PG_BIN/pg_config

	# The Debian packages a build and a test run need.
	# prometheus brings promtool, which checks the metrics and alert rules;
	# haproxy runs the shipped configuration; clang and libclang-rt-14-dev
	# (libFuzzer) fuzz the HTTP request parser; tools/demo-cluster asks the
	# HTTP endpoints with curl.
	PGREPL_DEPS=(postgresql-15 postgresql-server-dev-15 libipc-run-perl make gcc
		prometheus haproxy clang libclang-rt-14-dev curl)

	# Arguments for every make run: the PostgreSQL we build against, and
	# warnings as errors, as CI wants them.
	PGREPL_MAKE_ARGS=("PG_CONFIG=$PGREPL_PG_CONFIG" PGREPL_WERROR=1)

	# The checkout this library belongs to.
	PGREPL_REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)

	# The scratch copy build_and_install made, or empty.
	PGREPL_BUILD_DIR=""
}

# Print a one-line progress message, prefixed with the script's name so that
# it stands out among make's and apt's output.
msg()
{
	printf '%s: %s\n' "${0##*/}" "$*"
}

# Print an error and exit: for conditions the user has to fix.
die()
{
	printf '%s: error: %s\n' "${0##*/}" "$*" >&2
	exit 1
}

# Stop unless running as root: installing packages and the extension needs it.
require_root()
{
	if [[ $(id -u) -ne 0 ]]; then
		die "run me as root (I install packages and the extension, and run PostgreSQL as the user postgres)"
	fi
}

# Run a command as postgres from /, so that it never trips over a working
# directory it cannot enter.  runuser, not sudo: sudo may be absent.
as_postgres()
{
	(cd / && runuser -u postgres -- "$@")
}

# Run a command as postgres in the directory given first.
as_postgres_in()
{
	local dir=$1
	shift
	(cd "$dir" && runuser -u postgres -- "$@")
}

# Install what building and testing need.  Quick and offline when everything
# is there already: the package lists are only refreshed when a package is
# missing.
install_deps()
{
	local pkg status
	local missing=()

	for pkg in "${PGREPL_DEPS[@]}"; do
		status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
		if [[ $status != installed ]]; then
			missing+=("$pkg")
		fi
	done

	if ((${#missing[@]} > 0)); then
		msg "installing missing packages: ${missing[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get -q \
			-o DPkg::Lock::Timeout=300 update </dev/null
		DEBIAN_FRONTEND=noninteractive apt-get -q -y \
			-o DPkg::Lock::Timeout=300 install "${PGREPL_DEPS[@]}" </dev/null
	fi

	if ! id postgres >/dev/null 2>&1; then
		die "the user postgres does not exist although postgresql-15 is installed"
	fi
}

# Copy the source tree into DIR as postgres, leaving out git's data and
# anything a build or a test run writes (the same list as .gitignore), so
# that a tree someone built in by hand still gives a clean build.
copy_source_tree()
{
	local dest=$1

	tar -C "$PGREPL_REPO_ROOT" -cf - \
		--anchored \
		--exclude=./.git \
		--exclude=./results \
		--exclude=./log \
		--exclude=./tmp_check \
		--exclude=./tmp_check_regress \
		--exclude=./regression.diffs \
		--exclude=./regression.out \
		--no-anchored \
		--exclude='*.o' \
		--exclude='*.so' \
		--exclude='*.bc' \
		--exclude='*.a' \
		--exclude=.deps \
		. |
		as_postgres tar -C "$dest" -xf -
}

# Run one build step.  With PGREPL_BUILD_QUIET=1 its output goes to
# build.log in the scratch copy and is shown only if the step fails, for
# scripts whose readers want progress lines, not compiler lines.
build_step()
{
	local log=$PGREPL_BUILD_DIR/build.log

	if [[ ${PGREPL_BUILD_QUIET:-0} != 1 ]]; then
		"$@" </dev/null
		return
	fi
	if ! "$@" </dev/null >>"$log" 2>&1; then
		tail -n 100 "$log" >&2
		die "the build failed; its output is above"
	fi
}

# Copy the checkout into a fresh scratch directory owned by postgres, build
# it there as postgres with warnings as errors, then "make install" as root
# from that copy.  Sets PGREPL_BUILD_DIR; remove_build_dir removes it, and
# cleanup_build_dir is the EXIT trap that does so.
build_and_install()
{
	local parent=${PGREPL_SCRATCH:-/tmp}

	PGREPL_BUILD_DIR=$(mktemp -d "$parent/pgrepl-build.XXXXXX")
	chown postgres: "$PGREPL_BUILD_DIR"
	if ! as_postgres test -w "$PGREPL_BUILD_DIR"; then
		die "the user postgres cannot write to $PGREPL_BUILD_DIR; set PGREPL_SCRATCH to a directory it can reach"
	fi

	msg "copying the source tree to $PGREPL_BUILD_DIR"
	copy_source_tree "$PGREPL_BUILD_DIR"

	msg "building as postgres, warnings as errors"
	build_step as_postgres_in "$PGREPL_BUILD_DIR" \
		make -j"$(nproc)" "${PGREPL_MAKE_ARGS[@]}"

	msg "installing into $("$PGREPL_PG_CONFIG" --pkglibdir)"
	build_step make -C "$PGREPL_BUILD_DIR" install "${PGREPL_MAKE_ARGS[@]}"
}

# Remove the scratch copy, if there is one, after stopping any server left
# running in it.
remove_build_dir()
{
	if [[ -n $PGREPL_BUILD_DIR && -d $PGREPL_BUILD_DIR ]]; then
		stop_servers_under "$PGREPL_BUILD_DIR"
		rm -rf -- "$PGREPL_BUILD_DIR"
	fi
	PGREPL_BUILD_DIR=""
}

# The EXIT trap of a script that calls build_and_install: remove the scratch
# copy unless PGREPL_KEEP_BUILD=1, and keep the script's exit status, which
# a failing command here must not replace.
cleanup_build_dir()
{
	local status=$?

	set +e
	if [[ -n $PGREPL_BUILD_DIR && ${PGREPL_KEEP_BUILD:-0} == 1 ]]; then
		stop_servers_under "$PGREPL_BUILD_DIR"
		msg "the build and test outputs are kept in $PGREPL_BUILD_DIR"
	else
		remove_build_dir
	fi
	exit "$status"
}

# Stop, in immediate mode, every server whose data directory lies under DIR:
# a test run that was killed (by a timeout) can leave its servers behind,
# and they would hold ports and memory.
stop_servers_under()
{
	local dir=$1 pidfile

	[[ -d $dir ]] || return 0
	while IFS= read -r -d '' pidfile; do
		as_postgres "$PGREPL_PG_BIN/pg_ctl" stop -m immediate \
			-D "$(dirname "$pidfile")" >/dev/null 2>&1 || true
	done < <(find "$dir" -name postmaster.pid -type f -print0 2>/dev/null)
}
