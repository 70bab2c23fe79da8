-- Placeholder for part D's migration of the same name (issue 21, policy
-- versions), so that 0009 follows 0008 on this branch. At the merge D's file
-- replaces this one.
SELECT 1;
