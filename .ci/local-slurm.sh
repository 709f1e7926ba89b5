#!/usr/bin/env bash
# A private single-node SLURM cluster WITH accounting, for .ci/slurm and for
# trying workflow/profiles/slurm on a workstation (Debian/Ubuntu, root; no
# systemd needed).
#
#   .ci/local-slurm.sh start DIR    install the packages if missing (apt-get),
#                                   start munged, MariaDB, slurmdbd, slurmctld
#                                   and slurmd, register account and user
#   .ci/local-slurm.sh stop DIR     cancel its jobs, stop its daemons by PID
#   .ci/local-slurm.sh status DIR   which of its daemons are alive
#
# then `. DIR/env` points sbatch, sacct, squeue, ... at this cluster
# (SLURM_CONF=DIR/etc/slurm.conf). Account and partition to submit to:
# $LOCAL_SLURM_ACCOUNT (default xhs-ci) and $LOCAL_SLURM_PARTITION (default ci).
#
# Everything the cluster writes stays in DIR: its own munge key and socket, a
# MariaDB data directory on 127.0.0.1, configs, state, spool, logs and PID
# files; the daemons listen on free ports picked at start. /etc/slurm,
# /etc/munge and the system MariaDB are not touched, so it can run beside a
# real installation. Accounting is on because snakemake-executor-plugin-slurm
# polls job states with sacct whenever sacct is installed, and sacct without
# slurmdbd fails: Snakemake would wait for ever.
#
# Limits: no cgroups, so cores are not pinned; memory is checked by the
# accounting sampler (OverMemoryKill), not by the kernel.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

usage() { echo "usage: $0 start|stop|status DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
CMD=$1
DIR=$2
ACCOUNT=${LOCAL_SLURM_ACCOUNT:-xhs-ci}
PARTITION=${LOCAL_SLURM_PARTITION:-ci}
SUBMITTER=${LOCAL_SLURM_USER:-$(id -un)}
CLUSTER=xhslocal
[ "$CMD" = start ] && mkdir -p "$DIR"
[ -d "$DIR" ] || { echo "local-slurm: ERROR: no such directory: $DIR" >&2; exit 1; }
DIR=$(cd "$DIR" && pwd)
RUN=$DIR/run
# daemons in the order they start; stopped in reverse
DAEMONS="munged mariadbd slurmdbd slurmctld slurmd"

say() { echo "local-slurm: $*"; }
die() { echo "local-slurm: ERROR: $*" >&2; exit 1; }

# pid of daemon $1 if its PID file names a live process of that name
live_pid() {
  local f=$RUN/$1.pid pid
  [ -s "$f" ] || return 1
  pid=$(tr -dc 0-9 <"$f")
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] && echo "$pid"
}

# wait_for SECONDS DESCRIPTION COMMAND...: poll every 0.5 s, fail with a message
wait_for() {
  local secs=$1 what=$2; shift 2
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || die "$what: not ready after ${secs} s (logs in $RUN)"
    sleep 0.5
  done
}

free_port() {
  python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
PY
}

stop_cluster() {
  local status=0 d pid
  if [ ! -d "$RUN" ] && [ ! -e "$DIR/etc/slurm.conf" ]; then
    echo "local-slurm: ERROR: $DIR holds no cluster (no run/, no etc/slurm.conf): give the DIR that 'start' was given" >&2
    return 1
  fi
  if [ -s "$DIR/etc/slurm.conf" ] && live_pid slurmctld >/dev/null; then
    # jobs left over by a failed run: cancel, give them 20 s to go
    export SLURM_CONF=$DIR/etc/slurm.conf
    if [ -n "$(squeue -h -o %i 2>/dev/null)" ]; then
      say "cancelling jobs still queued or running"
      scancel --quiet --full --user="$SUBMITTER" 2>/dev/null || true
      local end=$((SECONDS + 20))
      while [ -n "$(squeue -h -o %i 2>/dev/null)" ] && [ $SECONDS -lt $end ]; do sleep 1; done
    fi
  fi
  for d in slurmd slurmctld slurmdbd mariadbd munged; do
    pid=$(live_pid "$d") || { rm -f "$RUN/$d.pid"; continue; }
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then
      say "$d (pid $pid) ignored TERM for 20 s: KILL"
      kill -9 "$pid" 2>/dev/null || true
      sleep 1
    fi
    if kill -0 "$pid" 2>/dev/null; then
      echo "local-slurm: ERROR: $d (pid $pid) still running" >&2
      status=1
    else
      say "stopped $d (pid $pid)"
      rm -f "$RUN/$d.pid"
    fi
  done
  unlink_default_conf
  return $status
}

