#!/usr/bin/env bash
# A throwaway PostgreSQL server on 127.0.0.1 for the tests and for CI, run as an ordinary user,
# that lives exactly as long as whoever started it holds its standard input open.
#
# Usage: postgres-server.sh [BINDIR]
#
# BINDIR holds initdb, postgres and pg_isready; by default the newest /usr/lib/postgresql/*/bin
# (Debian's package `postgresql`), else the directory of `initdb` on PATH. The script makes a
# temporary directory, runs initdb there (superuser `residual_test`, trust authentication: the
# server listens on loopback only and holds throwaway data), starts `postgres` on a free port with
# durability switched off (fsync, full-page writes, synchronous commit: tests do not survive a
# power cut anyway), and prints ONE line on standard output:
#
#   READY postgres://residual_test@127.0.0.1:PORT/postgres DIR
#   FAILED <what went wrong> [(log: FILE, kept after DIR is removed)]
#
# Then it waits until its standard input closes (the test binary exited, however it exited, or
# CI's script closed the pipe) or it gets SIGTERM/SIGINT/SIGHUP, stops the server (fast shutdown)
# and removes DIR. initdb and postgres refuse to run as root: as root the server runs as the
# `postgres` user that Debian's package creates (or RESIDUAL_TEST_POSTGRES_OS_USER), with DIR
# owned by that user.
#
# Two things are there to be tested rather than trusted: TLS (`ssl=on`, with a server certificate
# for 127.0.0.1/localhost signed by a throwaway CA made at start with the openssl binary; the CA
# is DIR/tls/ca.crt, and DIR/tls/other-ca.crt is a CA that signed nothing), and passwords: members
# of the role `residual_test_password` must log in over TCP with SCRAM (scram-sha-256).
set -u
# The pipe to watch, kept apart: a background command's standard input is /dev/null.
exec 3<&0

superuser=residual_test
# The group whose members authenticate with a password (SCRAM) over TCP.
password_group=residual_test_password
dir=""

# A CA, a server certificate it signs (127.0.0.1, ::1 and localhost, usable for TLS server
# authentication), and a second, unrelated CA, into directory $1.
make_certificates() {
    local out="$1"
    local days=30
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$days" \
        -subj "/CN=residual test CA" -keyout "$out/ca.key" -out "$out/ca.crt" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$days" \
            -subj "/CN=residual test CA that signed nothing" -keyout "$out/other-ca.key" \
            -out "$out/other-ca.crt" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -subj "/CN=localhost" -keyout "$out/server.key" -out "$out/server.csr" &&
        printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
            "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost" \
            >"$out/server.ext" &&
        openssl x509 -req -in "$out/server.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
            -CAcreateserial -days "$days" -extfile "$out/server.ext" -out "$out/server.crt" &&
        rm -f "$out/ca.key" "$out/other-ca.key" "$out/server.csr" "$out/ca.srl" &&
        chmod 644 "$out/ca.crt" "$out/other-ca.crt"
}

fail() {
    if [ -z "$dir" ]; then
        echo "FAILED $1"
        exit 1
    fi
    # Keep the logs where they can be read after DIR is gone.
    local kept
    kept=$(mktemp "${TMPDIR:-/tmp}/residual-postgres-failed.XXXXXX.log")
    cat "$dir/initdb.log" "$dir/postgres.log" >"$kept" 2>/dev/null
    echo "FAILED $1 (log: $kept)"
    exit 1
}

bindir="${1:-}"
if [ -z "$bindir" ]; then
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
if [ -z "$bindir" ] && command -v initdb >/dev/null 2>&1; then
    bindir=$(dirname "$(command -v initdb)")
fi
for tool in initdb postgres pg_isready; do
    [ -n "$bindir" ] && [ -x "$bindir/$tool" ] ||
        fail "no PostgreSQL server binaries (initdb, postgres, pg_isready) in ${bindir:-/usr/lib/postgresql/*/bin or PATH}: install Debian's package postgresql"
done

# As root, drop to an ordinary user for initdb and postgres (both refuse root).
run_as=()
os_user=$(id -un)
if [ "$(id -u)" = 0 ]; then
    os_user="${RESIDUAL_TEST_POSTGRES_OS_USER:-postgres}"
    id -u "$os_user" >/dev/null 2>&1 ||
        fail "running as root and there is no user '$os_user' to run PostgreSQL as (initdb refuses root; Debian's package postgresql creates 'postgres')"
    run_as=(setpriv --reuid="$os_user" --regid="$os_user" --init-groups)
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/residual-postgres.XXXXXX") || fail "cannot make a temporary directory"
chmod 700 "$dir"
if [ "$(id -u)" = 0 ]; then
    chown "$os_user:" "$dir" || fail "cannot give $dir to $os_user"
