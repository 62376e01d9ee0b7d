ALTER TABLE invoices ADD CONSTRAINT invoices_account_fkey FOREIGN KEY (account_id) REFERENCES accounts (id) NOT VALID;
