#!/bin/sh
# Entry point of the consent-registry image (docker/README.md).
#
#   (no arguments)          registry serve, configured by REGISTRY_* variables
#   serve|init|log|...      a registry subcommand: `docker run IMAGE log verify`
#   anything else           run as is: `docker run IMAGE sh`
#
# REGISTRY_DATABASE_URL_FILE names a file holding the database URL (it carries a password, so
# it belongs in a secret, not in the environment); REGISTRY_DATABASE_URL wins if both are set.
set -eu

if [ -z "${REGISTRY_DATABASE_URL:-}" ] && [ -n "${REGISTRY_DATABASE_URL_FILE:-}" ]; then
    if ! REGISTRY_DATABASE_URL=$(cat -- "$REGISTRY_DATABASE_URL_FILE"); then
        echo "registry: error: cannot read REGISTRY_DATABASE_URL_FILE $REGISTRY_DATABASE_URL_FILE" >&2
        exit 1
    fi
    export REGISTRY_DATABASE_URL
fi
unset REGISTRY_DATABASE_URL_FILE

case "${1:-}" in
    "" | -*) set -- registry serve "$@" ;;
    serve | init | keygen | sign-declaration | verify-receipt | log | index | db)
        set -- registry "$@" ;;
esac
exec "$@"
