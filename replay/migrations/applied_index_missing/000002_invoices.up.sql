CREATE TABLE invoices (id bigserial PRIMARY KEY, account_id int NOT NULL, total bigint);
