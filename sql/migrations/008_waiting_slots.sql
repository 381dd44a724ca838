-- SPDX-License-Identifier: Apache-2.0
-- 008: a slot opening nobody on the waitlist can take right now stays open and
-- waits for a customer (until its offer cutoff), and the sweep picks the open
-- slots it must offer shop by shop.

-- When the loop last found nobody eligible for this open slot; NULL while it
-- is being offered. A waiting slot is not checked again by the sweep: a
-- customer who joins the waitlist or texts START wakes it (sets it NULL).
ALTER TABLE slot_openings ADD COLUMN waiting_since timestamptz;

-- The sweep's lost-trigger recovery walks each shop's open slots that are not
-- waiting, earliest first; waking walks a shop's waiting ones.
CREATE INDEX slot_openings_to_offer_idx ON slot_openings (shop_id, starts_at, id)
    WHERE status = 'open' AND waiting_since IS NULL;
CREATE INDEX slot_openings_waiting_idx ON slot_openings (shop_id, starts_at, id)
    WHERE status = 'open' AND waiting_since IS NOT NULL;
