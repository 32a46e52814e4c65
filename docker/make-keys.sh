#!/bin/sh
# Make (once) the identities of a set of federated nodes, and (always) their peers files.
#
#   make-keys.sh DIR NAME=URL [NAME=URL ...]
#
# For each NAME, in DIR/NAME/:
#   signing.key   the node's C2SP log signing key, PRIVATE+KEY+<origin>+... (secret, 0600);
#                 its name, the log origin, is URL without its scheme ("http://node-a:8000"
#                 -> "node-a:8000"). Made with `registry keygen`, kept if it already exists.
#   admin.token   the operator token of the node's admin API (secret, 0600), kept if present.
#   verifier.key  the log's verifier key (public: what peers pin).
#   witness.key   the node's cosignature/v1 witness key (public, derived from signing.key).
#   peers         the node's peers file (registry/federation/config.py): one
#                 "URL VKEY WITNESS_VKEY" line for every OTHER node; rewritten on every run.
#
# Idempotent: run it again with the same names and the keys stay, so the nodes keep their
# identities; add a NAME=URL and every peers file gains it. KEYS_OWNER=uid:gid chowns DIR/NAME
# to the user the nodes run as (the image's user is 10001:10001). Needs the `registry` command.
set -eu

usage() {
    echo "usage: $0 DIR NAME=URL [NAME=URL ...]" >&2
    exit 2
}
[ "$#" -ge 2 ] || usage
dir=$1
shift
umask 077
mkdir -p "$dir"

for spec in "$@"; do
    name=${spec%%=*}
    url=${spec#*=}
    case "$name" in "" | *[!A-Za-z0-9._-]*) echo "bad node name in '$spec'" >&2; usage ;; esac
    case "$url" in http://?* | https://?*) ;; *) echo "bad URL in '$spec'" >&2; usage ;; esac
    url=${url%/}
    origin=${url#*://}
    node="$dir/$name"
    mkdir -p "$node"
    if [ ! -s "$node/signing.key" ]; then
        registry keygen --origin "$origin" --out "$node/signing.key" 2>/dev/null
        echo "$name: new signing key for origin $origin" >&2
    fi
    if [ ! -s "$node/admin.token" ]; then
        head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$node/admin.token"
    fi
    # `registry init` on a throwaway database prints both public keys of a signing key.
    scratch=$(mktemp -d)
    if ! info=$(registry init --data-dir "$scratch" --signing-key-file "$node/signing.key"); then
        rm -rf "$scratch"
        echo "$name: cannot read $node/signing.key" >&2
        exit 1
    fi
    rm -rf "$scratch"
    printf '%s\n' "$info" | sed -n 's/^verifier key: //p' > "$node/verifier.key"
    printf '%s\n' "$info" | sed -n 's/^witness key: //p' > "$node/witness.key"
    printf '%s\n' "$url" > "$node/url"
    chmod 0644 "$node/verifier.key" "$node/witness.key" "$node/url"
done

for spec in "$@"; do
    name=${spec%%=*}
    peers="$dir/$name/peers"
    {
        echo "# peers of $name, written by make-keys.sh: URL VKEY WITNESS_VKEY"
        for other in "$@"; do
            other=${other%%=*}
            [ "$other" = "$name" ] && continue
            printf '%s %s %s\n' "$(cat "$dir/$other/url")" "$(cat "$dir/$other/verifier.key")" \
                "$(cat "$dir/$other/witness.key")"
        done
    } > "$peers.tmp"
    chmod 0644 "$peers.tmp"
    mv "$peers.tmp" "$peers"
    if [ -n "${KEYS_OWNER:-}" ]; then
        chown -R "$KEYS_OWNER" "$dir/$name"
    fi
    echo "$name: $(cat "$dir/$name/verifier.key")" >&2
done
