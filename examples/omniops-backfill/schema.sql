-- Seed 002 (Omniops PR #4): customer_id -> organization_id, before the backfill.
CREATE TABLE organizations (id bigserial PRIMARY KEY, name text NOT NULL);
CREATE TABLE customer_configs (id bigserial PRIMARY KEY, organization_id bigint REFERENCES organizations(id));
CREATE TABLE domains (id bigserial PRIMARY KEY, customer_config_id bigint REFERENCES customer_configs(id), domain text);
CREATE TABLE conversations (
    id bigserial PRIMARY KEY,
    domain_id bigint REFERENCES domains(id),
    customer_id bigint REFERENCES customer_configs(id),
    organization_id bigint REFERENCES organizations(id),
    created_at timestamptz DEFAULT now()
);
CREATE TABLE messages (id bigserial PRIMARY KEY, conversation_id bigint REFERENCES conversations(id), organization_id bigint, body text);
CREATE TABLE page_embeddings (id bigserial PRIMARY KEY, domain_id bigint REFERENCES domains(id), organization_id bigint, url text);

INSERT INTO organizations (name) SELECT 'org ' || g FROM generate_series(1, 5) g;
INSERT INTO customer_configs (organization_id) SELECT g FROM generate_series(1, 5) g;
INSERT INTO domains (customer_config_id, domain) SELECT g, 'd' || g || '.example' FROM generate_series(1, 5) g;
INSERT INTO conversations (domain_id, customer_id) SELECT (g % 5) + 1, (g % 5) + 1 FROM generate_series(1, 300) g;
INSERT INTO messages (conversation_id, body) SELECT (g % 300) + 1, 'm' FROM generate_series(1, 900) g;
INSERT INTO page_embeddings (domain_id, url) SELECT (g % 5) + 1, '/p' || g FROM generate_series(1, 200) g;
