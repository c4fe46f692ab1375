#!/usr/bin/env bash
# A local Spark standalone cluster (one master, one worker) with a Spark Connect server in front,
# all bound to 127.0.0.1, from the PyPI wheel pyspark (which bundles Spark and its Connect jar).
#
#   tests/spark/local-cluster.sh start         # prints the Connect URL when it accepts connections
#   tests/spark/local-cluster.sh start-local   # another Connect server, as Spark's defaults make it:
#                                              # local[2] (executors inside a 1 GB driver), port 15003
#   tests/spark/local-cluster.sh kill-local    # kills the local-mode server (SIGKILL, no goodbye)
#   tests/spark/local-cluster.sh stop          # stops every process the starts started
#
# Memory is Spark's default everywhere (1 GB driver, 1 GB executors): what Harrier asks of a
# cluster must fit there. State (pids, logs) lives in $HARRIER_SPARK_DIR (default target/spark-local).
set -euo pipefail

state_dir=${HARRIER_SPARK_DIR:-target/spark-local}
export SPARK_HOME=${SPARK_HOME:-$(python3 -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')}
export SPARK_LOCAL_IP=127.0.0.1
# Executors run `harrier.spark`'s functions in this Python, where the harrier package is.
export PYSPARK_PYTHON=${PYSPARK_PYTHON:-$(command -v python3)}
export SPARK_LOG_DIR=$PWD/$state_dir/logs
export SPARK_PID_DIR=$PWD/$state_dir/pids
connect_port=15002
local_port=15003

wait_for_port() { # port, what, seconds
  for _ in $(seq "$3"); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 1
  done
  echo "$2 did not listen on 127.0.0.1:$1 within $3 s; logs in $SPARK_LOG_DIR" >&2
  tail -n 30 "$SPARK_LOG_DIR"/* >&2 || true
  return 1
}

start_daemon() { # name, class, args...
  local name=$1; shift
  nohup "$SPARK_HOME/bin/spark-class" "$@" >"$SPARK_LOG_DIR/$name.log" 2>&1 &
  echo $! >"$SPARK_PID_DIR/$name.pid"
}

start() {
  mkdir -p "$SPARK_LOG_DIR" "$SPARK_PID_DIR"
  start_daemon master org.apache.spark.deploy.master.Master --host 127.0.0.1 --port 7077 --webui-port 8080
  wait_for_port 7077 "Spark master" 60
  start_daemon worker org.apache.spark.deploy.worker.Worker --host 127.0.0.1 --cores 2 \
    --webui-port 8081 spark://127.0.0.1:7077
  # A result stream may last longer than the default 2 minutes (the hunts of five copies of
  # the shared data): the Rust client does not reattach a stream the server ends early (it
  # reports the query as incomplete). Not a memory setting: the local-mode server keeps it.
  connect_server spark://127.0.0.1:7077 $connect_port --conf spark.ui.enabled=false \
    --conf spark.connect.execute.reattachable.senderMaxStreamDuration=1h
  wait_for_port $connect_port "Spark Connect server" 180
  echo "sc://127.0.0.1:$connect_port"
}

# A Connect server (master, port, more options): Spark's defaults but what Harrier needs
# (Windows event fields can differ only by case: ProcessId/ProcessID) and binding to 127.0.0.1.
connect_server() {
  local master=$1 port=$2; shift 2
  SPARK_IDENT_STRING=harrier-$port "$SPARK_HOME/sbin/start-connect-server.sh" --master "$master" \
    --conf spark.sql.caseSensitive=true \
    --conf spark.driver.host=127.0.0.1 \
    --conf spark.driver.bindAddress=127.0.0.1 \
    --conf spark.connect.grpc.binding.address=127.0.0.1 \
    --conf spark.connect.grpc.binding.port="$port" "$@" >/dev/null
}

start_local() {
  mkdir -p "$SPARK_LOG_DIR" "$SPARK_PID_DIR"
  connect_server "local[2]" $local_port
  wait_for_port $local_port "Spark Connect server (local mode)" 180
  echo "sc://127.0.0.1:$local_port"
}

kill_local() {
  local pid_file=$SPARK_PID_DIR/spark-harrier-$local_port-org.apache.spark.sql.connect.service.SparkConnectServer-1.pid
  kill -9 "$(cat "$pid_file")"
  rm -f "$pid_file"
}

stop() {
  for port in $connect_port $local_port; do
    SPARK_IDENT_STRING=harrier-$port "$SPARK_HOME/sbin/stop-connect-server.sh" >/dev/null 2>&1 || true
  done
  for name in worker master; do
    local pid_file=$SPARK_PID_DIR/$name.pid
    if [ -f "$pid_file" ]; then
      kill "$(cat "$pid_file")" 2>/dev/null || true
      rm -f "$pid_file"
    fi
  done
  # The worker forks executor JVMs for the Connect application; none may outlive the cluster.
  pkill -f "org.apache.spark.executor" 2>/dev/null || true
}

case ${1:-} in
  start) start ;;
  start-local) start_local ;;
  kill-local) kill_local ;;
  stop) stop ;;
  *) echo "usage: $0 start|start-local|kill-local|stop" >&2; exit 2 ;;
esac
