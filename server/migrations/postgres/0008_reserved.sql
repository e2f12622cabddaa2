-- 8: reserved for another branch (member status); a no-op here, replaced when merged.
SELECT 1;
