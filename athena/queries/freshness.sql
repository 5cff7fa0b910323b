-- Data freshness per source: the newest event and how far it is behind now.
SELECT source, max(event_time) AS newest_event, count(*) AS events,
       date_diff('minute', max(event_time), current_timestamp) AS minutes_behind
FROM events
GROUP BY source
ORDER BY source
