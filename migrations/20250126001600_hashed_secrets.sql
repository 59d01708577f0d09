-- No secret in the open: the two columns that stand for secrets accept hashes only.
--
-- "ApiKey"."tokenHash" is how a key is found, and the token itself is never stored; "AuditLog"."requestHash"
-- matches a request without keeping what it carried. Both must be a SHA-256 digest in lower-case hex (64
-- characters; an HMAC-SHA-256 with a server-side key fits too), so a raw token or payload written there by
-- mistake is refused instead of stored: no token format is 64 lower-case hex characters by accident.
-- A deterministic digest, not a salted password hash: the key is looked up by its hash, and tokens are long
-- random strings, which a dictionary cannot guess.

-- Up Migration
ALTER TABLE "ApiKey"
  ADD CONSTRAINT "ApiKey_tokenHash_check" CHECK ("tokenHash" ~ '^[0-9a-f]{64}$');
ALTER TABLE "AuditLog"
  ADD CONSTRAINT "AuditLog_requestHash_check" CHECK ("requestHash" ~ '^[0-9a-f]{64}$');

-- Down Migration
ALTER TABLE "AuditLog" DROP CONSTRAINT "AuditLog_requestHash_check";
ALTER TABLE "ApiKey" DROP CONSTRAINT "ApiKey_tokenHash_check";
