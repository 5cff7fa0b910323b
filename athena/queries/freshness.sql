-- Data freshness per source: newest event and how far behind now it is, over the last 2 days.
SELECT source, max(event_time) AS newest_event, count(*) AS events,
       date_diff('minute', max(event_time), current_timestamp) AS minutes_behind
FROM events
WHERE dt >= date_format(current_date - INTERVAL '1' DAY, '%Y-%m-%d')
GROUP BY source
ORDER BY source
