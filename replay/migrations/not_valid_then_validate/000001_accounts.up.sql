-- The app's first migration (the replay's setup has run it).
CREATE TABLE accounts (id int PRIMARY KEY, email text NOT NULL, name text, balance bigint NOT NULL DEFAULT 0);
