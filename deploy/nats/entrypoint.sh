#!/bin/sh
# Entrypoint of the nats container (docker-compose.yml): puts each NATS user's password, read
# from its compose secret /run/secrets/nats-<user>-password, into the environment as
# NATS_<USER>_PASSWORD, which nats.conf refers to, then runs the command (nats-server).
#
# Why a wrapper: nats.conf can read environment variables but not files, and compose secrets
# are files. Exporting them here keeps the passwords out of the compose file, of `docker
# inspect` and of `compose config`; only this container's processes see them.
#
# nats-server parses a variable's value as a configuration value, so each is exported in double
# quotes (bare, a password such as 1024k or true would become a number or a boolean). A password
# therefore may not contain a double quote, a backslash or a line break; `openssl rand -base64
# 32` (README.md, "Secrets") never does. Trailing line breaks in the file are ignored.
#
# NATS_SECRETS_DIR (default /run/secrets) lets the tests run this script as it is.
set -eu

secrets_dir=${NATS_SECRETS_DIR:-/run/secrets}
newline='
'
found=0
for file in "$secrets_dir"/nats-*-password; do
  [ -f "$file" ] || continue
  user=${file##*/nats-}
  user=${user%-password}
  case $user in
    '' | *[!a-z0-9-]*)
      echo "nats entrypoint: $file: the user name must be lower-case letters, digits and -" >&2
      exit 1
      ;;
  esac
  variable="NATS_$(printf '%s' "$user" | tr 'abcdefghijklmnopqrstuvwxyz-' 'ABCDEFGHIJKLMNOPQRSTUVWXYZ_')_PASSWORD"
  # $(...) drops the trailing line breaks.
  password=$(cat "$file")
  case $password in
    '')
      echo "nats entrypoint: $file is empty" >&2
      exit 1
      ;;
    *\"* | *\\* | *"$newline"*)
      echo "nats entrypoint: $file: a NATS password may not contain \", \\ or a line break" >&2
      exit 1
      ;;
  esac
  export "$variable=\"$password\""
  found=$((found + 1))
done

if [ "$found" -eq 0 ]; then
  echo "nats entrypoint: no $secrets_dir/nats-*-password secret: nobody could connect" >&2
  exit 1
fi

exec "$@"
