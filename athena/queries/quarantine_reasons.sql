-- Why records were quarantined: the offending field and how many records per reason kind.
SELECT split_part(reason, ':', 1) AS field, count(*) AS records, min(quarantined_at) AS first_seen
FROM quarantine
GROUP BY split_part(reason, ':', 1)
ORDER BY records DESC, field
