-- Privileges of the service's database role (docs/OPERATIONS.md, "Database roles").
--
-- Two roles: the OWNER owns the schema and runs `intake migrate`; the SERVICE role (here `intake_app`) runs
-- `npm start` and can read and write the service's tables but cannot UPDATE, DELETE or TRUNCATE the audit
-- trail, nor move its head. Run this file as the owner, once after the first `intake migrate`, in the
-- service's database:   psql "$OWNER_DATABASE_URL" -v ON_ERROR_STOP=1 -f docs/sql/service-role.sql
-- (the role itself is created by your DBA: CREATE ROLE intake_app LOGIN PASSWORD '...';). The default
-- privileges below cover tables that later migrations (run by the same owner) create.

GRANT USAGE ON SCHEMA public TO intake_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO intake_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO intake_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO intake_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO intake_app;

-- The audit trail: append and read only. New entries are chained by a trigger that runs as the owner
-- (SECURITY DEFINER), so the service needs no write access to the chain's head either.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM intake_app;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON audit_head FROM intake_app;
-- Migrations are the owner's business.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM intake_app;
