-- a new property
ALTER TABLE `p.d.m` ADD COLUMN `email` STRING;

-- a REQUIRED column relaxed
ALTER TABLE `p.d.m` ALTER COLUMN `name` DROP NOT NULL;

-- integer -> number: in place
ALTER TABLE `p.d.m` ALTER COLUMN `v` SET DATA TYPE BIGNUMERIC;

-- other changes: the table rewritten, old values cast
CREATE OR REPLACE TABLE `p.d.m` AS SELECT * REPLACE (CAST(`w` AS STRING) AS `w`, FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%E*SZ', `ts`, 'UTC') AS `ts`, TO_JSON(`j`) AS `j`) FROM `p.d.m`;
