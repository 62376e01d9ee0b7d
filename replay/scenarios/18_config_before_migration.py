"""The exporter's config naming the new table and index is deployed a while
before the migration runs (the usual order: monitoring first). The objects
are missing until the migration; that is not a failed migration. No page."""
from common import APP_SCHEMA, checkout_traffic, config

SCENARIO = dict(
    setup=[APP_SCHEMA],
    config=config(expected=(
        "  - {kind: table, name: public.invoices, migration: m18}\n"
        "  - {kind: index, name: public.invoices_account_idx, migration: m18}\n")),
    traffic=[checkout_traffic()],
    steps=[dict(at=100, note="the migration, 100 s after the config", sql="""
CREATE TABLE invoices (id bigserial PRIMARY KEY, account_id int NOT NULL, total bigint);
CREATE INDEX CONCURRENTLY invoices_account_idx ON invoices (account_id);
""")],
)
