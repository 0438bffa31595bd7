-- The least-privilege roles of a residual store on PostgreSQL (see docs/postgres.md).
--
--   residual_owner   owns the database and its tables; the only role that runs migrations
--                    (DDL). Used by the migration step only, never by the nightly workers.
--   residual_worker  what `residual scan`, `hr import`, `daemon`, `exceptions` and `remediate`
--                    connect as: SELECT, INSERT, UPDATE, DELETE on the tables and USAGE on the
--                    sequences; no DDL, not a superuser, and no UPDATE or DELETE on the audit
--                    chain (finding_events, chain_seal), which it may only append to.
--   residual_reader  what `report`, `gate`, `findings`, `cases`, `runs` and `audit verify`
--                    connect as: SELECT only.
--
-- Run it with psql as a superuser (or a role with CREATEROLE and CREATEDB, such as a managed
-- service's administrator), twice: once before the first migration, and again after each
-- upgrade of residual has migrated the store (it is idempotent). The second run applies the
-- grants and the chain's REVOKE to the tables the migration created.
--
--   psql "postgres://ADMIN@HOST/postgres?sslmode=require" -v ON_ERROR_STOP=1 -f deploy/postgres/roles.sql
--
-- The names can be changed with psql variables: -v db=residual -v owner=residual_owner
-- -v worker=residual_worker -v reader=residual_reader -v worker_connections=16.
-- No password is set here (no secret in a file or a command line): set each with psql's
-- `\password ROLE` (it sends a SCRAM hash), or use certificate or your cloud's IAM
-- authentication.

\set ON_ERROR_STOP on
\if :{?db} \else \set db residual \endif
\if :{?owner} \else \set owner residual_owner \endif
\if :{?worker} \else \set worker residual_worker \endif
\if :{?reader} \else \set reader residual_reader \endif
-- One connection per worker process, and a few for the import and the migration step: size it
-- to the most workers that run at once.
\if :{?worker_connections} \else \set worker_connections 16 \endif

-- Roles: LOGIN, nothing else (NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
-- are the defaults, spelled out so a reader need not know them).
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', :'owner')
    WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'owner') \gexec
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', :'worker')
    WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'worker') \gexec
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', :'reader')
    WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'reader') \gexec
SELECT format('ALTER ROLE %I CONNECTION LIMIT %s', :'worker', :'worker_connections') \gexec
SELECT format('ALTER ROLE %I CONNECTION LIMIT 4', :'reader') \gexec
SELECT format('ALTER ROLE %I CONNECTION LIMIT 2', :'owner') \gexec

-- The database, owned by the owner role (so, from PostgreSQL 15 on, is its schema public).
SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE template0', :'db', :'owner', 'UTF8')
    WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I, %I', :'db', :'worker', :'reader') \gexec

\connect :"db"
\set ON_ERROR_STOP on

-- Only the owner creates objects (PostgreSQL before 15 lets everyone create in public).
SELECT format('ALTER SCHEMA public OWNER TO %I', :'owner') \gexec
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SELECT format('GRANT USAGE ON SCHEMA public TO %I, %I', :'worker', :'reader') \gexec

-- Tables and sequences the owner's migrations create later get these at creation.
SELECT format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I', :'owner', :'worker') \gexec
SELECT format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO %I', :'owner', :'worker') \gexec
SELECT format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public GRANT SELECT ON TABLES TO %I', :'owner', :'reader') \gexec

-- Tables that exist already (the run after a migration).
SELECT format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %I', :'worker') \gexec
SELECT format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %I', :'worker') \gexec
SELECT format('GRANT SELECT ON ALL TABLES IN SCHEMA public TO %I', :'reader') \gexec

-- The audit chain is append-only for the worker by privilege, not only by trigger; the schema
-- version is the owner's alone (a worker reads it and refuses a store it would have to
-- migrate).
SELECT format('REVOKE UPDATE, DELETE, TRUNCATE ON %I.%I FROM %I', 'public', t, :'worker')
    FROM unnest(ARRAY['finding_events', 'chain_seal']) AS t
    WHERE to_regclass(format('%I.%I', 'public', t)) IS NOT NULL \gexec
SELECT format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON %I.%I FROM %I', 'public', 'residual_schema', :'worker')
    WHERE to_regclass('public.residual_schema') IS NOT NULL \gexec
