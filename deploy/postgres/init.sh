#!/bin/bash
# One PostgreSQL login role and one database per dondoc service: each service owns its event
# store, outbox, inbox and projections, and no service can connect to another's database
# (design §3, §3.7; README.md, "Secrets").
#
# For each service it
#   - reads the role's password from the secret /run/secrets/pg-<service>-password;
#   - creates the role <service> (LOGIN, no other attribute), or sets its password if it exists;
#   - creates the database <service> owned by it, or hands an existing one over to it;
#   - revokes every privilege of PUBLIC on the database (CONNECT and TEMPORARY: no other role
#     may connect) and CREATE on its schema public (PostgreSQL 15's default, made explicit);
#   - hands any table, view or sequence in that schema owned by another role (the superuser,
#     on a volume created before these roles existed) over to the service.
# The services create their own tables at start-up, so nothing else is made here.
#
# The postgres image runs this once, when the data volume is empty (/docker-entrypoint-initdb.d),
# as the superuser POSTGRES_USER over the local socket. Every step is idempotent, so the same
# script adds the roles to an existing volume and rotates the passwords (README.md, "Secrets"):
#   docker compose -f deploy/docker-compose.yml exec postgres \
#     bash /docker-entrypoint-initdb.d/10-dondoc-roles.sh
#
# Passwords reach the server only as psql variables quoted by psql itself (:'password'), never
# spliced into SQL text; they are not on any command line, and the session logs no statement,
# not even a failing one.
#
# DONDOC_SERVICES and DONDOC_SECRETS_DIR let the tests run this script as it is against another
# server (PGHOST, PGPORT and the other libpq variables apply).
#
# The image sources an initdb.d script that is not executable: the work runs in a subshell, so
# neither `set -eu` nor the variables leak into the image's entrypoint, and a failure still
# stops the initialisation.

(
  set -euo pipefail

  services=${DONDOC_SERVICES:-assignment progress escalation discipline reporting}
  secrets_dir=${DONDOC_SECRETS_DIR:-/run/secrets}

  for service in $services; do
    case $service in
      '' | *[!a-z0-9_]* | [0-9]*)
        echo "dondoc roles: '$service' is not a plain lower-case name" >&2
        exit 1
        ;;
    esac
    if [ "$service" = "${POSTGRES_USER:-postgres}" ]; then
      echo "dondoc roles: '$service' is the superuser POSTGRES_USER; give it another name" >&2
      exit 1
    fi
    secret="$secrets_dir/pg-$service-password"
    if [ ! -r "$secret" ]; then
      echo "dondoc roles: cannot read $secret (the $service role's password)" >&2
      exit 1
    fi
    # $(...) drops the trailing line breaks.
    password=$(cat "$secret")
    if [ -z "$password" ]; then
      echo "dondoc roles: $secret is empty" >&2
      exit 1
    fi

    # The password goes through psql's environment, which only its own user can read, not its
    # command line, which every process can (\getenv needs psql 15 or later).
    DONDOC_ROLE_PASSWORD=$password psql --no-psqlrc --no-password --quiet \
      --set ON_ERROR_STOP=1 \
      --username "${POSTGRES_USER:-postgres}" \
      --dbname postgres \
      --set service="$service" <<'SQL'
\getenv password DONDOC_ROLE_PASSWORD
SET log_statement = 'none';
SET log_min_error_statement = 'panic';

SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'service') AS role_missing \gset
\if :role_missing
CREATE ROLE :"service" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  PASSWORD :'password';
\else
ALTER ROLE :"service" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  PASSWORD :'password';
\endif

SELECT NOT EXISTS (SELECT FROM pg_database WHERE datname = :'service') AS database_missing \gset
\if :database_missing
CREATE DATABASE :"service" OWNER :"service";
\else
ALTER DATABASE :"service" OWNER TO :"service";
\endif
REVOKE ALL ON DATABASE :"service" FROM PUBLIC;

\connect :"service"
SET log_statement = 'none';
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
-- Tables first: a sequence owned by a column follows its table.
SELECT format('ALTER %s public.%I OWNER TO %I',
              CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                             ELSE 'TABLE' END,
              c.relname, :'service')
  FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace
   AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = :'service')
 ORDER BY c.relname \gexec
SELECT format('ALTER SEQUENCE public.%I OWNER TO %I', c.relname, :'service')
  FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace
   AND c.relkind = 'S'
   AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = :'service')
   AND NOT EXISTS (SELECT FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                      AND d.deptype IN ('a', 'i'))
 ORDER BY c.relname \gexec
SQL
    echo "dondoc roles: role and database $service ready"
  done
)
