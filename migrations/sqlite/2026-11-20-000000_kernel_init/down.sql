DROP TABLE system_logs;
