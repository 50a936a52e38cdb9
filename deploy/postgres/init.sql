-- One database per dondoc service: each service owns its event store, outbox, inbox and
-- projections, and no service reads another's tables (design §3, §3.7).
--
-- The postgres image runs this file once, when the data volume is empty
-- (/docker-entrypoint-initdb.d). A database added here later must be created by hand on an
-- existing volume: `docker compose exec postgres createdb -U "$POSTGRES_USER" <name>`.
--
-- The services create their own tables (migrations at start-up), so only the databases are
-- made here.

CREATE DATABASE assignment;
CREATE DATABASE progress;
CREATE DATABASE escalation;
CREATE DATABASE discipline;
CREATE DATABASE reporting;
