-- SPDX-License-Identifier: Apache-2.0
-- 004: the dashboard: who may see which shop, and what its lists filter on.

-- Authentication is httpd's (any authn provider); this maps the authenticated
-- user name to the one shop it may see.
CREATE TABLE shop_users (
    username   text PRIMARY KEY CHECK (length(username) BETWEEN 1 AND 255),
    shop_id    bigint NOT NULL REFERENCES shops (id),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX shop_users_shop_idx ON shop_users (shop_id);

-- The slot-openings list filters on the slot's date.
CREATE INDEX slot_openings_shop_starts_idx ON slot_openings (shop_id, starts_at);
