-- Issue 16: sealed columns hold ciphertext, which never compresses. A conversation row over ~2 KB (a long
-- question in its outbox entry, say) made PostgreSQL try to compress it at every write, fail, and move the
-- largest column to the TOAST table (one more row and index entry written, and vacuumed later). Rows now stay
-- whole in their page up to 8 KB, and a larger one goes out of line without a compression attempt.
ALTER TABLE conversations ALTER COLUMN state SET STORAGE EXTERNAL;
ALTER TABLE conversations ALTER COLUMN outbox SET STORAGE EXTERNAL;
ALTER TABLE conversations ALTER COLUMN channel_updates SET STORAGE EXTERNAL;
ALTER TABLE conversations SET (toast_tuple_target = 8160);
ALTER TABLE pending_replies ALTER COLUMN sealed SET STORAGE EXTERNAL;
ALTER TABLE message_trail ALTER COLUMN sealed SET STORAGE EXTERNAL;
