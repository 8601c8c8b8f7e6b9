#!/usr/bin/env bash
# Real Elasticsearch 7.10.2 for the tests, without Docker and without a tarball download:
# Maven Central's org.codelibs:elasticsearch-cluster-runner:7.10.2.0 runs 1..N real
# Elasticsearch 7.10.2 nodes (with the analysis-common, mapper-extras, reindex, painless, ...
# modules) inside one JVM.
#
# Usage:
#   .ci/elasticsearch.sh start  [--nodes N] [--port BASE] [--cluster-name NAME] [--base-path DIR]
#   .ci/elasticsearch.sh status
#   .ci/elasticsearch.sh stop
#   .ci/elasticsearch.sh restart [options]
#
#   .venv/bin/python .ci/check_es.py URL [--replicas N]   # smoke check of a node and the Python
#                     client: version, geo_point, the German analysis chain (throwaway index)
#
#   eval "$(.ci/elasticsearch.sh start)"     # sets ES_URL=http://127.0.0.1:9200
#   ES_NODES=3 .ci/elasticsearch.sh start    # three-node cluster in one JVM
#
# stdout of `start` (and of `status` when running) is exactly one line, `ES_URL=http://127.0.0.1:PORT`,
# also written to $ES_STATE_DIR/url (plain URL) and $ES_STATE_DIR/env (the ES_URL= line).
# Everything else goes to stderr. `start` is idempotent (a running cluster just prints its URL);
# `stop` kills the JVM, waits for it and removes the data directory; the logs are kept:
# $ES_STATE_DIR/es.log (the runner's stdout: first node's startup, "HTTP Port:" lines) and
# $ES_STATE_DIR/node-logs/ (each node's own log; after startup the nodes log only there).
# `status` exits 0 when running and answering, 3 when not running, 1 when running but not answering.
#
# Environment (command-line options win):
#   ES_NODES          number of nodes                        (default 1)
#   ES_BASE_PORT      node i gets HTTP port BASE+i           (default 9199, so node 1 = 9200).
#                     The runner moves a node up past ports already taken and reports the real
#                     port in its log, which this script reads. Its CLI caps HTTP ports at 9299
#                     (hard-coded maxHttpPort), so BASE+NODES must stay <= 9299.
#   ES_CLUSTER_NAME   cluster name                           (default directory-test)
#   ES_STATE_DIR      pid, log, url files                    (default /tmp/directory-es)
#   ES_BASE_PATH      node homes and data (removed by stop)  (default $ES_STATE_DIR/cluster)
#   ES_CACHE_DIR      pom.xml and the jars                   (default ~/.cache/directory-es)
#   ES_HEAP           JVM heap, shared by all nodes          (default 1g)
#   ES_JAVA           java binary to use                     (default: see find_java)
#   ES_START_TIMEOUT  seconds to wait for yellow health      (default 180)
#
# JDK: the Debian default OpenJDK 17 (/usr/lib/jvm/java-17-openjdk-amd64) runs 7.10.2 fine and is
# the one used. Temurin 25 also works (tested; it only prints sun.misc.Unsafe/JNA warnings), so it
# is the fallback. Java 11+ is required.
set -Eeuo pipefail

ES_VERSION_RUNNER=7.10.2.0
SELF="elasticsearch.sh"

die() { echo "$SELF: ERROR: $*" >&2; exit 1; }
log() { echo "$SELF: $*" >&2; }
on_err() {
    local rc=$? line=$1 cmd=$2
    echo "$SELF: ERROR: command failed (exit $rc) at line $line: $cmd" >&2
    exit "$rc"
}
trap 'on_err "$LINENO" "$BASH_COMMAND"' ERR

HOME=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
export HOME

# ---------------------------------------------------------------- options
CMD=${1:-}
[[ $# -gt 0 ]] && shift
NODES=${ES_NODES:-1}
BASE_PORT=${ES_BASE_PORT:-9199}
CLUSTER_NAME=${ES_CLUSTER_NAME:-directory-test}
STATE_DIR=${ES_STATE_DIR:-/tmp/directory-es}
BASE_PATH=${ES_BASE_PATH:-}
CACHE_DIR=${ES_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/directory-es}
HEAP=${ES_HEAP:-1g}
START_TIMEOUT=${ES_START_TIMEOUT:-180}

while [[ $# -gt 0 ]]; do
    case $1 in
        --nodes|-n) NODES=${2:?--nodes needs a value}; shift 2 ;;
        --nodes=*) NODES=${1#*=}; shift ;;
        --port|--base-port|-p) BASE_PORT=${2:?--port needs a value}; shift 2 ;;
        --port=*|--base-port=*) BASE_PORT=${1#*=}; shift ;;
        --cluster-name|-c) CLUSTER_NAME=${2:?--cluster-name needs a value}; shift 2 ;;
        --cluster-name=*) CLUSTER_NAME=${1#*=}; shift ;;
        --base-path|-b) BASE_PATH=${2:?--base-path needs a value}; shift 2 ;;
        --base-path=*) BASE_PATH=${1#*=}; shift ;;
        -h|--help) CMD=help; shift ;;
        *) die "unknown option: $1 (see: $0 --help)" ;;
    esac
