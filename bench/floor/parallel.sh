#!/bin/sh
# The floor: every host at once, one plain `ssh HOST 'sh -s' < SCRIPT` each, no multiplexing.
# usage: parallel.sh KEY KNOWN_HOSTS SCRIPT_DIR ADDRESS=NAME...
# Prints one line per host: NAME rc=CODE OUTPUT (the script's last line is changed=N).
key=$1 kh=$2 dir=$3
shift 3
for hn in "$@"; do
  addr=${hn%%=*} name=${hn#*=}
  (
    out=$(ssh -T -o BatchMode=yes -o IdentitiesOnly=yes -i "$key" -o UserKnownHostsFile="$kh" \
      -o StrictHostKeyChecking=yes -o ControlMaster=no -o ControlPath=none \
      -o KexAlgorithms=curve25519-sha256 -o ConnectTimeout=30 -o LogLevel=ERROR \
      "root@$addr" 'sh -s' < "$dir/$name.sh" 2>&1)
    echo "$name rc=$? $(printf '%s' "$out" | tr '\n' ' ')"
  ) &
done
wait
