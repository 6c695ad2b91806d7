DROP TABLE metaverse_event_participants;
DROP TABLE metaverse_events;
DROP TABLE metaverse_instances;
DROP TABLE metaverse_objects;
DROP TABLE metaverse_sessions;
DROP TABLE metaverse_avatars;
DROP TABLE metaverse_world_permissions;
DROP TABLE metaverse_worlds;
