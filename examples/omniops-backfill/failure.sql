-- The failure path: the backfill stopped part-way (a third of conversations
-- and all page_embeddings still without organization_id) and the dead
-- customer_id column was not dropped.
UPDATE conversations c SET organization_id = cc.organization_id
  FROM domains d JOIN customer_configs cc ON cc.id = d.customer_config_id
 WHERE c.domain_id = d.id AND c.id % 3 <> 0;
UPDATE messages m SET organization_id = c.organization_id FROM conversations c WHERE m.conversation_id = c.id;
