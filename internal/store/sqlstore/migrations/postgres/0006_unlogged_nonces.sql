-- Every attestation inserts a nonce and deletes it: in a load run three WAL
-- records per nonce, about a tenth of all WAL, for rows that live a few
-- seconds. An unlogged table writes no WAL: a crash empties it and a
-- standby does not have it, and either way the agents whose nonces are
-- lost get nonce.unknown for their evidence and fetch another, which is
-- what a lost nonce cost before (PutNonce committed without waiting for
-- its WAL). A nonce's single use is not weakened: a nonce that is gone
-- answers no evidence.
ALTER TABLE nonces SET UNLOGGED;
