#!/bin/bash
# Starts a single-node Slurm cluster for the tests (see shared TOOLCHAIN.md "Slurm"): munge,
# slurmdbd on the local MariaDB (so `sacct` works), slurmctld and slurmd, with two count-only
# GPUs. Idempotent: a daemon whose pid file names a live process is left alone, and files that
# exist are kept. Run as root. Prints nothing on success but the lines `started <daemon>` (and `reconfigured …`).
set -euo pipefail
H=$(hostname -s); CPUS=$(nproc); MEM=$(( $(free -m | awk '/^Mem:/{print $2}') - 1024 ))

# Whether the process named in pid file $1 runs.
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
# Waits (at most $1 tenths of a second) for the command that follows to succeed.
wait_for() { local n=$1; shift; until "$@" >/dev/null 2>&1; do n=$((n-1)); [ $n -gt 0 ] || { echo "timed out waiting for: $*" >&2; return 1; }; sleep 0.1; done; }

mkdir -p /run/munge && chown munge:munge /run/munge
[ -s /etc/munge/munge.key ] || { mungekey -c -k /etc/munge/munge.key; chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; }
alive /run/munge/munged.pid || { su -s /bin/sh munge -c /usr/sbin/munged; echo "started munged"; }
mkdir -p /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/slurm
chown slurm:slurm /var/spool/slurmctld /var/log/slurm /run/slurm
[ -s /etc/slurm/jwt_hs256.key ] || dd if=/dev/urandom of=/etc/slurm/jwt_hs256.key bs=32 count=1 status=none
chown slurm:slurm /etc/slurm/jwt_hs256.key; chmod 600 /etc/slurm/jwt_hs256.key
for i in 0 1; do [ -c /dev/fakegpu$i ] || mknod /dev/fakegpu$i c 1 3; done   # count-only GPUs need device files

conf=$(cat <<EOC
ClusterName=testcluster
SlurmctldHost=$H(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=/etc/slurm/jwt_hs256.key
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1024
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=1
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStorageTRES=gres/gpu
JobCompType=jobcomp/none
GresTypes=gpu
# Backfill every second (Slurm's default is 30 s): a job that fits beside a pending job of
# higher priority starts at once instead of up to half a minute later.
SchedulerParameters=batch_sched_delay=0,bf_interval=1
MinJobAge=300
KillWait=5
ReturnToService=2
NodeName=$H NodeAddr=127.0.0.1 CPUs=$CPUS Sockets=1 CoresPerSocket=$CPUS ThreadsPerCore=1 RealMemory=$MEM Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=$H Default=YES MaxTime=INFINITE State=UP
EOC
)
# Rewritten only when it differs; running daemons are told to read it again.
changed=
[ "$(cat /etc/slurm/slurm.conf 2>/dev/null)" = "$conf" ] || { printf '%s\n' "$conf" > /etc/slurm/slurm.conf; changed=1; }
echo 'Name=gpu File=/dev/fakegpu[0-1]' > /etc/slurm/gres.conf
cat > /etc/slurm/slurmdbd.conf <<EOC
AuthType=auth/munge
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=/etc/slurm/jwt_hs256.key
DbdHost=localhost
DbdAddr=127.0.0.1
SlurmUser=slurm
LogFile=/var/log/slurm/slurmdbd.log
PidFile=/run/slurm/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=3306
StorageUser=root
StorageLoc=slurm_acct_db
EOC
chown slurm:slurm /etc/slurm/slurmdbd.conf; chmod 600 /etc/slurm/slurmdbd.conf

alive /run/slurm/slurmdbd.pid || { slurmdbd; echo "started slurmdbd"; }
wait_for 300 sacctmgr -n list cluster
alive /run/slurm/slurmctld.pid || { slurmctld; echo "started slurmctld"; }   # registers the cluster in slurmdbd
alive /run/slurm/slurmd.pid || { slurmd; echo "started slurmd"; }
[ -z "$changed" ] || { scontrol reconfigure && echo "reconfigured the running daemons"; }
# A node drained by an earlier run (a GRES mismatch, a restart) is taken back.
wait_for 300 sinfo -h
sinfo -h -o %T | grep -Eq 'drain|down|inval' && scontrol update nodename="$H" state=resume || true
wait_for 300 sh -c 'sinfo -h -o %T | grep -Eqx "idle|mixed|allocated"'
sacctmgr -n list account testacct format=account | grep -q testacct \
  || sacctmgr -i add account testacct Description=test Organization=test >/dev/null
sacctmgr -n -P list assoc user=root account=testacct format=account | grep -q testacct \
  || sacctmgr -i add user root account=testacct >/dev/null
exit 0