status_cluster() {
  local d pid
  for d in $DAEMONS; do
    if pid=$(live_pid "$d"); then echo "$d running (pid $pid)"; else echo "$d not running"; fi
  done
}

install_packages() {
  local missing="" b
  for b in munged mariadbd mariadb-install-db slurmdbd slurmctld slurmd sbatch sacct sacctmgr; do
    command -v "$b" >/dev/null || missing="$missing $b"
  done
  [ -z "$missing" ] && return 0
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
    || die "missing$missing, and installing them needs root and apt-get"
  say "installing munge, MariaDB and SLURM with apt-get (missing:$missing)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    munge mariadb-server slurmdbd slurmctld slurmd slurm-client >"$DIR/apt-get.log" 2>&1 \
    || { tail -20 "$DIR/apt-get.log" >&2; die "apt-get install failed"; }
}

# Snakemake's job step (snakemake-executor-plugin-slurm-jobstep) starts the rule
# with a nested srun after deleting every SLURM_* variable, SLURM_CONF included
# (plugin issue #164), so inside a job only the default path finds the config.
# Link it there while the cluster runs; never replace a real configuration.
ETC_CONF=/etc/slurm/slurm.conf
link_default_conf() {
  local target
  if [ -L "$ETC_CONF" ]; then
    target=$(readlink "$ETC_CONF")
    if [ "$target" != "$DIR/etc/slurm.conf" ] && [ -e "$target" ] \
       && [ -s "$(dirname "$(dirname "$target")")/run/slurmctld.pid" ] \
       && kill -0 "$(cat "$(dirname "$(dirname "$target")")/run/slurmctld.pid")" 2>/dev/null; then
      die "$ETC_CONF links to another running local cluster ($target): stop it first"
    fi
    rm -f "$ETC_CONF"   # left over by a run that was killed
  elif [ -e "$ETC_CONF" ]; then
    die "$ETC_CONF exists (a real SLURM installation?); not replacing it"
  fi
  mkdir -p /etc/slurm
  ln -s "$DIR/etc/slurm.conf" "$ETC_CONF"
}

unlink_default_conf() {
  if [ -L "$ETC_CONF" ] && [ "$(readlink "$ETC_CONF")" = "$DIR/etc/slurm.conf" ]; then
    rm -f "$ETC_CONF" && say "removed link $ETC_CONF"
  fi
}

