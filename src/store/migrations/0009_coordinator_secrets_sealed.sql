-- Coordinators' login-key hash and passphrase-wrapped private key are sealed at rest with a master-key
-- subkey (docs/CRYPTO.md, "Coordinator secrets at rest"): a database dump alone gives nothing to test
-- passphrase guesses against. SQL cannot seal, so existing rows are sealed by the service at start and by
-- `intake migrate` (src/coordinators/at-rest.ts); until then this column is NULL and the values are clear.
ALTER TABLE coordinators ADD COLUMN secrets_key_fingerprint text;

COMMENT ON COLUMN coordinators.login_key_hash IS
  'sealCoordinatorSecret(login-key-hash): hash of the passphrase-derived login key, sealed with a master-key subkey';
COMMENT ON COLUMN coordinators.wrapped_private_key IS
  'sealCoordinatorSecret(wrapped-private-key): the private key wrapped by the passphrase, sealed again at rest';
COMMENT ON COLUMN coordinators.secrets_key_fingerprint IS
  'fingerprint of the master key that sealed the two columns above; NULL = clear legacy values not sealed yet';
