-- An attempt whose page for the customer (3-D Secure, bank, wallet) the engine never received:
-- the request that created it died after the gateway answered and before the answer was
-- recorded, and the gateway's status API does not give the page's URL again. Set once, by the
-- confirm that resumed it (engine/services/lost_pages.py); never cleared. Once the gateway has
-- failed such an attempt, a retry of the same confirm starts a new attempt.
ALTER TABLE payment_attempts ADD COLUMN redirect_lost boolean NOT NULL DEFAULT false;