done
if [[ -z $BASE_PATH && $CMD != start && -f $STATE_DIR/info ]]; then
    # stop/status of a cluster started with another base path: take it from the state dir
    BASE_PATH=$(sed -n 's/^base_path=//p' "$STATE_DIR/info")
fi
BASE_PATH=${BASE_PATH:-$STATE_DIR/cluster}

[[ $NODES =~ ^[1-9][0-9]*$ ]] || die "ES_NODES/--nodes must be a positive integer, got '$NODES'"
[[ $BASE_PORT =~ ^[0-9]+$ ]] || die "ES_BASE_PORT/--port must be a number, got '$BASE_PORT'"
[[ $START_TIMEOUT =~ ^[0-9]+$ ]] || die "ES_START_TIMEOUT must be a number of seconds, got '$START_TIMEOUT'"
if (( BASE_PORT + NODES > 9299 || BASE_PORT < 1024 )); then
    die "base port $BASE_PORT with $NODES node(s) is out of range: the cluster runner only uses HTTP ports up to 9299, so choose 1024 <= base <= $((9299 - NODES))"
fi
case $STATE_DIR in /*) ;; *) STATE_DIR=$PWD/$STATE_DIR ;; esac
case $BASE_PATH in /*) ;; *) BASE_PATH=$PWD/$BASE_PATH ;; esac
case $CACHE_DIR in /*) ;; *) CACHE_DIR=$PWD/$CACHE_DIR ;; esac

PID_FILE=$STATE_DIR/es.pid
LOG_FILE=$STATE_DIR/es.log
URL_FILE=$STATE_DIR/url
ENV_FILE=$STATE_DIR/env
INFO_FILE=$STATE_DIR/info
LIB_DIR=$CACHE_DIR/lib-$ES_VERSION_RUNNER

usage() { sed -n '2,/^set -/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; }

# ---------------------------------------------------------------- helpers
http_get() {  # http_get URL -> body on stdout; non-zero if not 2xx / unreachable
    if command -v curl >/dev/null 2>&1; then
        curl -fsS --max-time "${2:-10}" "$1" 2>/dev/null
    else
        python3 - "$1" "${2:-10}" <<'PY' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])) as r:
    sys.stdout.write(r.read().decode())
PY
    fi
}

is_runner_pid() {  # is_runner_pid PID: alive and our cluster runner with our base path
    local pid=$1 cmdline
    [[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
    cmdline=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ $cmdline == *ElasticsearchClusterRunner* && $cmdline == *"-basePath $BASE_PATH "* ]]
}

running_pid() {  # prints the pid of our running JVM, if any
    local pid=""
    [[ -f $PID_FILE ]] && pid=$(<"$PID_FILE")
    if is_runner_pid "$pid"; then echo "$pid"; return 0; fi
    # pid file lost or stale: look for a JVM started with our exact base path
    local p
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        if is_runner_pid "$p"; then echo "$p"; return 0; fi
    done
    return 1
}

log_port() {  # first node's HTTP port as the runner printed it in this run's log
    [[ -f $LOG_FILE ]] || return 1
    local port
    port=$(sed -n 's/^HTTP Port:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$LOG_FILE" | head -n1)
    [[ -n $port ]] && echo "$port"
}

java_major() {  # java_major JAVA -> 17, 25, ...
    local v
    v=$("$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^[[:space:]]*java\.specification\.version = //p' | head -n1)
    v=${v#1.}
    echo "${v%%.*}"
}

find_java() {
    local c m
    local candidates=()
    [[ -n ${ES_JAVA:-} ]] && candidates+=("$ES_JAVA")
    # Tested: Debian's OpenJDK 17 runs 7.10.2 (preferred); Temurin 25 works too (with warnings).
    candidates+=(/usr/lib/jvm/java-17-openjdk-amd64/bin/java /usr/lib/jvm/java-17-openjdk-*/bin/java)
    [[ -n ${JAVA_HOME:-} ]] && candidates+=("$JAVA_HOME/bin/java")
    command -v java >/dev/null 2>&1 && candidates+=("$(command -v java)")
    candidates+=(/usr/lib/jvm/temurin-25-jdk-amd64/bin/java /usr/lib/jvm/*/bin/java)
    for c in "${candidates[@]}"; do
        [[ -x $c ]] || continue
        m=$(java_major "$c") || continue
        [[ $m =~ ^[0-9]+$ ]] && (( m >= 11 )) && { echo "$c"; return 0; }
    done
    return 1
}

ensure_tools() {
    local need=()
    find_java >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
    command -v mvn >/dev/null 2>&1 || need+=(maven)
    command -v curl >/dev/null 2>&1 || command -v python3 >/dev/null 2>&1 || need+=(curl)
    command -v flock >/dev/null 2>&1 || need+=(util-linux)
    (( ${#need[@]} == 0 )) && return 0
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        log "installing missing tools with apt-get: ${need[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2 || die "apt-get update failed"
        apt-get install -y -qq --no-install-recommends "${need[@]}" >&2 </dev/null || die "apt-get install ${need[*]} failed"
    else
        die "missing tools (${need[*]}) and cannot install them (need root and apt-get)"
    fi
}

ensure_jars() {
    if [[ -f $LIB_DIR/.complete ]]; then
        return 0
    fi
    log "resolving org.codelibs:elasticsearch-cluster-runner:$ES_VERSION_RUNNER from Maven Central into $LIB_DIR (first run only)"
    mkdir -p "$CACHE_DIR"
    cat > "$CACHE_DIR/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- generated by .ci/elasticsearch.sh: only used to fetch the cluster runner and its dependencies -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.directory</groupId>
  <artifactId>directory-es-runner</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.codelibs</groupId>
      <artifactId>elasticsearch-cluster-runner</artifactId>
      <version>$ES_VERSION_RUNNER</version>
    </dependency>
  </dependencies>
</project>
EOF
    local tmp_lib=$LIB_DIR.tmp.$$
    rm -rf "$tmp_lib"
    local mvn_log=$CACHE_DIR/mvn.log
    if ! (cd "$CACHE_DIR" && JAVA_HOME=$JAVA_HOME_FOR_MVN mvn -B -q --no-transfer-progress \
            org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
            -DincludeScope=runtime -DoutputDirectory="$tmp_lib" </dev/null >"$mvn_log" 2>&1); then
        tail -n 40 "$mvn_log" >&2 || true
        rm -rf "$tmp_lib"
        die "maven could not fetch the cluster runner (log: $mvn_log)"
    fi
    [[ -f $tmp_lib/elasticsearch-cluster-runner-$ES_VERSION_RUNNER.jar && -f $tmp_lib/elasticsearch-7.10.2.jar ]] \
        || die "maven finished but the runner jars are missing in $tmp_lib"
    touch "$tmp_lib/.complete"
    rm -rf "$LIB_DIR"
    mv "$tmp_lib" "$LIB_DIR"
}

print_url() {  # print_url URL: files + the one stdout line
    local url=$1
    printf '%s\n' "$url" > "$URL_FILE"
    printf 'ES_URL=%s\n' "$url" > "$ENV_FILE"
    printf 'ES_URL=%s\n' "$url"
}

fail_start() {  # fail_start MESSAGE: show the log tail, kill what we started, exit 1
    echo "$SELF: ERROR: $1" >&2
    if [[ -f $LOG_FILE ]]; then
        echo "---- last 60 lines of $LOG_FILE ----" >&2
        tail -n 60 "$LOG_FILE" >&2 || true
        echo "---- end of log ----" >&2
    fi
    # once a node is built, the runner's log4j writes to node_N/logs/<cluster>.log, not stdout
    local f
    for f in "$BASE_PATH"/node_*/logs/*.log; do
        [[ -s $f ]] || continue
        echo "---- last 30 lines of $f ----" >&2
        tail -n 30 "$f" >&2 || true
    done
    save_node_logs
    local pid
    if pid=$(running_pid); then
        log "killing the half-started JVM (pid $pid)"
        kill_pid "$pid"
    fi
    rm -f "$PID_FILE" "$URL_FILE" "$ENV_FILE"
    exit 1
}

save_node_logs() {  # keep the nodes' own logs in $STATE_DIR/node-logs (the base path is deleted)
    local f n
    rm -rf "$STATE_DIR/node-logs"
    for f in "$BASE_PATH"/node_*/logs/*.log; do
        [[ -s $f ]] || continue
        n=${f#"$BASE_PATH"/}
        mkdir -p "$STATE_DIR/node-logs"
        cp -f "$f" "$STATE_DIR/node-logs/${n//\//_}" 2>/dev/null || true
    done
}

kill_pid() {  # TERM, wait up to 30 s, then KILL
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 60; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.5
    done
    log "JVM $pid did not stop within 30 s after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.5
    done
    die "could not kill JVM $pid"
}

wait_healthy() {  # wait_healthy PID NODES DEADLINE -> prints URL
    local pid=$1 nodes=$2 deadline=$3 port="" url health
    while :; do
        if ! kill -0 "$pid" 2>/dev/null; then
            fail_start "the Elasticsearch JVM (pid $pid) exited during startup"
        fi
        if grep -q -E 'ClusterRunnerException|Failed to start node|Exception in thread "main"' "$LOG_FILE" 2>/dev/null; then
            fail_start "the cluster runner reported a startup failure"
        fi
        [[ -z $port ]] && port=$(log_port || true)
        if [[ -n $port ]]; then
            url="http://127.0.0.1:$port"
            if health=$(http_get "$url/_cluster/health?wait_for_status=yellow&wait_for_nodes=$nodes&timeout=2s" 5); then
                if [[ $health == *'"timed_out":false'* ]]; then
                    echo "$url"
                    return 0
                fi
            fi
        fi
        if (( SECONDS >= deadline )); then
            fail_start "Elasticsearch did not reach yellow health with $nodes node(s) within ${START_TIMEOUT}s (port: ${port:-not yet known}; last health: ${health:-none})"
        fi
        sleep 1
    done
}

# ---------------------------------------------------------------- commands
cmd_start() {
    mkdir -p "$STATE_DIR"
    ensure_tools
    exec 9>"$STATE_DIR/lock"
    flock -w 300 9 || die "another start/stop holds $STATE_DIR/lock for more than 300 s"

    local pid url
    if pid=$(running_pid); then
        url=""
        [[ -f $URL_FILE ]] && url=$(<"$URL_FILE")
        if [[ -z $url ]] || ! http_get "$url/_cluster/health" 5 >/dev/null; then
            log "Elasticsearch JVM already running (pid $pid); waiting for it to become healthy"
            local running_nodes=$NODES
            [[ -f $INFO_FILE ]] && running_nodes=$(sed -n 's/^nodes=//p' "$INFO_FILE")
            url=$(wait_healthy "$pid" "${running_nodes:-1}" $((SECONDS + START_TIMEOUT))) || exit 1
        fi
        if [[ -f $INFO_FILE ]]; then
            local have; have=$(sed -n 's/^nodes=//p' "$INFO_FILE")
            [[ $have == "$NODES" ]] || log "WARNING: the running cluster has $have node(s), not the $NODES asked for; run '$0 stop' first to change it"
        fi
        echo "$pid" > "$PID_FILE"
        log "already running (pid $pid) at $url"
        print_url "$url"
        return 0
    fi

    local java
    java=$(find_java) || die "no Java 11+ found (tried \$ES_JAVA, OpenJDK 17, \$JAVA_HOME, PATH, /usr/lib/jvm/*)"
    JAVA_HOME_FOR_MVN=$(dirname "$(dirname "$(readlink -f "$java")")")
    ensure_jars

    rm -f "$PID_FILE" "$URL_FILE" "$ENV_FILE" "$INFO_FILE"
    rm -rf "$BASE_PATH"
    mkdir -p "$BASE_PATH"
    # Settings for every node: the runner copies its own (all-comment) elasticsearch.yml only when
    # the file is missing, and Elasticsearch reads this one. Disk-based shard allocation is off so
    # that a nearly full CI disk does not leave shards unassigned or indices read-only.
    # Discovery: one node runs as `single-node`; with N nodes "Node 1" (the runner's name for the
    # first node, which it starts first) bootstraps the cluster alone and the others join it
    # through the default seed hosts (127.0.0.1:9300-9305). Either way the cluster forms at once
    # instead of after the 3 s "best-effort bootstrapping" delay. (Naming all N nodes as initial
    # masters costs 30 s: the runner starts the nodes one after the other and node 1's start
    # blocks for discovery.initial_state_timeout waiting for a quorum.)
    local i discovery
    if (( NODES == 1 )); then
        discovery="discovery.type: single-node"
    else
        discovery='cluster.initial_master_nodes: ["Node 1"]'
    fi
    for ((i = 1; i <= NODES; i++)); do
        mkdir -p "$BASE_PATH/node_$i/config"
        cat > "$BASE_PATH/node_$i/config/elasticsearch.yml" <<EOF
# written by .ci/elasticsearch.sh
cluster.routing.allocation.disk.threshold_enabled: false
network.host: 127.0.0.1
$discovery
EOF
    done
    [[ -f $LOG_FILE ]] && mv -f "$LOG_FILE" "$LOG_FILE.prev"

    log "starting Elasticsearch 7.10.2: $NODES node(s), cluster '$CLUSTER_NAME', base port $BASE_PORT, heap $HEAP, java $java ($(java_major "$java"))"
    local t0=$SECONDS
    # -Dlog4j2.formatMsgNoLookups: the runner pulls log4j-core 2.11.1 (Log4Shell-affected);
    # the other flags mirror Elasticsearch's own jvm.options.
    # fd 9 (the lock) is closed for the JVM, stdin is /dev/null and stdout/stderr go to the log,
    # so `$(... start)` in a caller returns as soon as this script exits.
    (
        cd "$STATE_DIR"
        exec nohup "$java" -Xms"$HEAP" -Xmx"$HEAP" \
            -XX:+UseG1GC -XX:-OmitStackTraceInFastThrow -XX:+ExitOnOutOfMemoryError \
            -Djava.awt.headless=true -Dfile.encoding=UTF-8 -Djava.io.tmpdir="$BASE_PATH" \
            -Dlog4j2.formatMsgNoLookups=true -Dlog4j.shutdownHookEnabled=false \
            -Des.distribution.flavor=default -Des.distribution.type=tar \
            -cp "$LIB_DIR/*" org.codelibs.elasticsearch.runner.ElasticsearchClusterRunner \
            -basePath "$BASE_PATH" -numOfNode "$NODES" -baseHttpPort "$BASE_PORT" -clusterName "$CLUSTER_NAME" \
            </dev/null >"$LOG_FILE" 2>&1 9>&-
    ) &
    pid=$!
    echo "$pid" > "$PID_FILE"
    printf 'nodes=%s\ncluster=%s\nbase_port=%s\nbase_path=%s\njava=%s\n' \
        "$NODES" "$CLUSTER_NAME" "$BASE_PORT" "$BASE_PATH" "$java" > "$INFO_FILE"

    url=$(wait_healthy "$pid" "$NODES" $((SECONDS + START_TIMEOUT))) || exit 1
    log "Elasticsearch is up at $url after $((SECONDS - t0)) s (pid $pid, log $LOG_FILE)"
    print_url "$url"
}

cmd_stop() {
    mkdir -p "$STATE_DIR"
    exec 9>"$STATE_DIR/lock"
    flock -w 300 9 || die "another start/stop holds $STATE_DIR/lock for more than 300 s"
    local pid
    if pid=$(running_pid); then
        log "stopping Elasticsearch (pid $pid)"
        kill_pid "$pid"
        log "stopped"
    else
        log "not running"
    fi
    rm -f "$PID_FILE" "$URL_FILE" "$ENV_FILE" "$INFO_FILE"
    [[ -d $BASE_PATH ]] && save_node_logs
    # only remove a directory that looks like a runner base path (node_N dirs or empty)
    if [[ -d $BASE_PATH ]]; then
        if compgen -G "$BASE_PATH/node_*" >/dev/null || [[ -z $(ls -A "$BASE_PATH") ]]; then
            rm -rf "$BASE_PATH"
            log "removed $BASE_PATH"
        else
            log "WARNING: $BASE_PATH does not look like a cluster runner directory; left in place"
        fi
    fi
}

cmd_status() {
    local pid url health
    if ! pid=$(running_pid); then
        log "not running"
        exit 3
    fi
    url=""
    [[ -f $URL_FILE ]] && url=$(<"$URL_FILE")
    if [[ -z $url ]]; then
        local port; port=$(log_port || true)
        [[ -n $port ]] && url="http://127.0.0.1:$port"
    fi
    if [[ -n $url ]] && health=$(http_get "$url/_cluster/health" 5); then
        log "running (pid $pid): $health"
        printf 'ES_URL=%s\n' "$url"
        exit 0
    fi
    log "JVM running (pid $pid) but not answering on ${url:-an unknown port}; log: $LOG_FILE"
    exit 1
}

case $CMD in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    restart) cmd_stop; cmd_start ;;
    help|-h|--help) usage ;;
    "") usage; exit 2 ;;
    *) usage; die "unknown command '$CMD' (start, stop, status)" ;;
esac
