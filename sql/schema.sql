-- SPDX-License-Identifier: Apache-2.0
-- mod_slotrecovery: the bootstrap every database starts from.
--
-- The schema itself lives in sql/migrations/NNN_name.sql, applied in order by
-- scripts/migrate, each in its own transaction and recorded here. This file
-- only creates the ledger, so running it again is harmless.

CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text PRIMARY KEY CHECK (version ~ '^[0-9]{3}$'),
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
