-- A unique index built CONCURRENTLY over data that is not unique: two accounts
-- share an e-mail. The build fails and leaves an INVALID index behind.
CREATE UNIQUE INDEX CONCURRENTLY accounts_email_key ON accounts (email);
