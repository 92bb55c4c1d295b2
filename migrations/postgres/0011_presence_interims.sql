-- Presence (PostgreSQL; kept in step with
-- migrations/sqlite/0011_presence_interims.sql): when Portico last heard an
-- Interim-Update of a session, by its own clock (`updated_ms` is the
-- NAS's event time, whose clock may be wrong). A session whose NAS sends
-- interim updates and then goes quiet is not "here" after sso.presence_idle.
ALTER TABLE acct_sessions ADD COLUMN interim_heard_ms BIGINT;
