-- The failure path: migration 803b93aca2d2 runs against data with duplicate
-- e-mails: idx_users_email_active fails and is left INVALID, Alembic never
-- records the new revision (half-applied).
\ir migration.sql
