-- Entities with the most alert-worthy values from a first day on
-- (parameter: 'yyyy-MM-dd'): the highest hourly 95th percentile per metric.
SELECT metric, source, entity_id, max(p95_value) AS worst_hourly_p95, max(max_value) AS peak, sum(readings) AS readings
FROM entity_metric_hourly
WHERE dt >= ?
GROUP BY metric, source, entity_id
ORDER BY worst_hourly_p95 DESC, metric, source, entity_id
LIMIT 10
