-- Plain PostgreSQL: the tables of 0005 stay ordinary tables, so there is nothing to convert.
-- The statement only records that this was decided (the runner needs one to execute).
SELECT 'history and plan tables stay ordinary tables' AS plain_postgresql;
