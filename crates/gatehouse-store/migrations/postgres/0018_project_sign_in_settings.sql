-- Each project's rules for the people who sign in to its apps (SPEC §5.4): a sign-up policy that
-- overrides the server's (`inherit` follows it; `signup_domains` lists the domains, space
-- separated, of `domains`), and whether signing in to its apps needs a second factor.
ALTER TABLE projects ADD COLUMN signup TEXT NOT NULL DEFAULT 'inherit';
ALTER TABLE projects ADD COLUMN signup_domains TEXT NOT NULL DEFAULT '';
ALTER TABLE projects ADD COLUMN require_second_factor BOOLEAN NOT NULL DEFAULT FALSE;
