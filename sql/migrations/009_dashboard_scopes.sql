-- SPDX-License-Identifier: Apache-2.0
-- 009: a dashboard login counts only where it authenticated.
--
-- shop_users.username was global: two <Location>s or virtual hosts with their
-- own AuthUserFile, each with a user "admin", showed both the same shop. A
-- grant now also names the server (a ServerName, in lower case) and the realm
-- (an AuthName) it holds in; '*' is any. The dashboard takes the most specific
-- grant that matches: an exact server name before '*', then an exact realm
-- before '*'. Rows from before hold anywhere, as they did ('*' and '*'):
-- grant them again with a realm and a server name to scope them.
ALTER TABLE shop_users
    ADD COLUMN server_name text NOT NULL DEFAULT '*'
        CHECK (length(server_name) BETWEEN 1 AND 255 AND server_name = lower(server_name)),
    ADD COLUMN realm text NOT NULL DEFAULT '*' CHECK (length(realm) BETWEEN 1 AND 255);

ALTER TABLE shop_users DROP CONSTRAINT shop_users_pkey;
-- Led by username: the dashboard looks a login up by its name, then picks the scope.
ALTER TABLE shop_users ADD PRIMARY KEY (username, server_name, realm);
