-- upsert
MERGE `p.d.users` AS T
USING `p.d._sk_stage_users_1` AS S
ON T.`id` = S.`id` AND T.`tenant` = S.`tenant`
WHEN MATCHED THEN UPDATE SET `name` = S.`name`, `_sdc_deleted_at` = S.`_sdc_deleted_at`
WHEN NOT MATCHED THEN INSERT (`id`, `tenant`, `name`, `_sdc_deleted_at`) VALUES (S.`id`, S.`tenant`, S.`name`, S.`_sdc_deleted_at`);

-- upsert with hard_delete
MERGE `p.d.users` AS T
USING `p.d._sk_stage_users_1` AS S
ON T.`id` = S.`id` AND T.`tenant` = S.`tenant`
WHEN MATCHED AND S.`_sdc_deleted_at` IS NOT NULL THEN DELETE
WHEN MATCHED THEN UPDATE SET `name` = S.`name`, `_sdc_deleted_at` = S.`_sdc_deleted_at`
WHEN NOT MATCHED AND S.`_sdc_deleted_at` IS NULL THEN INSERT (`id`, `tenant`, `name`, `_sdc_deleted_at`) VALUES (S.`id`, S.`tenant`, S.`name`, S.`_sdc_deleted_at`);

-- keys only
MERGE `p.d.users` AS T
USING `p.d._sk_stage_users_1` AS S
ON T.`id` = S.`id`
WHEN NOT MATCHED THEN INSERT (`id`) VALUES (S.`id`);

-- ACTIVATE_VERSION, soft and hard
UPDATE `p.d.users` SET `_sdc_deleted_at` = CURRENT_TIMESTAMP() WHERE (`_sdc_table_version` < 42 OR `_sdc_table_version` IS NULL) AND `_sdc_deleted_at` IS NULL;
DELETE FROM `p.d.users` WHERE (`_sdc_table_version` < 42 OR `_sdc_table_version` IS NULL);

-- overwrite: the run's replacement swapped in
MERGE `p.d.users` AS T
USING `p.d._sk_overwrite_users` AS S
ON FALSE
WHEN NOT MATCHED BY SOURCE THEN DELETE
WHEN NOT MATCHED THEN INSERT (`id`, `tenant`, `name`, `_sdc_deleted_at`) VALUES (S.`id`, S.`tenant`, S.`name`, S.`_sdc_deleted_at`);