fi
# initdb and postgres must be able to stat their working directory.
cd "$dir" || fail "cannot enter $dir"

pid=""
stop() {
    # A signal during the stop must not cut it short.
    trap '' TERM INT HUP
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        # Fast shutdown: clients are disconnected, and the postmaster exits after its children.
        kill -INT "$pid" 2>/dev/null
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -QUIT "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    if [ -n "$dir" ]; then
        cd / && rm -rf "$dir"
    fi
}
trap stop EXIT
trap 'exit 0' TERM INT HUP

"${run_as[@]}" "$bindir/initdb" -D "$dir/data" -U "$superuser" --auth=trust -E UTF8 --locale=C \
    --no-sync >"$dir/initdb.log" 2>&1 || fail "initdb failed"

# Password authentication, tested for real: members of $password_group connect over TCP with
# SCRAM (scram-sha-256) and a password; every other role keeps trust. The lines go first in
# pg_hba.conf, as the first matching line wins. The tests make the members (one role each).
printf 'host all +%s 127.0.0.1/32 scram-sha-256\nhost all +%s ::1/128 scram-sha-256\n' \
    "$password_group" "$password_group" | cat - "$dir/data/pg_hba.conf" >"$dir/pg_hba.conf.new" &&
    cat "$dir/pg_hba.conf.new" >"$dir/data/pg_hba.conf" && rm -f "$dir/pg_hba.conf.new" ||
    fail "cannot write pg_hba.conf"

# TLS, tested for real: a throwaway CA made now (no key is committed), a server certificate it
# signs for 127.0.0.1 and localhost, and a second CA that signed nothing (a client trusting only
# it must refuse the server). The clients find them in DIR/tls: ca.crt and other-ca.crt. Without
# the openssl binary the server runs without TLS and the TLS tests skip (or fail, when required).
tls_options=()
if command -v openssl >/dev/null 2>&1; then
    tls="$dir/tls"
    mkdir -p "$tls" && make_certificates "$tls" >"$dir/openssl.log" 2>&1 ||
        fail "cannot make the test certificates with openssl"
    mv "$tls/server.crt" "$tls/server.key" "$dir/data/" && rm -f "$tls/server.ext" &&
        chmod 600 "$dir/data/server.key" || fail "cannot install the server certificate"
    if [ "$(id -u)" = 0 ]; then
        chown "$os_user:" "$dir/data/server.crt" "$dir/data/server.key" || fail "cannot give the server key to $os_user"
    fi
    tls_options=(-c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key)
fi

# A port below Linux's ephemeral range (32768-60999), so client sockets do not take it; on a
# clash postgres exits at once ("could not bind") and another port is tried.
ready=""
for _attempt in 1 2 3 4 5 6 7 8; do
    port=$((20000 + RANDOM % 12000))
    "${run_as[@]}" "$bindir/postgres" -D "$dir/data" -h 127.0.0.1 -p "$port" -k "$dir" \
        -c fsync=off -c full_page_writes=off -c synchronous_commit=off \
        -c max_connections=200 "${tls_options[@]}" >>"$dir/postgres.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 600); do
        if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$superuser" -d postgres; then
            ready=1
            break
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$ready" ] && break
    if kill -0 "$pid" 2>/dev/null; then
        fail "postgres did not accept connections on 127.0.0.1:$port within 60 s"
    fi
    wait "$pid" 2>/dev/null
    pid=""
    grep -q -e 'could not bind' -e 'Address already in use' "$dir/postgres.log" ||
        fail "postgres exited before accepting connections"
done
[ -n "$ready" ] || fail "no free port for postgres after 8 tries"

# The password group (no login of its own; its members are made by the tests).
PGCONNECT_TIMEOUT=10 "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$superuser" \
    -d postgres -c "CREATE ROLE $password_group NOLOGIN" >>"$dir/postgres.log" 2>&1 ||
    fail "cannot create the role $password_group"

echo "READY postgres://$superuser@127.0.0.1:$port/postgres $dir"

# Wait for standard input to close. `cat` runs in the background so that a signal's trap runs
# at once (bash defers traps while a foreground command runs).
cat <&3 >/dev/null &
wait $!
