#!/bin/sh
# Proves that tests/check_layers.sh refuses what it must: an include from a
# layer above, from a layer beside (chain/net, client/devnet/node, a client
# reaching for chain/), a network's rules table named outside tools/, and
# I/O in consensus/; and that it passes a tree that breaks none of these.
set -eu
here=$(dirname "$0")
check="$here/check_layers.sh"
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree/util" "$tree/consensus" "$tree/chain" "$tree/net" "$tree/client" \
         "$tree/devnet" "$tree/node" "$tree/tools"
good() {
    printf '#include "util/err.h"\n' > "$tree/chain/ok.c"
    printf '#include "chain/ok.h"\n#include "net/ok.h"\n' > "$tree/node/ok.c"
    printf '#include "net/ok.h"\n#include "consensus/rules.h"\n' > "$tree/client/ok.c"
    printf 'static const void *r(void) { return cc_rules_http(); }\n' > "$tree/tools/ok.c"
    printf 'const cc_rules *cc_rules_http(void);\n' > "$tree/consensus/rules.h"
}
good
"$check" "$tree" >/dev/null || { echo "a tree without violations was refused"; exit 1; }

expect() { # expect FILE CONTENT MESSAGE: the check fails, saying MESSAGE
    printf '%s\n' "$2" > "$tree/$1"
    if out=$("$check" "$tree" 2>&1); then
        echo "not refused: $1 with: $2"; exit 1
    fi
    case "$out" in
        *"$3"*) ;;
        *) echo "refused without saying '$3': $out"; exit 1 ;;
    esac
    rm "$tree/$1"
}
expect util/up.c '#include "chain/store.h"' "util/up.c includes chain/"
expect chain/beside.c '#include "net/http_server.h"' "chain/beside.c includes net/"
expect net/beside.c '#include "chain/chain.h"' "net/beside.c includes chain/"
expect client/db.c '#include "chain/chain.h"' "client/db.c includes chain/"
expect client/node.c '#include "node/api.h"' "client/node.c includes node/"
expect node/client.c '#include "client/cli.h"' "node/client.c includes client/"
expect devnet/client.c '#include "client/cli.h"' "devnet/client.c includes client/"
expect node/named.c 'static const void *r(void) { return cc_rules_cheese(); }' \
    "only tools/ names a network's rules table"
expect consensus/io.c '#include <stdio.h>' "consensus/ must stay pure"
echo "check_layers.sh refuses every kind of violation"
