-- Hourly rollup per entity and metric over the last 7 days (gold aggregate table).
SELECT source, entity_id, metric, unit, hour, readings, min_value, max_value,
       round(avg_value, 3) AS avg_value, round(p95_value, 3) AS p95_value
FROM entity_metric_hourly
WHERE dt >= date_format(current_date - INTERVAL '7' DAY, '%Y-%m-%d')
ORDER BY source, entity_id, metric, hour
