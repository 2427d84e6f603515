-- Plain PostgreSQL: the tables of 0003 stay ordinary tables, so there is nothing to convert.
-- The statement only records that this was decided (the runner needs one to execute).
SELECT 'market, weather and forecast tables stay ordinary tables' AS plain_postgresql;
