-- Replicas share an update pass by claiming its projects (issue 17): a claim is a holder
-- (a replica id) and an expiry, taken with FOR UPDATE SKIP LOCKED and never a transaction
-- held across index requests. A claim of a replica that died runs out at its expiry and the
-- project is another's to take. Times are the database's (now()).
ALTER TABLE package_project ADD COLUMN claimed_by text NULL;
ALTER TABLE package_project ADD COLUMN claim_expires_at timestamptz NULL;
