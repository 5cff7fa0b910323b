-- Data freshness per source: the newest event, how far it is behind now, and how many events.
-- Reads the hourly table (it keeps each group's newest event time), not the events.
SELECT source, max(last_event_time) AS newest_event, sum(readings) AS events,
       date_diff('minute', max(last_event_time), current_timestamp) AS minutes_behind
FROM entity_metric_hourly
GROUP BY source
ORDER BY source
