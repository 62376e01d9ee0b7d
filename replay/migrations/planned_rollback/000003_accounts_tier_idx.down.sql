DROP INDEX CONCURRENTLY accounts_tier_idx;
