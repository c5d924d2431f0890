#!/bin/bash
# Proof by hand of the whole SMB Direct path on the truth-tier VMs (after vmLabUp, which installs
# the rebuilt cifs/ksmbd/siw into /lib/modules/RELEASE/updates). Usage:
#   scripts/vm-smbdirect-proof.sh [siw|rxe] [STATE_DIR]
# Runs on srv1 then cli1 over the lab's ssh (strict host keys), prints every step with elapsed
# seconds, and fails on the first step that does not show the expected evidence.
set -euo pipefail
KIND=${1:-siw}
STATE=${2:-/var/lib/smbdirect-provision/vmlab}
INV=$STATE/inventory.yml
port() { awk -v h="$1:" '$1==h {f=1} f && $1=="ansible_port:" {print $2; exit}' "$INV"; }
SRV_PORT=$(port srv1); CLI_PORT=$(port cli1)
NETDEV=$(awk '$1=="smbdirect_rdma_netdev:" {print $2}' "$INV")
SERVER=$(awk '$1=="smbdirect_server_address:" {print $2}' "$INV")
SSH=(ssh -F none -i "$STATE/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes
     -o "UserKnownHostsFile=$STATE/known_hosts" -o ConnectTimeout=10 -o LogLevel=ERROR)
T0=$(date +%s.%N)
say() { printf '[%6.1fs] %s\n' "$(echo "$(date +%s.%N) - $T0" | bc)" "$*"; }
srv() { "${SSH[@]}" -p "$SRV_PORT" root@127.0.0.1 "$@"; }
cli() { "${SSH[@]}" -p "$CLI_PORT" root@127.0.0.1 "$@"; }
case $KIND in siw) LINK=siw0; MOD=siw ;; rxe) LINK=rxe0; MOD=rdma_rxe ;; *) echo "siw or rxe" >&2; exit 2 ;; esac
# The NT hash of "password" (see src/smb/users-db.ts): base64(MD4(UTF-16LE("password"))).
PWLINE='labuser:iEb36u6PsRetBr3YMLdYbA=='

say "reset: unmount client, stop ksmbd, drop any soft RDMA links (so siw and rxe never mix)"
cli 'umount /mnt/x 2>/dev/null; for l in $(rdma link show | awk "{print \$2}" | cut -d/ -f1); do rdma link delete $l; done; true'
srv 'systemctl stop ksmbd 2>/dev/null; ksmbd.control -s 2>/dev/null; rmmod ksmbd 2>/dev/null; for l in $(rdma link show | awk "{print \$2}" | cut -d/ -f1); do rdma link delete $l; done; true'
for h in srv cli; do
  say "$h: kernel $($h uname -r); modules: $($h "modinfo -n cifs ksmbd siw 2>&1 | tr '\n' ' '")"
  say "$h: rdma link add $LINK type $KIND netdev $NETDEV"
  $h "modprobe $MOD && rdma link add $LINK type $KIND netdev $NETDEV && rdma link show"
done
say "srv: ksmbd.conf, user db, share dir; start ksmbd AFTER the RDMA link (port 5445 is chosen at start)"
srv "mkdir -p /srv/share /etc/ksmbd && chmod 0777 /srv/share && cat > /etc/ksmbd/ksmbd.conf <<'EOF'
[global]
	server multi channel support = yes
[share]
	path = /srv/share
	read only = no
EOF
printf '%s\n' '$PWLINE' > /etc/ksmbd/ksmbdpwd.db && chmod 0600 /etc/ksmbd/ksmbdpwd.db
dmesg -C; systemctl restart ksmbd && sleep 1 && systemctl is-active ksmbd && ksmbd.mountd -V 2>&1 | head -1; modinfo -n ksmbd; ss -ltn | grep -E ':(445|5445) ' || true"
say "cli: mount -t cifs //$SERVER/share /mnt/x -o vers=3.1.1,rdma,..."
M0=$(date +%s.%N)
cli "dmesg -C; mkdir -p /mnt/x && mount -t cifs //$SERVER/share /mnt/x -o vers=3.1.1,rdma,username=labuser,password=password"
say "cli: mounted in $(echo "$(date +%s.%N) - $M0" | bc | cut -c1-5)s"
say "cli: dmesg"; cli 'dmesg | grep -E "CIFS|smbd|rdma" || true'
cli 'dmesg | grep -q "CIFS: VFS: RDMA transport established"' && say "OK: RDMA transport established"
say "cli: /proc/mounts"; LINE=$(cli 'grep " /mnt/x " /proc/mounts'); echo "$LINE"
[[ $LINE == *,rdma,* ]] && say "OK: rdma in /proc/mounts"
say "cli: DebugData"; cli 'grep -E "SMBDirect|Capabilities|Features" /proc/fs/cifs/DebugData || true'
say "cli: write 32 MiB of random data, then read it back on srv"
A=$(cli 'head -c 33554432 /dev/urandom > /mnt/x/proof.bin && sync && sha256sum /mnt/x/proof.bin' | cut -d' ' -f1)
B=$(srv 'sha256sum /srv/share/proof.bin' | cut -d' ' -f1)
say "client sha256 $A"; say "server sha256 $B"
[ "$A" = "$B" ] && say "OK: identical on the server ($KIND)"
C=$(cli 'echo 3 > /proc/sys/vm/drop_caches; sha256sum /mnt/x/proof.bin' | cut -d' ' -f1)
[ "$A" = "$C" ] && say "OK: client re-read (cache dropped) identical"
say "srv: dmesg (oops check)"; srv 'dmesg | grep -E "ksmbd|Oops|BUG|RIP" || true'
cli 'rm -f /mnt/x/proof.bin; umount /mnt/x'
say "done ($KIND)"
