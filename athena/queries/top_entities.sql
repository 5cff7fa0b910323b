-- Entities with the most alert-worthy values from a first day on (parameter: 'yyyy-MM-dd'):
-- for each metric, the three entities with the highest hourly 95th percentile.
WITH per_entity AS (
    SELECT metric, unit, source, entity_id, max(p95_value) AS worst_hourly_p95, max(max_value) AS peak,
           sum(readings) AS readings
    FROM entity_metric_hourly
    WHERE dt >= ?
    GROUP BY metric, unit, source, entity_id
), ranked AS (
    SELECT *, row_number() OVER (PARTITION BY metric ORDER BY worst_hourly_p95 DESC, source, entity_id) AS place
    FROM per_entity
)
SELECT metric, place, source, entity_id, round(worst_hourly_p95, 3) AS worst_hourly_p95, peak, unit, readings
FROM ranked
WHERE place <= 3
ORDER BY metric, place
