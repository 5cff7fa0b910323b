-- Hourly rollup per entity and metric from a first day on (parameter: 'yyyy-MM-dd').
SELECT source, entity_id, metric, unit, hour, readings, min_value, max_value,
       round(avg_value, 3) AS avg_value, round(p95_value, 3) AS p95_value
FROM entity_metric_hourly
WHERE dt >= ?
ORDER BY source, entity_id, metric, hour
