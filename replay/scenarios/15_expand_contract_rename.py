"""Column rename by expand/contract: add the new column, a trigger keeps both
in step, backfill, the app switches, then the old column is dropped. The
expected objects describe the end state. No page."""
from common import APP_SCHEMA, checkout_traffic, config

SCENARIO = dict(
    setup=[APP_SCHEMA],
    config=config(expected=(
        "  - {kind: column, table: public.accounts, name: display_name, migration: m15}\n"
        "  - {kind: column, table: public.accounts, name: name, expect: absent, migration: m15_contract}\n")),
    traffic=[checkout_traffic()],
    steps=[
        dict(at=0, note="expand", sql="""
ALTER TABLE accounts ADD COLUMN display_name text;
CREATE FUNCTION accounts_sync_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.display_name := coalesce(NEW.display_name, NEW.name); RETURN NEW; END $$;
CREATE TRIGGER accounts_sync_name BEFORE INSERT OR UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION accounts_sync_name();
"""),
        dict(at=10, note="backfill", sql="UPDATE accounts SET display_name = name WHERE display_name IS NULL;"),
        dict(at=40, note="contract", sql="""
DROP TRIGGER accounts_sync_name ON accounts;
DROP FUNCTION accounts_sync_name();
ALTER TABLE accounts DROP COLUMN name;
"""),
    ],
)
