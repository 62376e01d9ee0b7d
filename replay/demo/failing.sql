-- No lock_timeout: the ALTER waits for its lock as long as it takes, and
-- every statement of the application on accounts queues behind it.
ALTER TABLE accounts ADD COLUMN note text;
