SET lock_timeout = '5s';
ALTER TABLE accounts ADD COLUMN status text DEFAULT 'active';
CREATE INDEX CONCURRENTLY accounts_email_idx ON accounts (email);
