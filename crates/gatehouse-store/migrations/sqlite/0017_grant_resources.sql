-- RFC 8707 resource indicators on user grants: the ids of the API resources an authorization
-- request named (space-separated; empty when it named none), kept with the device request and
-- with the grant (the refresh family), whose tokens may be for any of them.
ALTER TABLE oauth_grants ADD COLUMN resources TEXT NOT NULL DEFAULT '';
ALTER TABLE device_grants ADD COLUMN resources TEXT NOT NULL DEFAULT '';
