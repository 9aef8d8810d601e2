-- provenance fleet: what one node's own database role may do on the shared catalog.
-- Run by the catalog's owner (the role that created the schema with the first
-- `provenance` start), once per node role, after every upgrade that adds tables:
--   psql "$ADMIN_URL" -v node_role=provenance_edit01 -v schema=public -f postgres-grants.sql
-- Nodes then connect as their own role ([catalog] url = "postgresql+psycopg://provenance_edit01@db/provenance").
-- No user ever needs database credentials: users talk to their node's service.
GRANT USAGE ON SCHEMA :"schema" TO :"node_role";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA :"schema" TO :"node_role";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA :"schema" TO :"node_role";
-- The audit trail is append-only for nodes: a grant, not a convention.
REVOKE UPDATE, DELETE, TRUNCATE ON :"schema".events FROM :"node_role";
-- Only the owner migrates the schema.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON :"schema".provenance_meta FROM :"node_role";
