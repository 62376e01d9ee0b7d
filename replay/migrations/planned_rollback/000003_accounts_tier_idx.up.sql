CREATE INDEX CONCURRENTLY accounts_tier_idx ON accounts (tier);
