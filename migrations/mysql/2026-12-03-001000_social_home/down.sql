DROP TABLE social_home;
