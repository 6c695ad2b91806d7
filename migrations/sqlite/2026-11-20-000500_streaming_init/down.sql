DROP TABLE stream_connections;
DROP TABLE video_streams;
