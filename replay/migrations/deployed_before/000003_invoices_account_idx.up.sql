CREATE INDEX CONCURRENTLY invoices_account_idx ON invoices (account_id);
