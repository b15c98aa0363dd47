-- A Teams notice is about a new case ('case') or about a new message the person sent on a case with their
-- code ('message', a follow-up from the web page). Still queue metadata only: no content, no name.
ALTER TABLE teams_notices ADD COLUMN what text NOT NULL DEFAULT 'case' CHECK (what IN ('case', 'message'));
