-- The healthy path: 100% organization_id everywhere, dead column dropped.
UPDATE conversations c SET organization_id = cc.organization_id
  FROM domains d JOIN customer_configs cc ON cc.id = d.customer_config_id
 WHERE c.domain_id = d.id AND c.organization_id IS NULL;
UPDATE messages m SET organization_id = c.organization_id FROM conversations c WHERE m.conversation_id = c.id AND m.organization_id IS NULL;
UPDATE page_embeddings p SET organization_id = cc.organization_id
  FROM domains d JOIN customer_configs cc ON cc.id = d.customer_config_id
 WHERE p.domain_id = d.id AND p.organization_id IS NULL;
ALTER TABLE conversations DROP COLUMN customer_id;