start_cluster() {
  [ "$(id -u)" = 0 ] || die "slurmd launches jobs as their user and needs root"
  for d in $DAEMONS; do
    live_pid "$d" >/dev/null && die "$d from an earlier start is still running in $DIR: stop it first"
  done
  # the daemons drop privileges (munge, mysql) and must reach their files:
  # DIR and every directory above it must be world-executable
  chmod 755 "$DIR"
  local up=$DIR
  while [ "$up" != / ]; do
    up=$(dirname "$up")
    [ "$(( 0$(stat -c %a "$up") & 1 ))" = 1 ] || die "$up is not world-executable (chmod o+x it, or use a DIR elsewhere)"
  done
  mkdir -p "$RUN" "$DIR/etc" "$DIR/state" "$DIR/spool" "$DIR/munge" "$DIR/mysql"
  # a failed start leaves nothing running
  # shellcheck disable=SC2154  # rc is assigned inside the trap
  trap 'rc=$?; if [ $rc -ne 0 ]; then say "start failed: stopping what was started"; stop_cluster || true; fi' EXIT
  install_packages

  local host node_line mem_mb munge_sock db_port dbd_port ctld_port slurmd_port db_pass
  host=$(hostname -s)
  munge_sock=$DIR/munge/munge.sock
  db_port=$(free_port); dbd_port=$(free_port); ctld_port=$(free_port); slurmd_port=$(free_port)
  db_pass=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')

  # 1. munge: own key, own socket (the socket's directory must be world-executable)
  chmod 711 "$DIR/munge"
  if [ ! -s "$DIR/munge/munge.key" ]; then
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
    chmod 400 "$DIR/munge/munge.key"
  fi
  munged --key-file="$DIR/munge/munge.key" --socket="$munge_sock" \
    --pid-file="$RUN/munged.pid" --log-file="$RUN/munged.log" --seed-file="$DIR/munge/seed"
  wait_for 15 munged sh -c "munge -S '$munge_sock' -n | unmunge -S '$munge_sock'"

  # 2. MariaDB for slurmdbd, TCP on 127.0.0.1 only
  chown mysql:mysql "$DIR/mysql"
  if [ ! -d "$DIR/mysql/data/mysql" ]; then
    mariadb-install-db --no-defaults --user=mysql --datadir="$DIR/mysql/data" \
      --auth-root-authentication-method=socket --skip-test-db >"$RUN/mariadb-install.log" 2>&1 \
      || { tail -20 "$RUN/mariadb-install.log" >&2; die "mariadb-install-db failed"; }
  fi
  /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$DIR/mysql/data" \
    --socket="$DIR/mysql/mysqld.sock" --pid-file="$DIR/mysql/mariadbd.pid" \
    --bind-address=127.0.0.1 --port="$db_port" --log-error="$RUN/mariadbd.log" \
    --innodb-buffer-pool-size=64M </dev/null >/dev/null 2>&1 &
  echo $! >"$RUN/mariadbd.pid"
  wait_for 60 MariaDB mariadb-admin --no-defaults --socket="$DIR/mysql/mysqld.sock" ping
  mariadb --no-defaults --socket="$DIR/mysql/mysqld.sock" -u root -e "
    CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$db_pass';
    ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$db_pass';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"

  # 3. configuration (SLURM_CONF points here; slurmdbd.conf is read from the same directory)
  cat >"$DIR/etc/slurmdbd.conf" <<EOF
AuthType=auth/munge
AuthInfo=socket=$munge_sock
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$dbd_port
SlurmUser=root
LogFile=$RUN/slurmdbd.log
PidFile=$RUN/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$db_port
StorageUser=slurm
StoragePass=$db_pass
StorageLoc=slurm_acct_db
EOF
  chmod 600 "$DIR/etc/slurmdbd.conf"

  # this machine as the only node: its CPUs and layout as slurmd sees them, 90% of its memory
  node_line=$(env -u SLURM_CONF slurmd -C | head -1)
  mem_mb=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node_line")
  node_line=$(sed "s/RealMemory=[0-9]*/RealMemory=$((mem_mb * 9 / 10))/" <<<"$node_line")
  cat >"$DIR/etc/slurm.conf" <<EOF
ClusterName=$CLUSTER
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$munge_sock
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$RUN/slurmctld.log
SlurmdLogFile=$RUN/slurmd.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
# accounting: jobs, their comment (Snakemake writes the rule there), memory samples every 2 s
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$dbd_port
# the munge socket for talking to slurmdbd (AuthInfo above is not used for that)
AccountingStoragePass=$munge_sock
AccountingStorageEnforce=associations,limits
AccountingStoreFlags=job_comment
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=2
JobAcctGatherParams=OverMemoryKill
$node_line NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  printf 'export SLURM_CONF=%q\n' "$DIR/etc/slurm.conf" >"$DIR/env"
  export SLURM_CONF=$DIR/etc/slurm.conf
  link_default_conf

  # 4. slurmdbd, then the cluster, account and user in the accounting database
  slurmdbd
  wait_for 60 slurmdbd sacctmgr -n list cluster
  sacctmgr -i -Q add cluster "$CLUSTER" >/dev/null 2>&1 || true   # "already exists" after a restart
  sacctmgr -i -Q add account "$ACCOUNT" Cluster="$CLUSTER" Description=ci Organization=ci >/dev/null 2>&1 || true
  sacctmgr -i -Q add user "$SUBMITTER" Account="$ACCOUNT" DefaultAccount="$ACCOUNT" >/dev/null 2>&1 || true
  sacctmgr -n -P list associations user="$SUBMITTER" account="$ACCOUNT" format=account | grep -qx "$ACCOUNT" \
    || die "account $ACCOUNT for user $SUBMITTER missing in the accounting database"

  # 5. controller and node daemon (both daemonize and write their PID files)
  slurmctld
  wait_for 60 slurmctld scontrol ping
  slurmd
  wait_for 60 "slurmd (node idle)" sh -c "sinfo -h -o %t | grep -qx idle"

  # 6. smoke test: a job submitted to the account runs and sacct reports it COMPLETED
  local jid
  jid=$(sbatch --parsable -A "$ACCOUNT" -p "$PARTITION" -t 1 --mem 50 -o /dev/null --wrap true)
  wait_for 60 "smoke-test job $jid" sh -c "sacct -n -X -P -j $jid -o State | grep -qx COMPLETED"
  say "up: cluster $CLUSTER, partition $PARTITION, account $ACCOUNT (user $SUBMITTER); $(sinfo -h -o '%c CPUs, %m MB')"
  say "smoke-test job $jid COMPLETED in sacct; config: SLURM_CONF=$SLURM_CONF"
  status_cluster | sed 's/^/local-slurm: /'
}

case $CMD in
  start) start_cluster ;;
  stop) stop_cluster ;;
  status) status_cluster ;;
  *) usage ;;
esac
