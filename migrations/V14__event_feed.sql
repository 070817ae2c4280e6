-- The change feed (GET /events): every event of a tenant in one stable order, never
-- skipping one that commits late.
--
-- Ordering the outbox by a sequence alone is not enough: a transaction that took
-- position 41 can commit after a reader has seen 42, and a reader that moved past 42
-- never sees 41. So each row also records the id of the transaction that wrote it
-- (`txid`), the feed is ordered by (txid, position), and a reader is handed only rows
-- whose transaction is older than the oldest one still running
-- (`pg_snapshot_xmin(pg_current_snapshot())`). Every such transaction has ended, so the
-- rows handed out form a prefix of the final order: a row that commits later always
-- sorts after everything handed out before it.
--
-- Rows written before this migration all get txid 0: they come first, in the order the
-- identity column numbers them (the table's physical order, close to insertion order),
-- which is stable from now on.
ALTER TABLE outbox ADD COLUMN txid xid8 NOT NULL DEFAULT '0';
ALTER TABLE outbox ALTER COLUMN txid SET DEFAULT pg_current_xact_id();
ALTER TABLE outbox ADD COLUMN position bigint GENERATED ALWAYS AS IDENTITY;
CREATE INDEX outbox_feed_idx ON outbox (tenant_id, txid, position);
