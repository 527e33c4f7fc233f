#!/bin/sh
# What the agent listener and the bench's bare TLS server spend per request, counted rather than
# timed (docs/benchmarks.md, "The listener without axum"):
#
#   listener_cost.sh callgrind|syscalls|records gateway|bare <ccgw binary> <examples dir> [requests] [connections]
#
#   callgrind  instructions per request: the server runs under `valgrind --tool=callgrind`; the
#              counters are zeroed after sign-in and warm-up and dumped after <requests>
#              (callgrind_control), so start-up, argon2 and the TLS handshakes are not counted.
#   syscalls   system calls per request: `perf stat -e raw_syscalls:sys_enter,...` attached to
#              the server for exactly the measured requests.
#   records    write system calls and bytes per response: `strace -f -e trace=writev,write,sendto,sendmsg`
#              attached for the measured requests (use a few hundred).
#
# The load is examples/fixed_load: <connections> keep-alive TLS connections (one agent each,
# signed in with the demo password), closed loop, `GET .../calldata/<id>/allcallinfoEx/<id>`.
# The gateway runs with the access log off and the call-data limits off (as `ccgw bench` does);
# the bare server answers the gateway's own answer to that request, with the same headers.
set -eu
mode=$1 server=$2 ccgw=$3 ex=$4 n=${5:-20000} c=${6:-4}
work=$(mktemp -d /tmp/listener-cost.XXXXXX)
cd "$work"
case $mode in
callgrind) wrap="valgrind --tool=callgrind --callgrind-out-file=$work/cg.out" ;;
*) wrap="" ;;
esac
body='{"message":"","retcode":"0","result":[]}'
if [ "$server" = gateway ]; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    CCGW_LOG__ACCESS_LOG=off CCGW_LIMITS__CALLDATA_PER_AGENT=0 CCGW_LIMITS__CALLDATA_SYSTEM=0 \
        CCGW_SERVER__MAX_CONNECTIONS_PER_SOURCE=0 CCGW_LOG__LEVEL=warn \
        $wrap "$ccgw" serve --listen "127.0.0.1:$port" --admin-listen 127.0.0.1:0 >"$work/server.log" 2>&1 &
    pid=$!
    until python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null; do sleep 0.5; done
    bare=""
else
    mkfifo "$work/stdin"
    $wrap "$ex/bare_server" "$body" 2 <"$work/stdin" >"$work/server.log" 2>&1 &
    pid=$!
    exec 3>"$work/stdin"
    until grep -q '^listening' "$work/server.log"; do sleep 0.5; done
    port=$(sed -n 's/^listening //p' "$work/server.log")
    bare=--bare
fi
case $mode in
callgrind)
    between="callgrind_control -z $pid >/dev/null"
    after="callgrind_control -d $pid >/dev/null"
    ;;
syscalls)
    between="perf stat -e raw_syscalls:sys_enter,syscalls:sys_enter_writev,syscalls:sys_enter_write,syscalls:sys_enter_recvfrom,syscalls:sys_enter_read,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_futex,syscalls:sys_enter_sched_yield -p $pid -o $work/perf.txt & echo \$! >$work/perf.pid; sleep 1"
    after="kill -INT \$(cat $work/perf.pid); sleep 1"
    ;;
records)
    between="strace -f -qq -e trace=writev,write,sendto,sendmsg -p $pid -o $work/strace.txt & echo \$! >$work/strace.pid; sleep 2"
    after="sleep 1; kill -INT \$(cat $work/strace.pid); sleep 1"
    ;;
esac
"$ex/fixed_load" "https://127.0.0.1:$port" "$n" "$c" $bare --between "$between" --after "$after" | tee "$work/load.txt"
case $mode in
callgrind)
    total=$(callgrind_annotate "$work"/cg.out.* 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1; exit}')
    echo "instructions: $total in all, $((total / n)) per request"
    ;;
syscalls)
    cat "$work/perf.txt"
    awk -v n="$n" '/raw_syscalls:sys_enter|syscalls:sys_enter_/ {gsub(",","",$1); printf "%-40s %.2f per request\n", $2, $1 / n}' "$work/perf.txt"
    ;;
records)
    awk '/writev|write\(|sendto|sendmsg/ && / = [0-9]+$/ {calls++; bytes += $NF} END {printf "write calls %d, bytes %d\n", calls, bytes}' "$work/strace.txt"
    awk '/ = [0-9]+$/ {print $NF}' "$work/strace.txt" | sort | uniq -c | sort -rn | head -5
    ;;
esac
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
echo "work directory: $work"
