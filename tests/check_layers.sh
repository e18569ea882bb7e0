#!/bin/sh
# Fails when a file includes a header from a layer above its own or from a
# layer beside it, or when consensus/ reaches for I/O, clocks or threads (it
# must stay pure). wallet/ (signing: keys and randomness) stands on
# consensus/ beside chain/ and net/, which stand side by side on the layers
# below;
# so do the three programs' layers: client/ and devnet/ on net/ alone (no
# database), node/ on chain/ and net/.
src=${1:?usage: check_layers.sh SRC_DIR}
order="util codec crypto consensus wallet chain net client devnet node tools"
rank() { i=0; for l in $order; do [ "$l" = "$1" ] && { echo $i; return; }; i=$((i+1)); done; echo 99; }
beside() {
  case "$1:$2" in
    chain:net|net:chain|chain:wallet|net:wallet|client:chain|devnet:chain) return 0 ;;
    client:devnet|client:node|devnet:client|devnet:node|node:client|node:devnet) return 0 ;;
  esac
  return 1
}
status=0
for dir in $order; do
  [ -d "$src/$dir" ] || continue
  own=$(rank "$dir")
  for file in "$src/$dir"/*.[ch]; do
    [ -e "$file" ] || continue
    for inc in $(sed -n 's/^#include "\([a-z]*\)\/.*/\1/p' "$file"); do
      r=$(rank "$inc")
      if [ "$r" -gt "$own" ] || beside "$dir" "$inc"; then
        echo "layer violation: $file includes $inc/"; status=1
      fi
    done
  done
done
# A layer takes its network's table from its configuration; only programs
# (tools/) name one.
if grep -nE 'cc_rules_(http|cheese)\(\)' "$src"/*/*.[ch] | grep -vE "^$src/(tools/|consensus/rules\.[ch]:)"; then
  echo "only tools/ names a network's rules table (cc_rules_http/cc_rules_cheese)"; status=1
fi
if grep -nE '#include <(stdio|pthread|time|sys/socket|unistd|fcntl|event2/[a-z_]+)\.h>|sqlite3|fopen|getenv' \
     "$src"/consensus/*.[ch] 2>/dev/null; then
  echo "consensus/ must stay pure: no I/O, clock or threads"; status=1
fi
exit $status
